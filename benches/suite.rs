//! The benchmark suite: the release binary against the simulator under
//! realistic conditions — 40 ms per request, Halo's page cap of 100 (and 1000, as some
//! instances serve), Graph pages of 999, Halo's rate limit of 300 requests per rolling 5
//! minutes on an accelerated clock — for 1k / 10k / 100k users with 1% changed (each read
//! the way `entra-users` really reads: the link report plus the list pages), 10k and 100k
//! devices, both imports of 100k in one run, and a no-change run; each compared with the
//! lower bound L and with the per-record pattern of community scripts. One devices scenario
//! has new devices, whose primary users make the run read the client's Halo users. Prints a table and
//! writes it to `docs/benchmark-results.md` (the method is in `docs/benchmarks.md`).
//!
//! `cargo bench --bench suite` (all scenarios, about 6 minutes) or
//! `cargo bench --bench suite -- users-1k devices-10k` (only those; results file untouched).

mod harness;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use halo_integrator::sim::{
    ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_SERIAL, SimOptions,
    Simulator, World,
};
use harness::{HALO_LIMIT, HALO_WINDOW, Measured, Step, human};

const LATENCY: Duration = Duration::from_millis(40);
/// Halo's usual silent page cap; [`CAP_1000`] scenarios use an instance serving 1000.
const HALO_PAGE: usize = 100;
const CAP_1000: usize = 1000;
const GRAPH_PAGE: usize = 999;
/// `HALO_BATCH_SIZE` default.
const BATCH: usize = 50;
/// The clock acceleration: simulator and client both count Halo's 300 requests per
/// 300 s / 60 = 5 s. At 40 ms per request 300 requests take at least 12 s, so this window
/// never fills and the simulated clock adds Halo's real waits exactly (see
/// [`harness::simulated_clock`]); a client that sent too fast would still draw 429s.
const ACCELERATION: u64 = 60;
const RESULTS: &str = "docs/benchmark-results.md";

/// What a scenario syncs.
#[derive(Clone, Copy)]
enum Kind {
    /// One tenant with this many users, 1% of them changed in the source.
    Users(usize),
    /// `tenants` tenants of `per_tenant` devices each, 1% changed (OS version) and `new`
    /// per tenant not yet in Halo; half as many users per client for the primary-user link
    /// (read only when there are new devices).
    Devices {
        tenants: usize,
        per_tenant: usize,
        new: usize,
    },
    /// One tenant with this many users and as many devices, 1% of each changed, synced by
    /// `entra-users` and `intune-devices` in one run.
    Both(usize),
}

struct Scenario {
    name: &'static str,
    kind: Kind,
    /// Run a second time after the first run's writes: nothing left to change.
    no_change: bool,
    /// Halo's page cap.
    halo_page: usize,
}

const fn scenario(name: &'static str, kind: Kind, halo_page: usize) -> Scenario {
    Scenario {
        name,
        kind,
        no_change: false,
        halo_page,
    }
}

const SCENARIOS: &[Scenario] = &[
    scenario("users-1k", Kind::Users(1_000), HALO_PAGE),
    scenario("users-10k", Kind::Users(10_000), HALO_PAGE),
    Scenario {
        no_change: true,
        ..scenario("users-10k-no-change", Kind::Users(10_000), HALO_PAGE)
    },
    scenario("users-100k", Kind::Users(100_000), HALO_PAGE),
    scenario("users-100k-cap1000", Kind::Users(100_000), CAP_1000),
    scenario("devices-10k", DEVICES_10K, HALO_PAGE),
    scenario("devices-10k-new", DEVICES_10K_NEW, HALO_PAGE),
    scenario("devices-100k", DEVICES_100K, HALO_PAGE),
    scenario("devices-100k-cap1000", DEVICES_100K, CAP_1000),
    scenario("both-100k", Kind::Both(100_000), HALO_PAGE),
    scenario("both-100k-cap1000", Kind::Both(100_000), CAP_1000),
];

/// 20 tenants of 500 devices: the issue-4 scenario.
const DEVICES_10K: Kind = Kind::Devices {
    tenants: 20,
    per_tenant: 500,
    new: 0,
};
/// The same with 10 new devices per tenant (2%): their primary users are looked up among
/// the client's Halo users, which are read only then.
const DEVICES_10K_NEW: Kind = Kind::Devices {
    tenants: 20,
    per_tenant: 500,
    new: 10,
};
/// One tenant of 100k devices: the worst case for memory, as for users.
const DEVICES_100K: Kind = Kind::Devices {
    tenants: 1,
    per_tenant: 100_000,
    new: 0,
};

fn intune_env() -> Vec<(&'static str, String)> {
    vec![
        ("INTUNE_FIELD_SERIAL", ASSET_FIELD_SERIAL.to_string()),
        ("INTUNE_FIELD_MODEL", ASSET_FIELD_MODEL.to_string()),
        ("INTUNE_FIELD_OS", ASSET_FIELD_OS.to_string()),
        ("INTUNE_FIELD_LAST_SEEN", ASSET_FIELD_LAST_SEEN.to_string()),
    ]
}

impl Kind {
    fn world(self) -> World {
        match self {
            Kind::Users(n) => World::synthetic(1, n, n / 100, 0),
            Kind::Devices {
                tenants,
                per_tenant,
                new,
            } => World::synthetic_devices(tenants, per_tenant, per_tenant / 100, new),
            Kind::Both(n) => World::synthetic(1, n, n / 100, 0).with_devices(n, n / 100, 0),
        }
    }

    fn records(self) -> usize {
        match self {
            Kind::Users(n) => n,
            Kind::Devices {
                tenants,
                per_tenant,
                ..
            } => tenants * per_tenant,
            Kind::Both(n) => 2 * n,
        }
    }

    fn env(self) -> Vec<(&'static str, String)> {
        let imports = match self {
            Kind::Users(_) => return vec![("INTEGRATOR_IMPORTS", "entra-users".into())],
            Kind::Devices { .. } => "intune-devices",
            Kind::Both(_) => "entra-users,intune-devices",
        };
        let mut env = intune_env();
        env.push(("INTEGRATOR_IMPORTS", imports.into()));
        env
    }

    /// Lower bound (Halo, Graph): tokens + list pages + link reports + write batches, with
    /// Halo pages of `page` records.
    fn bound(self, no_change: bool, page: usize) -> (usize, usize) {
        let batches = |changed: usize| {
            if no_change {
                0
            } else {
                changed.div_ceil(BATCH)
            }
        };
        // The users of one client as `entra-users` reads them: the link report (`Users_List`
        // has no `azureoid`), the user pages, the update batches.
        let users = |n: usize| 1 + n.div_ceil(page) + batches(n / 100);
        // The devices of one client (`new` of them not yet in Halo): asset pages, user pages
        // only when there are creates (the primary-user link is written on create only),
        // update and create batches.
        let devices = |n: usize, new: usize, users: usize| {
            let user_pages = if new > 0 && !no_change {
                users.div_ceil(page)
            } else {
                0
            };
            (n - new).div_ceil(page) + user_pages + batches(n / 100) + batches(new)
        };
        let graph = |n: usize| n.div_ceil(GRAPH_PAGE);
        match self {
            // Halo: token + client page; Graph: token + pages.
            Kind::Users(n) => (2 + users(n), 1 + graph(n)),
            // Halo: token + client page + asset-type read; Graph: token + pages per tenant.
            Kind::Devices {
                tenants,
                per_tenant,
                new,
            } => (
                3 + tenants * devices(per_tenant, new, (per_tenant / 2).max(1)),
                tenants * (1 + graph(per_tenant)),
            ),
            // Both imports: one Halo token, client page and asset-type read; one Graph token
            // for the tenant.
            Kind::Both(n) => (3 + users(n) + devices(n, 0, n), 1 + 2 * graph(n)),
        }
    }

    /// Halo requests of the per-record pattern: a token and the client list (plus the
    /// asset-type read for devices), then one lookup and one write per record. Verified
    /// against a real run at 1k users ([`per_record_users`]).
    fn per_record(self) -> usize {
        let fixed = match self {
            Kind::Users(_) => 2,
            Kind::Devices { .. } | Kind::Both(_) => 3,
        };
        fixed + 2 * self.records()
    }
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let load_before = harness::load_average();
    let started = Instant::now();
    let base_opts = SimOptions {
        halo_page_cap: HALO_PAGE,
        graph_page_cap: GRAPH_PAGE,
        halo_rate_limit: Some((HALO_LIMIT as u32, HALO_WINDOW / ACCELERATION as u32)),
        latency: LATENCY,
        ..SimOptions::default()
    };

    let measured_per_record = Kind::Users(1_000).per_record();
    let per_record_run = per_record_users(1_000);
    assert_eq!(
        per_record_run, measured_per_record,
        "the per-record formula must match the per-record client"
    );

    let mut rows = Vec::new();
    for scenario in SCENARIOS
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
    {
        let opts = SimOptions {
            halo_page_cap: scenario.halo_page,
            ..base_opts.clone()
        };
        let sim =
            Simulator::start_on_thread(([127, 0, 0, 1], 0).into(), scenario.kind.world(), opts)
                .expect("simulator");
        let mut env = sim.env();
        env.extend(
            scenario
                .kind
                .env()
                .into_iter()
                .chain([
                    (
                        "HALO_RATE_LIMIT_WINDOW_SECONDS",
                        (HALO_WINDOW.as_secs() / ACCELERATION).to_string(),
                    ),
                    ("RUST_LOG", "info".into()),
                    ("INTEGRATOR_LOG_FORMAT", "json".into()),
                ])
                .map(|(k, v)| (k.to_string(), v)),
        );
        if scenario.no_change {
            harness::run(&sim, &env, &[Vec::new()]);
        }
        let m = harness::run(&sim, &env, &[Vec::new()]);
        sim.shutdown();
        assert_eq!(
            m.throttled, 0,
            "{}: the client was throttled",
            scenario.name
        );
        let row = Row::new(scenario, m);
        println!("{}", row.markdown());
        rows.push(row);
    }

    // As on this machine (the bundle and a directory of ~300 certificate files), and as in
    // the image, whose certificate store is the bundle alone.
    let empty_dir = tempfile::tempdir().expect("empty directory");
    let image_certs = [
        (
            "SSL_CERT_FILE",
            "/etc/ssl/certs/ca-certificates.crt".to_string(),
        ),
        ("SSL_CERT_DIR", empty_dir.path().display().to_string()),
    ];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (host_min, host_median) = startup(&[]);
    let (image_min, image_median) = startup(&image_certs);
    let startup = format!(
        "Startup to first request over {STARTUP_RUNS} runs of a 10-user tenant: min {:.1} ms, \
         median {:.1} ms with this machine's certificate store (bundle + ~300 files in \
         /etc/ssl/certs); min {:.1} ms, median {:.1} ms with the image's (the bundle only).",
        ms(host_min),
        ms(host_median),
        ms(image_min),
        ms(image_median),
    );
    let table = table(&rows);
    println!("\n{table}\n{startup}");
    if only.is_empty() {
        let binary = match std::env::var("BENCH_BINARY") {
            Ok(path) => format!("`{path}` (`BENCH_BINARY`)"),
            Err(_) => "this build's release binary (glibc)".into(),
        };
        let text = format!(
            "# Benchmark results\n\n\
             Written by `cargo bench --bench suite` (method, targets and analysis: \
             [benchmarks.md](benchmarks.md)). Binary measured: {binary}. 2 cores; load average \
             (1, 5, 15 min) {load_before} before and {} after the suite (other builds ran on \
             the machine), {} in all. The per-record pattern was run for 1k users ({measured_per_record} \
             Halo requests, as its formula says) and is extrapolated by the formula for the \
             other rows; its simulated clock is its requests at 40 ms each under Halo's limit.\n\n\
             {table}\n{startup}\n",
            harness::load_average(),
            human(started.elapsed()),
        );
        std::fs::write(RESULTS, text).expect("results file written");
        println!("written to {RESULTS}");
    }
}

/// Runs measured for startup alone.
const STARTUP_RUNS: usize = 15;

/// Time from spawn to the first request (min, median) over [`STARTUP_RUNS`] runs of a
/// 10-user tenant without latency, with the variables `extra`.
fn startup(extra: &[(&str, String)]) -> (Duration, Duration) {
    let sim = Simulator::start_on_thread(
        ([127, 0, 0, 1], 0).into(),
        World::synthetic(1, 10, 0, 0),
        SimOptions::default(),
    )
    .expect("simulator");
    let mut env = sim.env();
    env.extend(
        [("INTEGRATOR_IMPORTS", "entra-users"), ("RUST_LOG", "warn")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into_iter()
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.clone()))),
    );
    let mut times: Vec<Duration> = (0..STARTUP_RUNS)
        .map(|_| harness::run(&sim, &env, &[Vec::new()]).startup)
        .collect();
    sim.shutdown();
    times.sort();
    (times[0], times[STARTUP_RUNS / 2])
}

/// One line of the table.
struct Row {
    name: &'static str,
    halo_bound: usize,
    graph_bound: usize,
    per_record: usize,
    per_record_clock: Duration,
    m: Measured,
}

impl Row {
    fn new(scenario: &Scenario, m: Measured) -> Row {
        let (halo_bound, graph_bound) = scenario.kind.bound(scenario.no_change, scenario.halo_page);
        let per_record = scenario.kind.per_record();
        // The per-record script: sequential requests of 40 ms each, paced by Halo's window,
        // with the same Graph reads as ours.
        let steps: Vec<Step> = std::iter::repeat_n(false, m.graph)
            .chain(std::iter::repeat_n(true, per_record))
            .map(|halo| Step {
                gap: Duration::ZERO,
                duration: LATENCY,
                halo,
            })
            .collect();
        Row {
            name: scenario.name,
            halo_bound,
            graph_bound,
            per_record,
            per_record_clock: harness::simulated_clock(&steps, Duration::ZERO),
            m,
        }
    }

    fn markdown(&self) -> String {
        let m = &self.m;
        format!(
            "| {} | {} | {} | {:.2} | {} | {} | {:.2} | {} | {:.0}× | {} | {} | {} | {:.1} ms | {:.3} s | {:.2} s | {:.1} MiB |",
            self.name,
            m.halo,
            self.halo_bound,
            m.halo as f64 / self.halo_bound as f64,
            m.graph,
            self.graph_bound,
            m.graph as f64 / self.graph_bound as f64,
            self.per_record,
            self.per_record as f64 / m.halo as f64,
            human(m.wall),
            human(m.simulated),
            human(self.per_record_clock),
            m.startup.as_secs_f64() * 1000.0,
            m.plan_cpu.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.peak_rss_kib as f64 / 1024.0,
        )
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | Halo requests | Halo L | ratio | Graph requests | Graph L | ratio | per-record Halo requests | per-record / ours | wall (real) | simulated clock | per-record simulated clock | startup to first request | plan CPU | process CPU | peak RSS |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let _ = writeln!(out, "{}", row.markdown());
    }
    out
}

/// Runs the per-record pattern for `n` users (1% changed) against a simulator without
/// latency or rate limit (only its requests are counted) and returns its Halo requests:
/// a token, the client list, then per source user one lookup by e-mail and one write.
fn per_record_users(n: usize) -> usize {
    let world = Kind::Users(n).world();
    let users = world.entra.tenants[0].users.clone();
    let sim = harness::unthrottled_simulator(world);
    let base = sim.base_url();
    let env = sim.env();
    let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let token: serde_json::Value = http
            .post(format!("{base}/auth/token"))
            .form(&[
                ("grant_type", "client_credentials".to_string()),
                ("client_id", var("HALO_CLIENT_ID").unwrap_or_default()),
                (
                    "client_secret",
                    var("HALO_CLIENT_SECRET").unwrap_or_default(),
                ),
                ("scope", "all".to_string()),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token body");
        let bearer = token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let get = |url: String| http.get(url).bearer_auth(&bearer).send();
        let clients: serde_json::Value = get(format!("{base}/api/Client"))
            .await
            .expect("clients")
            .json()
            .await
            .expect("clients body");
        let client_id = clients["clients"][0]["id"].as_i64().unwrap_or_default();
        for user in &users {
            let found: serde_json::Value = get(format!(
                "{base}/api/Users?client_id={client_id}&search={}",
                user.user_principal_name
            ))
            .await
            .expect("lookup")
            .json()
            .await
            .expect("lookup body");
            let id = found["users"][0]["id"].as_i64();
            let record = serde_json::json!([{
                "id": id,
                "client_id": client_id,
                "name": user.display_name,
                "emailaddress": user.user_principal_name,
                "title": user.job_title,
                "azureoid": user.id,
            }]);
            http.post(format!("{base}/api/Users"))
                .bearer_auth(&bearer)
                .json(&record)
                .send()
                .await
                .expect("write")
                .error_for_status()
                .expect("write accepted");
        }
    });
    let halo = sim
        .requests()
        .iter()
        .filter(|r| r.service.is_halo())
        .count();
    sim.shutdown();
    halo
}
