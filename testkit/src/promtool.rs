//! `promtool` (Debian `prometheus` package) as library calls: rule checks, rule unit tests and OpenMetrics
//! backfill into TSDB blocks. Failures carry promtool's exit status, stdout and stderr, because that output *is*
//! the diagnosis (which rule, which line).

use std::path::Path;
use std::process::Command;

use crate::process;

/// A promtool invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum PromtoolError {
    /// promtool ran and exited non-zero.
    #[error("`promtool {args}` failed ({status}):\n{stderr}{stdout}")]
    Failed {
        /// The arguments passed.
        args: String,
        /// Exit status as text.
        status: String,
        /// promtool's stdout.
        stdout: String,
        /// promtool's stderr.
        stderr: String,
    },
    /// promtool could not be run at all.
    #[error("cannot run `promtool {args}`: {source}")]
    Io {
        /// The arguments passed.
        args: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Output of a successful run.
#[derive(Debug, Clone)]
pub struct Output {
    /// promtool's stdout.
    pub stdout: String,
    /// promtool's stderr.
    pub stderr: String,
}

/// Runs promtool with these arguments. Panics if promtool is not installed (naming the Debian package).
pub fn run<I, S>(args: I) -> Result<Output, PromtoolError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let bin = process::locate(&process::PROMTOOL);
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let shown = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(bin)
        .args(&args)
        .output()
        .map_err(|source| PromtoolError::Io {
            args: shown.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(Output { stdout, stderr })
    } else {
        Err(PromtoolError::Failed {
            args: shown,
            status: out.status.to_string(),
            stdout,
            stderr,
        })
    }
}

/// `promtool check rules --lint=all --lint-fatal <files>`: syntax, PromQL and duplicate-rule lint.
pub fn check_rules<P: AsRef<Path>>(files: &[P]) -> Result<Output, PromtoolError> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "check".into(),
        "rules".into(),
        "--lint=all".into(),
        "--lint-fatal".into(),
    ];
    args.extend(files.iter().map(|f| f.as_ref().as_os_str().to_owned()));
    run(args)
}

/// `promtool test rules <files>`: rule unit tests (input series, expected alerts and samples).
pub fn test_rules<P: AsRef<Path>>(files: &[P]) -> Result<Output, PromtoolError> {
    let mut args: Vec<std::ffi::OsString> = vec!["test".into(), "rules".into()];
    args.extend(files.iter().map(|f| f.as_ref().as_os_str().to_owned()));
    run(args)
}

/// `promtool check config <file>`.
pub fn check_config(file: impl AsRef<Path>) -> Result<Output, PromtoolError> {
    run([
        "check".as_ref(),
        "config".as_ref(),
        file.as_ref().as_os_str(),
    ])
}

/// `promtool tsdb create-blocks-from openmetrics <input> <data_dir>`: backfills an OpenMetrics file (must end
/// with `# EOF`, timestamps in seconds) into TSDB blocks usable as [`crate::PrometheusBuilder::data_dir`].
///
/// Cost: promtool 2.42 writes one block per 2-hour window that contains data (no `--max-block-duration` for
/// OpenMetrics input), about 0.07–0.15 s each on the CI machine. 30 days of dense data are 361 blocks, 25–50 s: for
/// long windows prefer sparse data (only the windows a test reads) or VictoriaMetrics' import, which takes well
/// under a second. Write the output on a disk-backed temp dir: on tmpfs (`/dev/shm`) promtool was 5× slower.
pub fn create_blocks_from_openmetrics(
    input: impl AsRef<Path>,
    data_dir: impl AsRef<Path>,
) -> Result<Output, PromtoolError> {
    run([
        "tsdb".as_ref(),
        "create-blocks-from".as_ref(),
        "openmetrics".as_ref(),
        input.as_ref().as_os_str(),
        data_dir.as_ref().as_os_str(),
    ])
}
