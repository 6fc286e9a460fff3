//! `infermon sim` as a user runs it: bad fleet files fail before serving, with the field and accepted values;
//! `sim check` lists the example fleet; a short backfill writes its files.

use std::process::Command;

fn infermon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_infermon"))
}

#[test]
fn a_bad_fleet_file_exits_non_zero_without_serving() {
    let dir = tempfile_dir();
    for (yaml, expect) in [
        ("models: [{name: m, backend: triton}]", "models[0].backend"),
        (
            "models: [{name: m, backend: vllm, version: '0.7'}]",
            "\"0.10\", \"latest\"",
        ),
        (
            "models: [{name: m, backend: vllm, workload: {rate: -2}}]",
            "models[0].workload.rate",
        ),
        (
            "models: [{name: m, backend: vllm, engine: {max_batch_size: 300, kv_blocks: 200}}]",
            "larger than the KV capacity",
        ),
        ("models: [{name: m, backend: vllm}", "fleet file"),
    ] {
        let p = dir.join("bad.yaml");
        std::fs::write(&p, yaml).unwrap();
        let out = infermon()
            .args(["sim", "--fleet", p.to_str().unwrap(), "--duration", "30"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{yaml}: {err}");
        assert!(err.contains(expect), "{yaml}: {err}");
        assert!(
            out.stdout.is_empty(),
            "nothing served: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = infermon()
        .args(["sim", "--scenario", "meltdown", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kv-pressure"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_lists_the_replicas_of_the_example_fleet() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../sim/examples/fleet.yaml");
    let out = infermon()
        .args(["sim", "check", "--fleet", example])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.contains("mistral-7b-0") && text.contains("tgi"),
        "{text}"
    );
}

#[test]
fn a_short_backfill_writes_one_file_per_replica_truth_and_an_import_script() {
    let dir = tempfile_dir().join("bf");
    let out = infermon()
        .args([
            "sim",
            "backfill",
            "--days",
            "0.02",
            "--end",
            "1790000000",
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("backfill: 100%"));
    for f in [
        "llama-3-1-8b-0.om",
        "llama-3-1-8b-1.om",
        "qwen3-4b-0.om",
        "qwen3-4b-1.om",
        "mistral-7b-0.om",
        "truth.json",
        "import.sh",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let om = std::fs::read_to_string(dir.join("qwen3-4b-0.om")).unwrap();
    assert!(om.ends_with("# EOF\n") && om.contains("le=\"5.0\"") && om.contains(" 1790000000\n"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "infermon-sim-cli-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
