//! Errors of the component starters: each says which component failed, how, and shows the tail of its log.

use std::path::PathBuf;
use std::time::Duration;

/// Why a component could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, with the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The process exited during start-up.
    #[error(
        "{component} exited during start-up with {status}; last log lines ({log}):\n{log_tail}"
    )]
    EarlyExit {
        /// "prometheus", "alertmanager", ...
        component: &'static str,
        /// Exit status as text.
        status: String,
        /// Where the full log is (deleted with the temp dir).
        log: PathBuf,
        /// The last lines of stdout+stderr.
        log_tail: String,
    },
    /// The process kept running but never answered its readiness endpoint.
    #[error("{component} not ready at {url} after {waited:?} (last probe: {last_error}); last log lines:\n{log_tail}")]
    NotReady {
        /// Component name.
        component: &'static str,
        /// The readiness URL probed.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// Last probe failure.
        last_error: String,
        /// The last lines of stdout+stderr.
        log_tail: String,
    },
    /// An HTTP call to the component (reload, import, flush, `/metrics`) failed.
    #[error("{component}: {what} failed: {detail}")]
    Admin {
        /// Component name.
        component: &'static str,
        /// e.g. "POST /-/reload".
        what: String,
        /// Status and body, or the transport error.
        detail: String,
    },
    /// A query never returned a non-empty result before the deadline.
    #[error("no result for {query:?} within {waited:?} ({attempts} attempts); last answer: {last_answer}")]
    NoResult {
        /// The PromQL expression waited for.
        query: String,
        /// How long we waited.
        waited: Duration,
        /// How many times the queries were run.
        attempts: u32,
        /// Prometheus' last answer to `query` (body, HTTP status or transport error), shortened.
        last_answer: String,
    },
    /// Prometheus rejected a query as invalid (`bad_data`): waiting longer cannot help.
    #[error("prometheus rejected {query:?}: {detail}")]
    BadQuery {
        /// The PromQL expression.
        query: String,
        /// Prometheus' error message.
        detail: String,
    },
    /// Invalid builder input.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The builder field.
        field: &'static str,
        /// What was expected.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
