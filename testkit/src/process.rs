//! Child-process lifecycle shared by all components: locate the binary (or panic naming the Debian package),
//! spawn it so it cannot outlive the test binary, wait for readiness, and stop + reap it on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::Error;

/// A binary we depend on, with the environment variable that can override its path and the Debian package that
/// ships it.
pub(crate) struct Binary {
    pub name: &'static str,
    pub env: &'static str,
    pub package: &'static str,
}

pub(crate) const PROMETHEUS: Binary = Binary {
    name: "prometheus",
    env: "INFERMON_PROMETHEUS_BIN",
    package: "prometheus",
};
pub(crate) const PROMTOOL: Binary = Binary {
    name: "promtool",
    env: "INFERMON_PROMTOOL_BIN",
    package: "prometheus",
};
pub(crate) const ALERTMANAGER: Binary = Binary {
    name: "prometheus-alertmanager",
    env: "INFERMON_ALERTMANAGER_BIN",
    package: "prometheus-alertmanager",
};
pub(crate) const VICTORIA_METRICS: Binary = Binary {
    name: "victoria-metrics",
    env: "INFERMON_VICTORIA_METRICS_BIN",
    package: "victoria-metrics",
};

/// Finds the binary: `$ENV` override, then `PATH`, then `/usr/bin`. Panics with the package to install.
pub(crate) fn locate(bin: &Binary) -> PathBuf {
    if let Some(p) = std::env::var_os(bin.env) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return p;
        }
        panic!(
            "{}={} does not point to a file; unset it or install the Debian package `{}` (apt-get install -y {})",
            bin.env,
            p.display(),
            bin.package,
            bin.package
        );
    }
    find_in_path(bin.name).unwrap_or_else(|| {
        panic!(
            "`{}` not found on PATH or in /usr/bin: install the Debian package `{}` (apt-get install -y {}), \
             or set {} to the binary",
            bin.name, bin.package, bin.package, bin.env
        )
    })
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::iter::once(PathBuf::from("/usr/bin")))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// All children are spawned from this one thread, which lives as long as the test process. With
/// `setpriv --pdeathsig KILL` the kernel kills a child when its parent *thread* dies, so spawning from a
/// short-lived test thread would kill shared (static) instances too early; spawning here ties the children to the
/// lifetime of the whole test binary instead.
fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn testkit-spawner thread");
        Mutex::new(tx)
    })
}

fn spawn_tied(bin: &Path, args: &[String], log: &File) -> std::io::Result<Child> {
    let mut cmd = match find_in_path("setpriv") {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--"]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?);
    let (tx, rx) = mpsc::channel();
    spawner()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, tx))
        .map_err(|_| std::io::Error::other("testkit spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| std::io::Error::other("testkit spawner thread is gone"))?
}

/// A running child that is stopped (SIGTERM, then SIGKILL after a grace period) and reaped on drop.
pub(crate) struct ManagedProcess {
    child: Option<Child>,
    log_path: PathBuf,
}

/// Grace period between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl ManagedProcess {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole log (stdout+stderr) so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.logs(), lines)
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, wait up to [`STOP_GRACE`], SIGKILL, reap. Idempotent.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether process `pid` holds the listening TCP socket on 127.0.0.1:`port` (via /proc); `None` if that cannot
/// be determined (no /proc, no permission).
fn owns_listening_port(pid: u32, port: u16) -> Option<bool> {
    let wanted = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // cols: sl local_address rem_address st ... inode (index 9)
            if cols.len() > 9 && cols[1].ends_with(&wanted) && cols[3] == "0A" {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let owned = fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
            .unwrap_or(false)
    });
    Some(owned)
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What a component starter needs for one start attempt.
pub(crate) struct Launch {
    pub args: Vec<String>,
    /// The HTTP port on 127.0.0.1 the component was told to listen on.
    pub port: u16,
    /// URL that answers 200 once the component is ready.
    pub ready_url: String,
    /// Also count 401 as ready (the component requires auth on every endpoint).
    pub ready_on_unauthorized: bool,
}

/// Spawns the component and waits for `ready_url` to answer 200. If the process dies because its port was taken
/// in the meantime (the free-port race), `launch` is called again for new ports (3 attempts in total).
pub(crate) fn start(
    component: &'static str,
    bin: &Path,
    log_path: PathBuf,
    ready_timeout: Duration,
    mut launch: impl FnMut() -> Launch,
) -> Result<ManagedProcess, Error> {
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let Launch {
            args,
            port,
            ready_url,
            ready_on_unauthorized,
        } = launch();
        let log = File::create(&log_path)
            .map_err(|e| Error::io(format!("create log {}", log_path.display()), e))?;
        let child = spawn_tied(bin, &args, &log)
            .map_err(|e| Error::io(format!("spawn {} {}", bin.display(), args.join(" ")), e))?;
        let mut proc = ManagedProcess {
            child: Some(child),
            log_path: log_path.clone(),
        };
        let started = Instant::now();
        let mut last_error;
        loop {
            if let Some(status) = proc.exited() {
                let logs = proc.logs();
                if attempt < ATTEMPTS && logs.contains("address already in use") {
                    break; // retry with new ports
                }
                return Err(Error::EarlyExit {
                    component,
                    status: status.to_string(),
                    log: log_path,
                    log_tail: tail(&logs, 30),
                });
            }
            match crate::http::get(&ready_url) {
                Ok(r) if r.status == 200 || (ready_on_unauthorized && r.status == 401) => {
                    // Make sure the answer came from *our* child, not from another test's server that won the
                    // race for the same "free" port (ours would then exit with "address already in use").
                    if owns_listening_port(proc.pid(), port) != Some(false) {
                        return Ok(proc);
                    }
                    last_error = format!("port {port} is served by another process");
                }
                Ok(r) => last_error = format!("HTTP {}: {}", r.status, r.text().trim()),
                Err(e) => last_error = e.to_string(),
            }
            if started.elapsed() > ready_timeout {
                let log_tail = proc.log_tail(30);
                proc.stop();
                return Err(Error::NotReady {
                    component,
                    url: ready_url,
                    waited: started.elapsed(),
                    last_error,
                    log_tail,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    unreachable!("the last attempt always returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_listening_socket_ownership() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(owns_listening_port(std::process::id(), port), Some(true));
        // pid 1 (init) does not hold our socket.
        assert_ne!(owns_listening_port(1, port), Some(true));
        drop(listener);
        assert_eq!(owns_listening_port(std::process::id(), port), None);
    }

    #[test]
    #[should_panic(expected = "apt-get install -y prometheus")]
    fn missing_binary_names_the_debian_package() {
        locate(&Binary {
            name: "definitely-not-installed-binary",
            env: "INFERMON_TESTKIT_NO_SUCH_BIN",
            package: "prometheus",
        });
    }
}
