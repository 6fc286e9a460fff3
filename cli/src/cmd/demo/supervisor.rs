//! The demo's small process supervisor: starts Prometheus, Alertmanager and the webhook as children that cannot
//! outlive the demo, and stops every one of them on every exit path.
//!
//! Why not `infermon-testkit`: it is test support (it panics on missing binaries, owns temp dirs per component).
//! The demo needs the same guarantees with user-facing errors:
//! - each child runs through `setpriv --pdeathsig KILL` (util-linux) when available, so the kernel kills it even
//!   if the demo itself is killed with SIGKILL; children are spawned from the main thread only, because the
//!   death signal follows the *thread* that forked;
//! - each child gets its own process group, so a Ctrl-C on the terminal reaches the demo only and the demo stops
//!   the children in order (Prometheus first, the webhook last so it can deliver what it holds);
//! - [`Supervisor::stop_all`] sends SIGTERM, waits, then SIGKILLs and reaps; it also runs on drop (panics, `?`).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::DemoError;

/// How long a child may take to stop after SIGTERM before it is killed. The webhook drains deliveries for up to
/// 10 s on SIGTERM, so this is a little longer.
pub const STOP_GRACE: Duration = Duration::from_secs(12);

/// One started child.
#[derive(Debug)]
pub struct Managed {
    pub name: &'static str,
    pub pid: u32,
    pub log: PathBuf,
    child: Child,
}

/// The children of one demo, stopped in reverse start order.
#[derive(Debug, Default)]
pub struct Supervisor {
    children: Vec<Managed>,
}

/// What to do with a child's stdout.
pub enum Stdout {
    /// Into the log file, with stderr.
    Log,
    /// A pipe the caller reads (stderr still goes to the log).
    Piped,
}

/// `path` when it is an executable file, else the first `name` on `PATH` or in `/usr/bin`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::iter::once(PathBuf::from("/usr/bin")))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Supervisor {
    /// Starts `bin args…`; stdout and stderr go to `log` (or stdout to a pipe, returned).
    pub fn spawn(
        &mut self,
        name: &'static str,
        bin: &Path,
        args: &[String],
        log: &Path,
        stdout: Stdout,
    ) -> Result<(u32, Option<ChildStdout>), DemoError> {
        let file = File::create(log).map_err(|source| DemoError::Io {
            what: format!("create log file {}", log.display()),
            source,
        })?;
        let clone = |f: &File| {
            f.try_clone().map_err(|source| DemoError::Io {
                what: format!("open log file {}", log.display()),
                source,
            })
        };
        let mut cmd = match find_binary("setpriv") {
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "KILL", "--"]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stderr(clone(&file)?)
            .process_group(0);
        match stdout {
            Stdout::Log => cmd.stdout(clone(&file)?),
            Stdout::Piped => cmd.stdout(Stdio::piped()),
        };
        let mut child = cmd.spawn().map_err(|source| DemoError::Io {
            what: format!("start {name} ({})", bin.display()),
            source,
        })?;
        let pipe = child.stdout.take();
        let pid = child.id();
        self.children.push(Managed {
            name,
            pid,
            log: log.to_path_buf(),
            child,
        });
        Ok((pid, pipe))
    }

    /// The children started so far (name, pid).
    pub fn pids(&self) -> Vec<(&'static str, u32)> {
        self.children.iter().map(|c| (c.name, c.pid)).collect()
    }

    /// The first child that has exited, with its status and the tail of its log.
    pub fn exited(&mut self) -> Option<(&'static str, ExitStatus, String)> {
        self.children.iter_mut().find_map(|c| {
            let status = c.child.try_wait().ok().flatten()?;
            Some((c.name, status, tail(&c.log, 15)))
        })
    }

    /// Whether the child named `name` has exited (then its status and log tail).
    pub fn exited_named(&mut self, name: &str) -> Option<(ExitStatus, String)> {
        let c = self.children.iter_mut().find(|c| c.name == name)?;
        let status = c.child.try_wait().ok().flatten()?;
        Some((status, tail(&c.log, 15)))
    }

    /// Stops and forgets the child named `name` (used to retry a start on a port taken meanwhile).
    pub fn remove(&mut self, name: &str) {
        if let Some(i) = self.children.iter().position(|c| c.name == name) {
            let c = self.children.remove(i);
            stop(c);
        }
    }

    /// Stops the children named in `first`, in that order, then the others (newest first): SIGTERM, wait up to
    /// [`STOP_GRACE`], SIGKILL, reap. Returns (name, how it ended) per child.
    pub fn stop_all(&mut self, first: &[&str]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for name in first {
            if let Some(i) = self.children.iter().position(|c| c.name == *name) {
                let c = self.children.remove(i);
                out.push((c.name, stop(c)));
            }
        }
        while let Some(c) = self.children.pop() {
            let name = c.name;
            out.push((name, stop(c)));
        }
        out
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_all(&[]);
    }
}

fn stop(mut c: Managed) -> String {
    if let Ok(Some(status)) = c.child.try_wait() {
        return format!("had exited ({status})");
    }
    if let Some(pid) = rustix::process::Pid::from_raw(c.pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        match c.child.try_wait() {
            Ok(Some(status)) => return format!("stopped ({status})"),
            Ok(None) => std::thread::sleep(Duration::from_millis(25)),
            Err(_) => break,
        }
    }
    let _ = c.child.kill();
    let _ = c.child.wait();
    format!("killed after {} s", STOP_GRACE.as_secs())
}

/// Whether process `pid` holds the listening TCP socket on `port` (via /proc); `None` when that cannot be told
/// (no /proc, or the socket is not listed yet). The same check guards infermon-testkit's starts.
pub fn owns_listening_port(pid: u32, port: u16) -> Option<bool> {
    let wanted = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st … inode (index 9); st 0A = LISTEN.
            if cols.len() > 9 && cols[1].ends_with(&wanted) && cols[3] == "0A" {
                inodes.push(format!("socket:[{}]", cols[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
    }))
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A free TCP port on 127.0.0.1 (bound and released; the caller retries if it is taken before use).
pub fn free_port() -> Result<u16, DemoError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| DemoError::Io {
        what: "find a free port on 127.0.0.1".into(),
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| DemoError::Io {
            what: "find a free port on 127.0.0.1".into(),
            source,
        })
}
