//! Benchmark of the `entra-users` import against the simulator (issue 3's scenario):
//! 3,000 linked users across 2 tenants, 30 of them changed and 20 new, Halo's silent page
//! cap at 100. Runs the release binary as a subprocess and reports Halo and Graph
//! requests against the lower bound (tokens + pages + write batches), wall time and the
//! binary's peak RSS. Figures are written down in `docs/benchmarks.md`.
//!
//! `cargo bench --bench users` (optional: `BENCH_LATENCY_MS=40` adds per-request latency).

use std::time::{Duration, Instant};

use halo_integrator::sim::{Service, SimOptions, Simulator, World};

const TENANTS: usize = 2;
const LINKED_PER_TENANT: usize = 1500;
const CHANGED_PER_TENANT: usize = 15;
const NEW_PER_TENANT: usize = 10;
const HALO_PAGE_CAP: usize = 100;
const GRAPH_PAGE: usize = 999;
const BATCH: usize = 50;

/// Peak RSS (KiB) of the largest child process waited for so far.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss
}

fn main() {
    let latency = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let world = World::synthetic(TENANTS, LINKED_PER_TENANT + NEW_PER_TENANT, CHANGED_PER_TENANT, NEW_PER_TENANT);
        let opts = SimOptions {
            halo_page_cap: HALO_PAGE_CAP,
            latency,
            ..SimOptions::default()
        };
        let sim = Simulator::start(([127, 0, 0, 1], 0).into(), world, opts).await.expect("simulator");
        let mut env = sim.env();
        env.push(("INTEGRATOR_IMPORTS".into(), "entra-users".into()));
        env.push(("HALO_BATCH_SIZE".into(), BATCH.to_string()));
        env.push(("RUST_LOG".into(), "warn".into()));

        // Lower bound L: 1 Halo token + 1 client page + user pages + write batches;
        // Graph: one token and ceil(users / 999) pages per tenant.
        let halo_pages = TENANTS * LINKED_PER_TENANT.div_ceil(HALO_PAGE_CAP);
        let batches = TENANTS * (NEW_PER_TENANT.div_ceil(BATCH) + CHANGED_PER_TENANT.div_ceil(BATCH));
        let halo_bound_first = 1 + 1 + halo_pages + batches;
        let halo_bound_second = 1 + 1 + TENANTS * (LINKED_PER_TENANT + NEW_PER_TENANT).div_ceil(HALO_PAGE_CAP);
        let graph_bound = TENANTS * (1 + (LINKED_PER_TENANT + NEW_PER_TENANT).div_ceil(GRAPH_PAGE));

        println!("entra-users benchmark: {TENANTS} tenants x {LINKED_PER_TENANT} linked users, {} changed, {} new, Halo page cap {HALO_PAGE_CAP}, latency {} ms",
            TENANTS * CHANGED_PER_TENANT, TENANTS * NEW_PER_TENANT, latency.as_millis());
        println!("{:<12} {:>6} {:>6} {:>8} {:>6} {:>6} {:>8} {:>9} {:>9}", "run", "halo", "L", "ratio", "graph", "L", "writes", "wall ms", "peak RSS");
        for (name, bound) in [("first sync", halo_bound_first), ("no change", halo_bound_second)] {
            sim.clear_requests();
            let started = Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_halo-integrator"))
                .arg("run")
                .env_clear()
                .envs(env.iter().map(|(k, v)| (k, v)))
                .output()
                .expect("binary runs");
            let wall = started.elapsed();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let requests = sim.requests();
            let halo = requests.iter().filter(|r| r.service.is_halo()).count();
            let graph = requests.iter().filter(|r| matches!(r.service, Service::Graph | Service::EntraAuth)).count();
            let writes = requests.iter().filter(|r| r.service == Service::HaloApi && r.method == "POST").count();
            println!(
                "{:<12} {:>6} {:>6} {:>8.2} {:>6} {:>6} {:>8} {:>9} {:>6} MiB",
                name,
                halo,
                bound,
                halo as f64 / bound as f64,
                graph,
                graph_bound,
                writes,
                wall.as_millis(),
                children_peak_rss_kib() / 1024
            );
        }
    });
}
