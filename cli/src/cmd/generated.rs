//! What the generators (`infermon rules`, `infermon dashboards`) share: the SLO spec they read, and writing the
//! generated files — or, with `--check`, failing when the checked-in ones differ from what the code generates.

use infermon_core::rules::{default_spec, SloSpec};
use std::path::Path;

/// The SLO spec at `path`, or infermon's built-in one.
pub fn load_spec(path: Option<&Path>) -> Result<SloSpec, String> {
    match path {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            SloSpec::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => Ok(default_spec()),
    }
}

/// Writes `files` (paths relative to `out`), or with `check` compares them and lists the stale ones.
pub fn write_or_check(
    files: &[(String, String)],
    out: &Path,
    check: bool,
    command: &str,
) -> Result<(), String> {
    let mut stale = Vec::new();
    for (rel, contents) in files {
        let path = out.join(rel);
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
                stale.push(rel.clone());
            }
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "generated files are stale (run `infermon {command}` and commit the result): {}",
            stale.join(", ")
        ));
    }
    if !check {
        eprintln!("Wrote {} files under {}.", files.len(), out.display());
    }
    Ok(())
}
