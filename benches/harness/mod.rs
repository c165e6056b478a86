//! Shared harness of the benchmarks (`suite`, `devices`) and of the memory guard
//! (`tests/memory.rs`, which includes this file): runs the release binary as real
//! subprocesses against an in-process simulator and measures each process itself — peak
//! RSS from the kernel's `VmHWM` of that process (polled until it exits), CPU time from
//! `wait4` of that process, time to its first request from the simulator's log — plus the
//! request counts per API and the simulated-clock duration under Halo's real rate window.
//!
//! Why not `getrusage(RUSAGE_CHILDREN)` or `wait4`'s `ru_maxrss` for memory: Rust spawns
//! children with `posix_spawn` (`CLONE_VM`), and Linux folds the high-water mark of the
//! address space the child had before `exec` — the bench process's own — into the child's
//! `maxrss`. `VmHWM` belongs to the address space the binary runs in, nothing else.

#![allow(dead_code)] // each bench (and the memory test) uses a different subset

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use halo_integrator::sim::{RequestRecord, Service, SimOptions, Simulator, World};

/// The binary measured: this build's, or the one `BENCH_BINARY` names (e.g. the image's
/// musl build, whose allocator is not glibc's).
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_halo-integrator").into())
}

/// Halo's hosted rate limit: 300 requests per rolling 5 minutes.
pub const HALO_LIMIT: usize = 300;
pub const HALO_WINDOW: Duration = Duration::from_secs(300);

/// What one run (one or several processes started together) measured.
pub struct Measured {
    pub halo: usize,
    pub graph: usize,
    /// Halo API POSTs (write batches).
    pub writes: usize,
    /// 429 answers from the simulator (the client must never cause one).
    pub throttled: usize,
    pub wall: Duration,
    /// The same run on Halo's real clock (see [`simulated_clock`]).
    pub simulated: Duration,
    /// From the spawn to the first request the simulator received.
    pub startup: Duration,
    /// Largest `VmHWM` among the run's processes, KiB.
    pub peak_rss_kib: u64,
    /// User + system CPU time of all the run's processes.
    pub cpu: Duration,
    /// Sum of `plan_cpu_seconds` over the `planned` log lines.
    pub plan_cpu: Duration,
}

/// One process of a run: its extra variables (e.g. the shard index).
pub type ProcessEnv = Vec<(String, String)>;

/// Runs one process per entry of `processes` (each gets `env` plus its own variables),
/// all started together, and measures them. The request log of `sim` is cleared first.
/// Panics if a process fails: a benchmark of a failed run measures nothing.
pub fn run(sim: &Simulator, env: &[(String, String)], processes: &[ProcessEnv]) -> Measured {
    sim.clear_requests();
    let logs: Vec<tempfile::NamedTempFile> = processes
        .iter()
        .map(|_| tempfile::NamedTempFile::new().expect("log file"))
        .collect();
    let started = Instant::now();
    let mut children: Vec<(u32, Option<libc::rusage>)> = processes
        .iter()
        .zip(&logs)
        .map(|(extra, log)| {
            #[expect(
                clippy::zombie_processes,
                reason = "reaped by wait4 in try_reap, which also gives its CPU time"
            )]
            let child = Command::new(binary())
                .arg("run")
                .env_clear()
                .envs(env.iter().chain(extra).map(|(k, v)| (k, v)))
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    File::create(log.path()).expect("log file opens"),
                ))
                .spawn()
                .expect("binary starts");
            (child.id(), None)
        })
        .collect();
    let mut peak_rss_kib = 0;
    while children.iter().any(|(_, usage)| usage.is_none()) {
        for (pid, usage) in children.iter_mut().filter(|(_, u)| u.is_none()) {
            peak_rss_kib = peak_rss_kib.max(vm_hwm_kib(*pid).unwrap_or(0));
            *usage = try_reap(*pid);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let wall = started.elapsed();
    let cpu = children
        .iter()
        .filter_map(|(_, usage)| usage.as_ref())
        .map(|u| timeval(u.ru_utime) + timeval(u.ru_stime))
        .sum();
    let plan_cpu = logs
        .iter()
        .map(|log| plan_cpu(&std::fs::read_to_string(log.path()).unwrap_or_default()))
        .sum();
    let requests = sim.requests();
    let startup = requests
        .first()
        .map_or(Duration::ZERO, |r| r.at.saturating_duration_since(started));
    Measured {
        halo: requests.iter().filter(|r| r.service.is_halo()).count(),
        graph: requests.iter().filter(|r| !r.service.is_halo()).count(),
        writes: requests
            .iter()
            .filter(|r| r.service == Service::HaloApi && r.method == "POST")
            .count(),
        throttled: requests.iter().filter(|r| r.status == Some(429)).count(),
        wall,
        simulated: simulated_clock(&steps(&requests, started), wall),
        startup,
        peak_rss_kib,
        cpu,
        plan_cpu,
    }
}

/// `VmHWM` of a running process, KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Reaps `pid` if it has exited: its own resource usage. Panics if it failed.
fn try_reap(pid: u32) -> Option<libc::rusage> {
    let mut status = 0;
    // SAFETY: wait4 only writes into the status and rusage passed to it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
    assert!(reaped >= 0, "wait4 failed");
    if reaped == 0 {
        return None;
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the integrator failed (status {status})"
    );
    Some(usage)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Sum of `plan_cpu_seconds` in the JSON log lines of the `planned` events.
fn plan_cpu(log: &str) -> Duration {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v.get("plan_cpu_seconds")?.as_f64())
        .map(Duration::from_secs_f64)
        .sum()
}

/// One request of a sequential client, for [`simulated_clock`].
#[derive(Clone, Copy)]
pub struct Step {
    /// Client time between the previous request's completion (or the start) and this one.
    pub gap: Duration,
    /// Time the request took.
    pub duration: Duration,
    /// Counted against Halo's rate limit.
    pub halo: bool,
}

/// The steps of a measured run, from the simulator's log.
fn steps(requests: &[RequestRecord], started: Instant) -> Vec<Step> {
    let mut previous_end = started;
    requests
        .iter()
        .map(|r| {
            let step = Step {
                gap: r.at.saturating_duration_since(previous_end),
                duration: r.duration,
                halo: r.service.is_halo(),
            };
            previous_end = previous_end.max(r.at + r.duration);
            step
        })
        .collect()
}

/// How long a run takes on Halo's real clock: the client's own time (gaps, request
/// durations) as measured, plus the waits Halo's real limit ([`HALO_LIMIT`] per
/// [`HALO_WINDOW`], counted from each request's completion as the client's limiter does)
/// forces on a sequential client. `wall` is the run's real duration; the waits it already
/// contains (none when the accelerated window never fills) are part of the gaps and would be
/// counted twice, so the accelerated window is chosen so that it cannot fill (see
/// `docs/benchmarks.md`).
pub fn simulated_clock(steps: &[Step], wall: Duration) -> Duration {
    let mut now = Duration::ZERO;
    let mut extra = Duration::ZERO;
    let mut halo_done: Vec<Duration> = Vec::new();
    for step in steps {
        now += step.gap;
        if step.halo {
            if let Some(oldest) = halo_done
                .len()
                .checked_sub(HALO_LIMIT)
                .map(|i| halo_done[i])
            {
                let free = oldest + HALO_WINDOW;
                if now < free {
                    extra += free - now;
                    now = free;
                }
            }
            halo_done.push(now + step.duration);
        }
        now += step.duration;
    }
    wall + extra
}

/// Formats a duration for the table: ms below 10 s, s below 10 min, else min or h.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 600.0 {
        format!("{s:.1} s")
    } else if s < 3.0 * 3600.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The load averages (1, 5, 15 min) of the machine, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A simulator of `world` on its own thread, without rate limit: for measurements where only
/// the integrator's own requests or memory count.
pub fn unthrottled_simulator(world: World) -> Simulator {
    Simulator::start_on_thread(
        ([127, 0, 0, 1], 0).into(),
        world,
        SimOptions {
            halo_rate_limit: None,
            ..SimOptions::default()
        },
    )
    .expect("simulator")
}
