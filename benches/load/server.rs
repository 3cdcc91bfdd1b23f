//! The server under test: the release `switchboard` binary serving on its embedded
//! PostgreSQL cluster in a temporary data dir, seeded through the CLI and SQL, stopped with
//! SIGTERM.

use std::{
    io::Write as _,
    net::TcpListener,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use secrecy::{ExposeSecret as _, SecretString};

/// The binary Cargo built for this bench (the `bench` profile inherits `release`).
pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A running `switchboard serve`.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    data: tempfile::TempDir,
    /// `SWITCHBOARD_MASTER_KEYS` of the server and of every CLI command.
    master_keys: SecretString,
}

/// How the server went away.
pub struct Shutdown {
    pub status: ExitStatus,
    pub took: Duration,
    pub cluster_stopped: bool,
}

impl Server {
    /// Starts `serve` on a free 127.0.0.1 port over a fresh data dir and waits for `/healthz`.
    /// `master_keys` seal the providers' keys; live checks may reach 127.0.0.0/8 (the mock).
    pub async fn start(master_keys: SecretString) -> anyhow::Result<Self> {
        let data = tempfile::Builder::new()
            .prefix("switchboard-bench-")
            .tempdir()
            .context("creating the temporary data dir")?;
        // When run as root the cluster runs as `postgres`, which must reach the directory.
        std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755))?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(data.path().join("server.log"))?;
        let child = command(data.path(), &master_keys)
            .arg("serve")
            .env("SWITCHBOARD_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {BIN}"))?;
        let mut server = Self {
            child: Some(child),
            base,
            data,
            master_keys,
        };
        server.wait_until_up().await?;
        Ok(server)
    }

    async fn wait_until_up(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = self.child_mut().try_wait()? {
                bail!("serve exited with {status}:\n{}", self.log_tail());
            }
            let up = http
                .get(format!("{}/healthz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("serve did not come up in 90 s:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("server still running")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server still running").id()
    }

    /// The embedded cluster's postmaster (first line of `postmaster.pid`).
    pub fn postmaster(&self) -> Option<u32> {
        std::fs::read_to_string(postmaster_pid(self.data.path()))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// The URL of the server's database on its embedded cluster (the Unix socket in the
    /// cluster's directory, as the server connects; trust authentication).
    pub fn database_url(&self) -> String {
        format!(
            "postgresql:///switchboard?host={}&user=postgres",
            self.data.path().join("pg").display()
        )
    }

    /// The server's resident set size in bytes (`VmRSS` of `/proc/<pid>/status`).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(kib * 1024)
    }

    /// Runs a CLI command against the same data dir (the running cluster is shared).
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
        let mut child = command(self.data.path(), &self.master_keys)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut input = child.stdin.take().expect("piped stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes())?;
        }
        drop(input);
        let out = child.wait_with_output()?;
        ensure!(
            out.status.success(),
            "switchboard {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }

    /// SIGTERM, then waits (at most 60 s) for a clean exit that also stops the cluster.
    pub fn stop(mut self) -> anyhow::Result<Shutdown> {
        let mut child = self.child.take().expect("server still running");
        let started = Instant::now();
        let status = terminate(&mut child, Duration::from_secs(60))?;
        let took = started.elapsed();
        let cluster_stopped = !postmaster_pid(self.data.path()).exists();
        if !status.success() || !cluster_stopped {
            eprintln!("server log (tail):\n{}", self.log_tail());
        }
        Ok(Shutdown {
            status,
            took,
            cluster_stopped,
        })
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    /// A bench that fails half-way still stops the server and its cluster before the data
    /// dir is removed.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take()
            && terminate(&mut child, Duration::from_secs(30)).is_err()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `switchboard` with a clean configuration: no `DATABASE_URL`, no `SWITCHBOARD_*` from the
/// caller's environment, the embedded cluster under `data_dir`, the bench's master key, and
/// live checks allowed to loopback only (where the mock provider listens).
fn command(data_dir: &Path, master_keys: &SecretString) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        let inherited = name.to_string_lossy();
        if inherited == "DATABASE_URL" || inherited.starts_with("SWITCHBOARD_") {
            cmd.env_remove(&name);
        }
    }
    cmd.env("SWITCHBOARD_DATA_DIR", data_dir)
        .env("SWITCHBOARD_MASTER_KEYS", master_keys.expose_secret())
        .env("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8")
        // The API's limiter stays on (its cost is measured) but never refuses: the bench
        // measures the endpoints from one IP at more than the default 1 000 requests/s.
        .env("SWITCHBOARD_API_TOKEN_RATE", "1000000")
        .env("SWITCHBOARD_API_IP_RATE", "1000000")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    cmd
}

fn terminate(child: &mut Child, limit: Duration) -> anyhow::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    ensure!(sent.success(), "kill -TERM {} failed", child.id());
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!("serve did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn postmaster_pid(data_dir: &Path) -> PathBuf {
    data_dir.join("pg").join("postmaster.pid")
}
