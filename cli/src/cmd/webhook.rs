//! `infermon webhook`: the Alertmanager webhook service (same flags as `infermon-webhook`).

pub use infermon_webhook::Args as WebhookArgs;

pub fn run(args: WebhookArgs) -> Result<(), infermon_webhook::RunError> {
    infermon_webhook::run_blocking(args)
}
