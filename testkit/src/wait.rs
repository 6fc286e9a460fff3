//! Ports and polling: the two primitives every component start-up (and many tests) need.

use std::fmt::Display;
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

/// How often [`wait_until`] and [`wait_until_async`] re-run the probe.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, release it).
///
/// There is an unavoidable race with other processes picking the same port before the component binds it; the
/// component starters in this crate detect "address already in use" and retry with a new port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind 127.0.0.1:0 to find a free port")
}

/// A port free for both TCP and UDP (Alertmanager's gossip uses both on the same port).
pub(crate) fn free_tcp_udp_port() -> u16 {
    for _ in 0..50 {
        let port = free_port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port on 127.0.0.1 free for both TCP and UDP after 50 attempts");
}

/// The probe of [`wait_until`] did not succeed before the deadline.
#[derive(Debug, thiserror::Error)]
#[error("condition not met within {waited:?} ({attempts} attempts); last failure: {last_error}")]
pub struct TimedOut {
    /// How long we waited.
    pub waited: Duration,
    /// How many times the probe ran.
    pub attempts: u32,
    /// The `Display` of the probe's last error.
    pub last_error: String,
}

/// Runs `probe` every 50 ms until it returns `Ok` or `timeout` has passed (the probe always runs at least once).
///
/// Blocking: inside an async test whose runtime must keep serving something else, use [`wait_until_async`].
pub fn wait_until<T, E: Display>(
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, E>,
) -> Result<T, TimedOut> {
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match probe() {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() >= timeout => {
                return Err(TimedOut {
                    waited: start.elapsed(),
                    attempts,
                    last_error: e.to_string(),
                })
            }
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
    }
}

/// Async twin of [`wait_until`]: awaits `probe()` every 50 ms with `tokio::time::sleep` in between.
pub async fn wait_until_async<T, E: Display, F, Fut>(
    timeout: Duration,
    mut probe: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match probe().await {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() >= timeout => {
                return Err(TimedOut {
                    waited: start.elapsed(),
                    attempts,
                    last_error: e.to_string(),
                })
            }
            Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable() {
        let p = free_port();
        assert!(p > 0);
        TcpListener::bind(("127.0.0.1", p)).expect("port reported free is bindable");
        let q = free_tcp_udp_port();
        UdpSocket::bind(("127.0.0.1", q)).expect("udp bindable");
    }

    #[test]
    fn wait_until_returns_value_and_times_out_with_last_error() {
        let mut n = 0;
        let v = wait_until(Duration::from_secs(5), || {
            n += 1;
            if n >= 3 {
                Ok(n)
            } else {
                Err(format!("only {n}"))
            }
        })
        .unwrap();
        assert_eq!(v, 3);

        let err = wait_until(Duration::from_millis(120), || Err::<(), _>("never")).unwrap_err();
        assert!(err.attempts >= 2, "{err}");
        assert_eq!(err.last_error, "never");
        assert!(err.waited >= Duration::from_millis(120));
    }

    #[tokio::test]
    async fn wait_until_async_works() {
        let mut n = 0;
        let v = wait_until_async(Duration::from_secs(5), || {
            n += 1;
            let k = n;
            async move {
                if k >= 2 {
                    Ok(k)
                } else {
                    Err("not yet")
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 2);
    }
}
