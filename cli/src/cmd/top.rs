//! `infermon top`: a live full-screen view of the inference fleet, one row per model, for terminals and SSH.
//!
//! Data: core's `fleet` query (the same translation as the plugin's fleet table) plus the error budget of the
//! default SLO, through `infermon-prom`; alerts from Prometheus' rules API (`data`). Drawing: `view`. This module
//! owns the terminal (raw mode, alternate screen, restored on every exit path, panics included) and the loop.

pub mod data;
pub mod view;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use infermon_core::PromDuration;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

pub use data::{Source, TopError};
pub use view::ViewState;

#[derive(Debug, Args)]
#[command(after_help = "\
Keys: q / Esc / Ctrl-C quit · s / S next / previous sort column · 1-9 sort by that column · m sort by model ·
      r reverse the order

Colours: red = at or past an alert threshold (TTFT p95 > 500 ms, queue > 50, KV cache > 95 %, preemptions
  > 0.1/s, errors > 5 %, error budget spent), yellow = getting there. TOK/S TREND is a sparkline of tokens/s
  over the last refreshes. The bottom lists firing and pending alerts (Prometheus /api/v1/rules).

Examples:
  infermon top                                        # Prometheus at http://127.0.0.1:9090
  infermon top --prometheus-url http://prometheus:9090 --refresh 5s
  INFERMON_PROMETHEUS_URL=http://127.0.0.1:19090 infermon top --ascii
  infermon top --explain                              # print the PromQL of every column and exit")]
pub struct TopArgs {
    /// Prometheus (or compatible) API root.
    #[arg(
        long,
        env = "INFERMON_PROMETHEUS_URL",
        default_value = "http://127.0.0.1:9090"
    )]
    pub prometheus_url: String,
    /// Refresh interval (1s or more).
    #[arg(long, default_value = "2s")]
    pub refresh: PromDuration,
    /// Rate window of rates and percentiles (at least 4 × the scrape interval).
    #[arg(long, default_value = "1m")]
    pub rate_window: PromDuration,
    /// ASCII bars and sparklines (default when the locale is not UTF-8).
    #[arg(long)]
    pub ascii: bool,
    /// Print the PromQL of every column and exit.
    #[arg(long)]
    pub explain: bool,
}

impl TopArgs {
    fn refresh(&self) -> Duration {
        Duration::from_millis(self.refresh.as_millis().max(1000))
    }
}

pub fn run(args: TopArgs) -> Result<(), TopError> {
    let refresh = args.refresh();
    let source = Source::new(
        &args.prometheus_url,
        args.rate_window,
        query_timeout(refresh),
    )?;
    if args.explain {
        for t in source.targets() {
            println!("{}:\n  {}\n", t.key, t.expr);
        }
        return Ok(());
    }
    if !std::io::stdout().is_terminal() {
        return Err(TopError::NotATerminal);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = stop_on_signals(&rt);
    let mut state = ViewState::new(
        source.base_url(),
        refresh,
        args.ascii || !view::locale_is_utf8(),
    );
    run_tui(&mut state, &source, &rt, |_| !stop.load(Ordering::Relaxed))
}

/// Each refresh must finish well within the refresh interval.
pub fn query_timeout(refresh: Duration) -> Duration {
    refresh.clamp(Duration::from_secs(2), Duration::from_secs(10))
}

/// A flag set on SIGINT, SIGTERM or SIGHUP (a closed SSH session).
pub fn stop_on_signals(rt: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for kind in [
        tokio::signal::unix::SignalKind::interrupt(),
        tokio::signal::unix::SignalKind::terminate(),
        tokio::signal::unix::SignalKind::hangup(),
    ] {
        let flag = flag.clone();
        let _guard = rt.enter();
        if let Ok(mut s) = tokio::signal::unix::signal(kind) {
            rt.spawn(async move {
                s.recv().await;
                flag.store(true, Ordering::Relaxed);
            });
        }
    }
    flag
}

/// Runs the full-screen loop until a quit key or until `tick` returns false (called every ~200 ms; the demo
/// uses it to add webhook notifications and to stop on its deadline). The terminal is restored afterwards.
pub fn run_tui(
    state: &mut ViewState,
    source: &Source,
    rt: &tokio::runtime::Runtime,
    mut tick: impl FnMut(&mut ViewState) -> bool,
) -> Result<(), TopError> {
    let seed = rt.block_on(source.trend_history(Duration::from_secs(600), state.refresh));
    state.seed_history(seed);
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> Result<(), TopError> {
        let mut next = Instant::now();
        loop {
            if Instant::now() >= next {
                let snap = rt.block_on(source.fetch());
                state.update(snap);
                next = Instant::now() + state.refresh;
            }
            if !tick(state) {
                return Ok(());
            }
            terminal.draw(|f| view::draw(f, state))?;
            if event::poll(Duration::from_millis(200))? {
                if let Event::Key(k) = event::read()? {
                    if k.kind != KeyEventKind::Press {
                        continue;
                    }
                    let ctrl_c =
                        k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c');
                    match k.code {
                        _ if ctrl_c => return Ok(()),
                        KeyCode::Esc => return Ok(()),
                        KeyCode::Right => {
                            state.key('s');
                        }
                        KeyCode::Left => {
                            state.key('S');
                        }
                        KeyCode::Char(c) if !state.key(c) => return Ok(()),
                        _ => {}
                    }
                }
            }
        }
    })();
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests;
