//! The private PostgreSQL cluster Switchboard runs when no `DATABASE_URL` is configured.
//!
//! It lives in `<data_dir>/pg`, listens only on a Unix socket inside that directory (no TCP
//! port), and is created with the system's `initdb` and driven by `pg_ctl`. When Switchboard
//! runs as root the cluster runs as the `postgres` system user, because PostgreSQL refuses
//! root. Two lock files keep concurrent Switchboard processes honest:
//! - `pg.start.lock` (exclusive) serialises starting and stopping, so two processes never
//!   launch two postmasters on one data directory;
//! - `pg.users.lock` (shared, held for the process's lifetime) counts the processes using the
//!   cluster; the last one to leave stops it.

use std::{
    fs::File,
    os::unix::fs::{DirBuilderExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// Why the embedded cluster could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl) found via pg_config, PATH or \
         /usr/lib/postgresql/*/bin: install PostgreSQL (e.g. `apt-get install postgresql`) \
         or set DATABASE_URL"
    )]
    NoBinaries,
    #[error("running as root needs a 'postgres' system user to own the embedded cluster")]
    NoPostgresUser,
    #[error("the data directory path {0} may not contain a single quote")]
    BadPath(PathBuf),
    #[error("{what}: {detail}")]
    Failed { what: String, detail: String },
}

fn failed(what: impl Into<String>, detail: impl std::fmt::Display) -> EmbeddedError {
    EmbeddedError::Failed {
        what: what.into(),
        detail: detail.to_string(),
    }
}

/// Tuning for the cluster when this process starts it.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Turn off fsync and friends: for throw-away test clusters only.
    pub ephemeral: bool,
}

/// A running embedded cluster; call [`EmbeddedCluster::release`] at shutdown.
#[derive(Debug)]
pub struct EmbeddedCluster {
    root: PathBuf,
    data_dir: PathBuf,
    bindir: PathBuf,
    run_as: Option<(u32, u32)>,
    users_lock: Option<File>,
}

impl EmbeddedCluster {
    /// Initialises (first time) and starts (unless already running) the cluster under
    /// `root/pg`, then makes sure database `db` exists. Blocking; call from a blocking thread.
    pub fn start(root: &Path, options: StartOptions) -> Result<Self, EmbeddedError> {
        let bindir = find_bindir().ok_or(EmbeddedError::NoBinaries)?;
        let run_as = postgres_identity()?;
        std::fs::create_dir_all(root)
            .map_err(|e| failed(format!("creating {}", root.display()), e))?;
        let root = root
            .canonicalize()
            .map_err(|e| failed(format!("resolving {}", root.display()), e))?;
        let data_dir = root.join("pg");
        if data_dir.to_string_lossy().contains('\'') {
            return Err(EmbeddedError::BadPath(data_dir));
        }

        let start_lock = open_lock(&root.join("pg.start.lock"))?;
        start_lock
            .lock()
            .map_err(|e| failed("locking pg.start.lock", e))?;
        let users_lock = open_lock(&root.join("pg.users.lock"))?;
        users_lock
            .lock_shared()
            .map_err(|e| failed("locking pg.users.lock", e))?;

        let mut cluster = Self {
            root,
            data_dir,
            bindir,
            run_as,
            users_lock: Some(users_lock),
        };
        let result = cluster
            .init_if_needed()
            .and_then(|()| cluster.start_if_stopped(options));
        drop(start_lock);
        if result.is_err() {
            cluster.users_lock = None;
        }
        result.map(|()| cluster)
    }

    /// A `postgres://` URL for database `db` over the cluster's Unix socket.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql:///{db}?host={}&user=postgres",
            self.data_dir.display()
        )
    }

    /// [`Self::url`] for role `user` instead of the superuser `postgres`.
    pub fn url_as(&self, db: &str, user: &str) -> String {
        format!(
            "postgresql:///{db}?host={}&user={user}",
            self.data_dir.display()
        )
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Leaves the cluster; the last process using it stops it (fast shutdown). Blocking.
    pub fn release(mut self) -> Result<bool, EmbeddedError> {
        let start_lock = open_lock(&self.root.join("pg.start.lock"))?;
        start_lock
            .lock()
            .map_err(|e| failed("locking pg.start.lock", e))?;
        self.users_lock = None;
        let users_lock = open_lock(&self.root.join("pg.users.lock"))?;
        let last = users_lock.try_lock().is_ok();
        if last && self.is_running() {
            self.pg_ctl(&["stop", "-w", "-s", "-m", "fast", "-t", "60", "-D"])?;
            return Ok(true);
        }
        Ok(false)
    }

    fn init_if_needed(&self) -> Result<(), EmbeddedError> {
        if self.data_dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .map_err(|e| failed(format!("creating {}", self.data_dir.display()), e))?;
        std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| failed("setting the data directory's mode", e))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&self.data_dir, Some(uid), Some(gid))
                .map_err(|e| failed("giving the data directory to the postgres user", e))?;
        }
        tracing::info!(data_dir = %self.data_dir.display(), "initialising the embedded PostgreSQL cluster");
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ])
            .output()
            .map_err(|e| failed("running initdb", e))?;
        if !out.status.success() {
            return Err(failed("initdb failed", last_lines(&out.stderr)));
        }
        Ok(())
    }

    fn start_if_stopped(&self, options: StartOptions) -> Result<(), EmbeddedError> {
        if self.is_running() {
            tracing::info!("reusing the running embedded PostgreSQL cluster");
            return Ok(());
        }
        let mut settings = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}'",
            self.data_dir.display()
        );
        if options.ephemeral {
            settings.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.data_dir.join("server.log");
        let out = self
            .command("pg_ctl")
            .args(["start", "-w", "-s", "-t", "60", "-D"])
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(settings)
            .output()
            .map_err(|e| failed("running pg_ctl start", e))?;
        if !out.status.success() {
            let log_tail = std::fs::read(&log)
                .map(|l| last_lines(&l))
                .unwrap_or_default();
            return Err(failed(
                "pg_ctl start failed",
                format!("{} {log_tail}", last_lines(&out.stderr)),
            ));
        }
        tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL cluster started");
        Ok(())
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .args(["status", "-D"])
            .arg(&self.data_dir)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), EmbeddedError> {
        let out = self
            .command("pg_ctl")
            .args(args)
            .arg(&self.data_dir)
            .output()
            .map_err(|e| failed("running pg_ctl", e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(failed(
                format!("pg_ctl {}", args[0]),
                last_lines(&out.stderr),
            ))
        }
    }

    /// A command for one of the cluster's binaries, as the cluster's owner, detached from our
    /// terminal (so Ctrl-C reaches only Switchboard, which then stops the cluster itself).
    fn command(&self, program: &str) -> Command {
        use std::os::unix::process::CommandExt as _;
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.stdin(Stdio::null())
            .current_dir("/")
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .process_group(0);
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        // Dropping without `release` (e.g. tests) leaves the cluster running for reuse.
        self.users_lock.take();
    }
}

fn open_lock(path: &Path) -> Result<File, EmbeddedError> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| failed(format!("opening {}", path.display()), e))
}

/// The identity the cluster runs as: `postgres` when we are root, ourselves otherwise.
fn postgres_identity() -> Result<Option<(u32, u32)>, EmbeddedError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some((user.uid.as_raw(), user.gid.as_raw()))),
        _ => Err(EmbeddedError::NoPostgresUser),
    }
}

/// `pg_config --bindir`, then `PATH`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Option<PathBuf> {
    find_bindir_in(std::env::var_os("PATH"), Path::new("/usr/lib/postgresql"))
}

/// [`find_bindir`] with the search path and the versioned root given.
pub fn find_bindir_in(path: Option<std::ffi::OsString>, versioned_root: &Path) -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let pg_config = path.as_ref().and_then(|p| {
        std::env::split_paths(p)
            .map(|d| d.join("pg_config"))
            .find(|f| f.is_file())
    });
    let from_pg_config = pg_config
        .and_then(|pg_config| {
            Command::new(pg_config)
                .arg("--bindir")
                .stderr(Stdio::null())
                .output()
                .ok()
        })
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| has_tools(d)) {
        return Some(dir);
    }
    if let Some(path) = &path {
        for dir in std::env::split_paths(path) {
            if has_tools(&dir) {
                // Resolve symlinks (Debian links /usr/local/bin/initdb into the versioned dir)
                // so that initdb finds the postgres binary beside it.
                let real = dir.join("initdb").canonicalize().ok();
                if let Some(real_dir) = real.as_deref().and_then(Path::parent)
                    && has_tools(real_dir)
                {
                    return Some(real_dir.to_owned());
                }
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(versioned_root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn last_lines(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_install(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for tool in ["initdb", "pg_ctl"] {
            std::fs::write(dir.join(tool), "").unwrap();
        }
    }

    #[test]
    fn finds_the_newest_versioned_install_when_path_has_none() {
        let root = tempfile::tempdir().unwrap();
        fake_install(&root.path().join("13/bin"));
        fake_install(&root.path().join("16/bin"));
        std::fs::create_dir_all(root.path().join("17/bin")).unwrap(); // no tools
        let found = find_bindir_in(Some("/nonexistent".into()), root.path());
        assert_eq!(found, Some(root.path().join("16/bin")));
    }

    #[test]
    fn path_wins_over_the_versioned_root_and_none_found_is_none() {
        let root = tempfile::tempdir().unwrap();
        fake_install(&root.path().join("path-bin"));
        fake_install(&root.path().join("15/bin"));
        let found = find_bindir_in(
            Some(root.path().join("path-bin").into_os_string()),
            root.path(),
        );
        assert_eq!(found, Some(root.path().join("path-bin")));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            find_bindir_in(Some("/nonexistent".into()), empty.path()),
            None
        );
        assert!(
            EmbeddedError::NoBinaries
                .to_string()
                .contains("install PostgreSQL")
        );
        assert!(
            EmbeddedError::NoBinaries
                .to_string()
                .contains("DATABASE_URL")
        );
    }
}
