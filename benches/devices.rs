//! Benchmark of the `intune-devices` import against the simulator, one process vs 3 shards:
//! 10,000 managed devices across 20 tenants (500 each, 10 of them changed and 10 new per
//! tenant; 250 Halo users per client for the primary-user link), Halo's silent page cap at
//! 100, Halo's rate limit at its hosted default (300 requests / 5 minutes). Runs the release
//! binary once as one process and once as 3 shards started together, and reports Halo and
//! Graph requests against the lower bound, write POSTs, wall time and the peak RSS of the
//! largest process of the run. Figures are written down in `docs/benchmarks.md`.
//!
//! `cargo bench --bench devices` (optional: `BENCH_LATENCY_MS=40` adds per-request latency).

mod harness;

use std::time::Duration;

use halo_integrator::sim::{
    ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_SERIAL, SimOptions,
    Simulator, World,
};

const TENANTS: usize = 20;
const DEVICES_PER_TENANT: usize = 500;
const CHANGED_PER_TENANT: usize = 10;
const NEW_PER_TENANT: usize = 10;
const USERS_PER_TENANT: usize = DEVICES_PER_TENANT / 2;
const HALO_PAGE_CAP: usize = 100;
const GRAPH_PAGE: usize = 999;
const BATCH: usize = 50;

fn main() {
    let latency = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    // Lower bound L (Halo) = per process 1 token + 1 client page + 1 asset-type read; per
    // tenant asset pages + user pages (only when there are new devices: the primary user is
    // written on create only) + write batches (1 create + 1 update in the first sync).
    // Graph L = 1 token + ceil(devices / 999) pages per tenant.
    let per_tenant_reads = (DEVICES_PER_TENANT - NEW_PER_TENANT).div_ceil(HALO_PAGE_CAP)
        + USERS_PER_TENANT.div_ceil(HALO_PAGE_CAP);
    let per_tenant_reads_after = DEVICES_PER_TENANT.div_ceil(HALO_PAGE_CAP);
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
        let mut world = World::synthetic_devices(
            TENANTS,
            DEVICES_PER_TENANT,
            CHANGED_PER_TENANT,
            NEW_PER_TENANT,
        );
        let fixed = 3 * processes;
        for (run, bound) in [
            ("first sync", fixed + TENANTS * (per_tenant_reads + batches)),
            ("no change", fixed + TENANTS * per_tenant_reads_after),
        ] {
            // A fresh simulator per run: runs of a CronJob are minutes apart, so each starts
            // with a fresh Halo rate window.
            let sim = Simulator::start_on_thread(([127, 0, 0, 1], 0).into(), world, opts.clone())
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
            let shards: Vec<harness::ProcessEnv> = (0..processes)
                .map(|i| {
                    if processes == 1 {
                        Vec::new()
                    } else {
                        vec![
                            ("INTEGRATOR_SHARD_COUNT".into(), processes.to_string()),
                            ("INTEGRATOR_SHARD_INDEX".into(), i.to_string()),
                        ]
                    }
                })
                .collect();
            let m = harness::run(&sim, &env, &shards);
            let name = if processes == 1 {
                format!("1 process, {run}")
            } else {
                format!("{processes} shards, {run}")
            };
            println!(
                "{:<22} {:>6} {:>6} {:>6.2} {:>6} {:>6} {:>7} {:>8} {:>5} MiB",
                name,
                m.halo,
                bound,
                m.halo as f64 / bound as f64,
                m.graph,
                graph_bound,
                m.writes,
                m.wall.as_millis(),
                m.peak_rss_kib / 1024
            );
            world = sim.world();
            sim.shutdown();
        }
    }
}
