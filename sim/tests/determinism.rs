//! Same seed, same output: expositions and backfills are byte-identical across runs; another seed differs.
//! Also checks that the committed example fleet file parses and equals the built-in default.

use infermon_sim::backfill::{self, BackfillOptions, Profile};
use infermon_sim::fleet::render_metrics;
use infermon_sim::{Engine, FleetConfig};
use std::path::Path;

fn backfill_files(seed: u64, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut cfg = FleetConfig::default_fleet();
    cfg.seed = seed;
    let opts = BackfillOptions {
        days: 0.04,
        interval_s: 15,
        profile: Profile::Full,
        end_unix: Some(1_790_000_010),
        out_dir: dir.to_path_buf(),
        threads: 2,
    };
    let report = backfill::run(&cfg, &opts, &|_| {}).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = report
        .files
        .iter()
        .map(|f| {
            (
                f.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(f).unwrap(),
            )
        })
        .collect();
    files.push(("truth".into(), serde_json::to_vec(&report.truth).unwrap()));
    files
}

#[test]
fn backfills_with_the_same_seed_are_byte_identical() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let fa = backfill_files(42, a.path());
    let fb = backfill_files(42, b.path());
    assert_eq!(fa.len(), 6);
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.0, y.0);
        assert!(
            x.1 == y.1,
            "{} differs between two runs with the same seed",
            x.0
        );
    }
    let fc = backfill_files(43, c.path());
    assert!(
        fa.iter().zip(&fc).any(|(x, y)| x.1 != y.1),
        "another seed must give other data"
    );
}

#[test]
fn expositions_with_the_same_seed_are_byte_identical() {
    let render = |seed: u64| -> Vec<String> {
        FleetConfig::default_fleet()
            .replicas()
            .into_iter()
            .map(|spec| {
                let mut e = Engine::new(spec, seed, 1.75e9, Some(3600.0));
                // Uneven advancing must not matter either.
                for t in [0.3, 7.0, 7.01, 55.5, 600.0] {
                    e.advance_to(t);
                }
                render_metrics(&e).1
            })
            .collect()
    };
    assert_eq!(render(5), render(5));
    assert_ne!(render(5), render(6));
}

#[test]
fn the_example_fleet_file_parses_and_is_the_builtin_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet.yaml");
    let cfg = FleetConfig::load(&path).unwrap();
    assert_eq!(cfg, FleetConfig::default_fleet());
    assert_eq!(cfg.replicas().len(), 5);
}

#[test]
fn a_bad_fleet_file_is_rejected_with_the_field_and_accepted_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        "models:\n  - name: m\n    backend: vllm\n    version: '0.8'\n",
    )
    .unwrap();
    let e = FleetConfig::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("bad.yaml")
            && e.contains("models[0].version")
            && e.contains("\"0.10\", \"latest\""),
        "{e}"
    );
}
