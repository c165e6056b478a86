//! Benchmark of the `intune-devices` import against the simulator (issue 4's scenario):
//! 10,000 managed devices across 20 tenants (500 each, 10 of them changed and 10 new per
//! tenant; 250 Halo users per client for the primary-user link), Halo's silent page cap at
//! 100, Halo's rate limit at its hosted default (300 requests / 5 minutes). Runs the release
//! binary as subprocesses, once as one process and once as 3 shards started together, and
//! reports Halo and Graph requests
//! against the lower bound, write POSTs, wall time and the peak RSS of the largest process
//! of the run.
//! Figures are written down in `docs/benchmarks.md`.
//!
//! `cargo bench --bench devices` (optional: `BENCH_LATENCY_MS=40` adds per-request latency).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use halo_integrator::sim::{
    ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_SERIAL, Service,
    SimOptions, Simulator, World,
};

const TENANTS: usize = 20;
const DEVICES_PER_TENANT: usize = 500;
const CHANGED_PER_TENANT: usize = 10;
const NEW_PER_TENANT: usize = 10;
const USERS_PER_TENANT: usize = DEVICES_PER_TENANT / 2;
const HALO_PAGE_CAP: usize = 100;
const GRAPH_PAGE: usize = 999;
const BATCH: usize = 50;

/// Waits for every child; whether all succeeded, and the largest peak RSS (KiB) among
/// them. The peak is the kernel's `VmHWM` of each process, polled until it exits: unlike
/// `getrusage`, whose `ru_maxrss` also counts the (large) bench process the child was
/// forked from, it is the integrator's own memory.
fn wait_with_peak_rss(mut children: Vec<Child>) -> (bool, u64) {
    let mut ok = true;
    let mut peak = 0;
    while !children.is_empty() {
        children.retain_mut(|child| match child.try_wait().expect("try_wait") {
            Some(status) => {
                ok &= status.success();
                false
            }
            None => {
                let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
                let hwm = status.ok().and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                });
                peak = peak.max(hwm.unwrap_or(0));
                true
            }
        });
        std::thread::sleep(Duration::from_millis(2));
    }
    (ok, peak)
}

fn spawn(env: &[(String, String)], shard: Option<(usize, usize)>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_halo-integrator"));
    cmd.arg("run")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null());
    if let Some((count, index)) = shard {
        cmd.env("INTEGRATOR_SHARD_COUNT", count.to_string())
            .env("INTEGRATOR_SHARD_INDEX", index.to_string());
    }
    cmd.spawn().expect("binary starts")
}

fn main() {
    let latency = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // Lower bound L (Halo) = per process 1 token + 1 client page + 1 asset-type read; per
        // tenant asset pages + user pages + write batches (1 create + 1 update in the first
        // sync). Graph L = 1 token + ceil(devices / 999) pages per tenant.
        let per_tenant_reads = (DEVICES_PER_TENANT - NEW_PER_TENANT).div_ceil(HALO_PAGE_CAP)
            + USERS_PER_TENANT.div_ceil(HALO_PAGE_CAP);
        let per_tenant_reads_after = DEVICES_PER_TENANT.div_ceil(HALO_PAGE_CAP)
            + USERS_PER_TENANT.div_ceil(HALO_PAGE_CAP);
        let batches = NEW_PER_TENANT.div_ceil(BATCH) + CHANGED_PER_TENANT.div_ceil(BATCH);
        let graph_bound = TENANTS * (1 + DEVICES_PER_TENANT.div_ceil(GRAPH_PAGE));

        println!(
            "intune-devices benchmark: {TENANTS} tenants x {DEVICES_PER_TENANT} devices ({} total), {} changed, {} new, Halo page cap {HALO_PAGE_CAP}, latency {} ms",
            TENANTS * DEVICES_PER_TENANT,
            TENANTS * CHANGED_PER_TENANT,
            TENANTS * NEW_PER_TENANT,
            latency.as_millis()
        );
        println!(
            "{:<22} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>8} {:>9}",
            "run", "halo", "L", "ratio", "graph", "L", "writes", "wall ms", "peak RSS"
        );
        let opts = SimOptions {
            halo_page_cap: HALO_PAGE_CAP,
            latency,
            ..SimOptions::default()
        };
        for processes in [1usize, 3] {
            let mut world = World::synthetic_devices(TENANTS, DEVICES_PER_TENANT, CHANGED_PER_TENANT, NEW_PER_TENANT);
            let fixed = 3 * processes;
            for (run, bound) in [
                ("first sync", fixed + TENANTS * (per_tenant_reads + batches)),
                ("no change", fixed + TENANTS * per_tenant_reads_after),
            ] {
            // A fresh simulator per run: runs of a CronJob are minutes apart, so each starts
            // with a fresh Halo rate window.
            let sim = Simulator::start(([127, 0, 0, 1], 0).into(), world.clone(), opts.clone())
                .await
                .expect("simulator");
            let mut env = sim.env();
            env.extend(
                [
                    ("INTEGRATOR_IMPORTS", "intune-devices".to_string()),
                    ("INTUNE_FIELD_SERIAL", ASSET_FIELD_SERIAL.to_string()),
                    ("INTUNE_FIELD_MODEL", ASSET_FIELD_MODEL.to_string()),
                    ("INTUNE_FIELD_OS", ASSET_FIELD_OS.to_string()),
                    ("INTUNE_FIELD_LAST_SEEN", ASSET_FIELD_LAST_SEEN.to_string()),
                    ("HALO_BATCH_SIZE", BATCH.to_string()),
                    ("RUST_LOG", "warn".to_string()),
                ]
                .map(|(k, v)| (k.to_string(), v)),
            );
                let started = Instant::now();
                let children: Vec<Child> = (0..processes)
                    .map(|i| spawn(&env, (processes > 1).then_some((processes, i))))
                    .collect();
                let (ok, peak_kib) = wait_with_peak_rss(children);
                assert!(ok, "a run failed");
                let wall = started.elapsed();
                let requests = sim.requests();
                let halo = requests.iter().filter(|r| r.service.is_halo()).count();
                let graph = requests
                    .iter()
                    .filter(|r| matches!(r.service, Service::Graph | Service::EntraAuth))
                    .count();
                let writes = requests
                    .iter()
                    .filter(|r| r.service == Service::HaloApi && r.method == "POST")
                    .count();
                let name = if processes == 1 {
                    format!("1 process, {run}")
                } else {
                    format!("{processes} shards, {run}")
                };
                println!(
                    "{:<22} {:>6} {:>6} {:>6.2} {:>6} {:>6} {:>7} {:>8} {:>5} MiB",
                    name,
                    halo,
                    bound,
                    halo as f64 / bound as f64,
                    graph,
                    graph_bound,
                    writes,
                    wall.as_millis(),
                    peak_kib / 1024
                );
                world = sim.world();
                sim.shutdown();
            }
        }
    });
}
