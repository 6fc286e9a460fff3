//! Per-data-source state: validated settings, the Prometheus client (connection pool) and the detection cache.
//!
//! The SDK has no instance manager (grafana-plugin.md §2.2), so instances are cached here, keyed by the
//! data source's id/uid, its `lastUpdated` stamp and a hash of every setting: a settings change yields a new
//! key, hence a new client and an empty detection cache at once. Detection is cached for [`DETECTION_TTL`].

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grafana_plugin_sdk::pluginv2::DataSourceInstanceSettings;
use infermon_core::{Context, PromDuration};
use infermon_prom::Client;

use crate::detect::{detect, Detection};
use crate::settings::{RecordingRules, Settings, SettingsError};

/// How long a detection result is reused.
pub const DETECTION_TTL: Duration = Duration::from_secs(30);
/// Instances kept before the cache is cleared (settings churn in tests or many data sources).
const MAX_INSTANCES: usize = 64;

/// One data-source instance.
pub struct Instance {
    pub settings: Settings,
    pub client: Client,
    detection: tokio::sync::Mutex<Option<(Instant, Arc<Detection>)>>,
}

impl Instance {
    /// The cached detection, refreshed when older than the TTL. Detection failures are not cached.
    pub async fn detection(&self) -> Result<Arc<Detection>, infermon_prom::Error> {
        let mut slot = self.detection.lock().await;
        if let Some((at, d)) = slot.as_ref() {
            if at.elapsed() < DETECTION_TTL {
                return Ok(d.clone());
            }
        }
        let d = Arc::new(detect(&self.client, &self.settings.tgi_model_label).await?);
        *slot = Some((Instant::now(), d.clone()));
        Ok(d)
    }

    /// The translator's context for a given rate window, from settings and (optional) detection.
    pub fn context(&self, detection: Option<&Detection>, rate_window: Duration) -> Context {
        let mut ctx = Context {
            rate_window: PromDuration::from_millis(rate_window.as_millis().max(1) as u64),
            model_label: self.settings.tgi_model_label.clone(),
            ..Context::default()
        };
        if let Some(d) = detection.filter(|d| !d.backends.is_empty()) {
            ctx.backends = Some(d.backend_set());
            ctx.present_metrics = Some(d.names.clone());
        }
        if let Some(b) = self.settings.backend_override {
            ctx.backends = Some([b].into_iter().collect());
        }
        ctx.recording_rules = match self.settings.recording_rules {
            RecordingRules::On => true,
            RecordingRules::Off => false,
            RecordingRules::Auto => detection.map(|d| d.recording_rules).unwrap_or(false),
        };
        ctx.slo_records = detection.and_then(|d| d.slo_records.clone());
        ctx
    }
}

/// All instances of the plugin process.
#[derive(Default)]
pub struct Instances {
    map: Mutex<HashMap<u64, Arc<Instance>>>,
}

fn key(ds: &DataSourceInstanceSettings) -> u64 {
    let mut h = DefaultHasher::new();
    (
        ds.id,
        &ds.uid,
        ds.last_updated_ms,
        &ds.url,
        ds.basic_auth_enabled,
        &ds.basic_auth_user,
        &ds.json_data,
    )
        .hash(&mut h);
    let mut secure: Vec<_> = ds.decrypted_secure_json_data.iter().collect();
    secure.sort();
    secure.hash(&mut h);
    h.finish()
}

impl Instances {
    /// The instance for these settings, created on first use.
    pub fn get(
        &self,
        ds: Option<&DataSourceInstanceSettings>,
    ) -> Result<Arc<Instance>, SettingsError> {
        let ds = ds.ok_or(SettingsError::Missing)?;
        let k = key(ds);
        if let Some(i) = self.map.lock().expect("instances lock").get(&k) {
            return Ok(i.clone());
        }
        let settings = Settings::from_instance(ds)?;
        let client = Client::new(settings.client_config())
            .map_err(|e| SettingsError::Client(e.to_string()))?;
        let inst = Arc::new(Instance {
            settings,
            client,
            detection: tokio::sync::Mutex::new(None),
        });
        let mut map = self.map.lock().expect("instances lock");
        if map.len() >= MAX_INSTANCES {
            map.clear();
        }
        map.insert(k, inst.clone());
        Ok(inst)
    }
}
