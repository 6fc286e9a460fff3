//! Request authentication: bearer tokens (several, for rotation) and/or basic auth, compared in constant time.
//!
//! Both sides are hashed with SHA-256 first so that the comparison never short-circuits on length
//! (`subtle::ConstantTimeEq` does for slices of different lengths), and every configured credential is compared.

use axum::http::{header::AUTHORIZATION, HeaderMap};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::config::AuthConfig;

/// Hashed credentials; the plain secrets are not kept.
#[derive(Clone, Default)]
pub struct Auth {
    bearer: Vec<[u8; 32]>,
    basic: Vec<[u8; 32]>,
}

fn digest(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

impl Auth {
    pub fn new(cfg: &AuthConfig) -> Auth {
        Auth {
            bearer: cfg
                .bearer_tokens
                .iter()
                .map(|t| digest(t.as_bytes()))
                .collect(),
            basic: cfg
                .basic
                .iter()
                .map(|(u, p)| digest(format!("{u}:{p}").as_bytes()))
                .collect(),
        }
    }

    pub fn required(&self) -> bool {
        !self.bearer.is_empty() || !self.basic.is_empty()
    }

    /// Whether the request carries an accepted credential (always true when none is configured).
    pub fn check(&self, headers: &HeaderMap) -> bool {
        if !self.required() {
            return true;
        }
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let (scheme, cred) = value.trim().split_once(' ').unwrap_or((value, ""));
        let cred = cred.trim();
        let (candidates, presented) = if scheme.eq_ignore_ascii_case("bearer") {
            (&self.bearer, digest(cred.as_bytes()))
        } else if scheme.eq_ignore_ascii_case("basic") {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(cred) else {
                return false;
            };
            (&self.basic, digest(&decoded))
        } else {
            return false;
        };
        let mut ok = Choice::from(0);
        for c in candidates {
            ok |= c.ct_eq(&presented);
        }
        ok.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn accepts_any_configured_token_and_basic_pair() {
        let a = Auth::new(&AuthConfig {
            bearer_tokens: vec!["old".into(), "new".into()],
            basic: vec![("am".into(), "s3cret".into())],
        });
        assert!(a.check(&headers("Bearer old")));
        assert!(a.check(&headers("bearer new")));
        // Alertmanager 0.25 basic_auth am/s3cret, as observed on the wire.
        assert!(a.check(&headers("Basic YW06czNjcmV0")));
        assert!(!a.check(&headers("Bearer ol")));
        assert!(!a.check(&headers("Basic YW06d3Jvbmc=")));
        assert!(!a.check(&headers("Token old")));
        assert!(!a.check(&HeaderMap::new()));
    }

    #[test]
    fn open_when_nothing_is_configured() {
        assert!(Auth::default().check(&HeaderMap::new()));
    }
}
