//! Where the CPU went during a phase, from `/proc`: the server process, the embedded
//! PostgreSQL (postmaster and its backends), this load generator, and everything else.

use std::time::Instant;

/// Linux reports process times in USER_HZ ticks, 100 a second on every common platform.
const TICKS_PER_SECOND: f64 = 100.0;

/// Cumulative CPU ticks at one instant.
pub struct Snapshot {
    at: Instant,
    server: u64,
    postgres: u64,
    bench: u64,
    machine_busy: u64,
}

/// Average cores used over a phase.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub server: f64,
    pub postgres: f64,
    pub bench: f64,
    pub other: f64,
}

/// `(ppid, utime + stime, cutime + cstime)` of a process.
fn stat(pid: &str) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let ppid = u32::try_from(num(1)?).ok()?;
    Some((ppid, num(11)? + num(12)?, num(13)? + num(14)?))
}

/// The postmaster's own time, its reaped children's, and its live backends'.
fn postgres_ticks(postmaster: u32) -> u64 {
    let own = stat(&postmaster.to_string()).map_or(0, |(_, t, c)| t + c);
    let backends: u64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let pid = name.to_str()?;
            pid.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
            let (ppid, ticks, _) = stat(pid)?;
            (ppid == postmaster).then_some(ticks)
        })
        .sum();
    own + backends
}

/// Busy ticks of the whole machine (all cores), from the `cpu` line of `/proc/stat`.
fn machine_busy() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait.
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    total.saturating_sub(idle)
}

impl Snapshot {
    pub fn take(server: u32, postmaster: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            server: stat(&server.to_string()).map_or(0, |(_, t, _)| t),
            postgres: postmaster.map_or(0, postgres_ticks),
            bench: stat("self").map_or(0, |(_, t, _)| t),
            machine_busy: machine_busy(),
        }
    }

    /// Average cores used by each party between `self` and `later`.
    pub fn until(&self, later: &Snapshot) -> CpuUse {
        let secs = (later.at - self.at).as_secs_f64().max(f64::EPSILON);
        let cores = |a: u64, b: u64| b.saturating_sub(a) as f64 / TICKS_PER_SECOND / secs;
        let server = cores(self.server, later.server);
        let postgres = cores(self.postgres, later.postgres);
        let bench = cores(self.bench, later.bench);
        let busy = cores(self.machine_busy, later.machine_busy);
        CpuUse {
            server,
            postgres,
            bench,
            other: (busy - server - postgres - bench).max(0.0),
        }
    }
}
