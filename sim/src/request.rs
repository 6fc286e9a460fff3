//! A request inside a simulated engine, and the `finished_reason` it ends with (shared by the engine, which moves
//! it through the queue and the batch, and the statistics, which observe it).

use crate::config::Version;
use crate::truth::Outcome;

/// A request inside the engine.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: u64,
    pub arrival: f64,
    pub prompt: u32,
    /// Prompt tokens served from the prefix cache on first admission.
    pub cached: u32,
    /// Tokens generated before the request ends (naturally, or by abort/error).
    pub target: u32,
    /// The `max_tokens` request parameter.
    pub max_tokens: u32,
    pub outcome: Outcome,
    pub generated: u32,
    pub first_scheduled: Option<f64>,
    pub first_token: Option<f64>,
    pub last_token: f64,
    pub blocks: u32,
    pub preemptions: u32,
    /// Set when (re-)admitted in the current step: prompt tokens computed by this prefill.
    pub(crate) prefill_now: u32,
}

impl Request {
    /// Tokens held in the KV cache: the prompt and what was generated so far.
    pub(crate) fn tokens(&self) -> u32 {
        self.prompt + self.generated
    }
}

impl Request {
    /// The vLLM `finished_reason` / TGI outcome of this request under a replica's version.
    pub fn finished_reason(&self, version: Version) -> &'static str {
        match self.outcome {
            Outcome::Ok if self.generated >= self.max_tokens => "length",
            Outcome::Ok => "stop",
            Outcome::Abort => "abort",
            // vLLM 0.10 has no "error" reason (FinishReason had stop/length/abort): engine errors end as abort.
            Outcome::Error if version == Version::Vllm010 => "abort",
            Outcome::Error => "error",
        }
    }
}
