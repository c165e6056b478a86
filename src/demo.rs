//! The `demo` and `sim` commands: the simulator (`crate::sim`) with the demo seed, and the
//! real pipeline run against it (docs/contracts.md, Commands).

use std::net::SocketAddr;

use crate::config::Config;
use crate::imports::Shutdown;
use crate::metrics::Metrics;
use crate::outcome::exit_code;
use crate::process::{first_signal, metrics_server};
use crate::runner::{self, RunOptions};
use crate::sim::{
    ASSET_FIELD_CSV_KEY, ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_RAM,
    ASSET_FIELD_SERIAL, ASSET_FIELD_TAG, SimOptions, Simulator, World,
};

/// `demo`: the simulator with the demo seed, the real pipeline run twice against it.
/// `metrics` prints the metrics of both runs; `keep_running` keeps the simulator and
/// `/metrics` up until Ctrl-C. Returns the exit code.
pub async fn demo(metrics_at_end: bool, keep_running: bool) -> i32 {
    let sim = match Simulator::start(
        ([127, 0, 0, 1], 0).into(),
        World::demo(),
        SimOptions::default(),
    )
    .await
    {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("halo-integrator demo: cannot start the simulator: {e}");
            return 1;
        }
    };
    let mut vars = sim.env();
    vars.extend(
        [
            ("INTEGRATOR_DEACTIVATE_MISSING", "true"),
            ("INTEGRATOR_LOG_FORMAT", "text"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    // Telemetry settings pass through, so the demo can feed a local monitoring stack.
    vars.extend(
        std::env::vars()
            .filter(|(k, _)| k == "INTEGRATOR_PUSHGATEWAY_URL" || k == "INTEGRATOR_METRICS_ADDR"),
    );
    // The bundled example files, written where the demo can read them wherever it runs.
    let csv_dir = std::env::temp_dir().join(format!("halo-integrator-demo-{}", std::process::id()));
    let csv_path = csv_dir.join("assets.csv");
    let mapping_path = csv_dir.join("mapping.yaml");
    let written = std::fs::create_dir_all(&csv_dir)
        .and_then(|()| std::fs::write(&csv_path, DEMO_ASSETS_CSV))
        .and_then(|()| std::fs::write(&mapping_path, DEMO_MAPPING));
    if let Err(e) = written {
        eprintln!(
            "halo-integrator demo: cannot write to {}: {e}",
            csv_dir.display()
        );
        return 1;
    }
    vars.extend(demo_imports_env(&csv_path));
    vars.push((
        "INTEGRATOR_CONFIG_FILE".into(),
        mapping_path.display().to_string(),
    ));
    let config = match Config::from_vars(vars) {
        Ok((config, _)) => config,
        Err(e) => {
            eprintln!("halo-integrator demo: {e}");
            return 2;
        }
    };
    let world = sim.world();
    println!(
        "Simulated HaloPSA + Microsoft Entra ID + Intune at http://{} — {} Halo clients, {} Entra tenants, {} Entra users, {} Intune devices, {} Halo users, {} Halo assets.",
        sim.addr(),
        world.halo.clients.len(),
        world.entra.tenants.len(),
        world
            .entra
            .tenants
            .iter()
            .map(|t| t.users.len())
            .sum::<usize>(),
        world
            .entra
            .tenants
            .iter()
            .map(|t| t.devices.len())
            .sum::<usize>(),
        world.halo.users.len(),
        world.halo.assets.len(),
    );
    println!(
        "Running `halo-integrator run` against it (INTEGRATOR_DEACTIVATE_MISSING=true, the mapping file deploy/examples/mapping.yaml)...\n"
    );
    let metrics = Metrics::new();
    let server = metrics_server(
        Some(config.metrics_addr.unwrap_or(([127, 0, 0, 1], 0).into())),
        &metrics,
    )
    .await;
    let shutdown = Shutdown::default();
    let first = runner::run(&config, &RunOptions::default(), &metrics, &shutdown).await;
    print!("{}", runner::render_summary(&first));
    print!("{}", placement(&sim.world()));
    let first_halo = first.halo_requests;
    let first_graph = first.graph_requests;

    println!("\nRunning it again: the source has not changed, so nothing should be written...\n");
    let second = runner::run(&config, &RunOptions::default(), &metrics, &shutdown).await;
    let writes: usize = second
        .imports
        .iter()
        .map(|i| {
            let a = i.applied();
            a.created + a.updated + a.reactivated + a.deactivated
        })
        .sum();
    println!(
        "second run: {writes} writes, {} Halo and {} Graph requests, {:.1}s",
        second.halo_requests - first_halo,
        second.graph_requests - first_graph,
        second.duration.as_secs_f64()
    );
    if let Some(server) = &server {
        println!("\n/metrics of these runs: http://{}/metrics", server.addr());
    }
    if metrics_at_end {
        println!(
            "\nPrometheus metrics of both runs (what /metrics and the Pushgateway receive):\n"
        );
        print!("{}", metrics.encode());
    } else {
        println!(
            "(`demo --metrics` prints them; `demo --keep-running` keeps the simulator and /metrics up.)"
        );
    }
    if keep_running {
        println!("\nThe simulator and /metrics keep running; Ctrl-C stops them.");
        first_signal().await;
    }
    if let Some(server) = server {
        server.stop();
    }
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&csv_dir);
    exit_code(first.severity().max(second.severity()), None)
}

/// Where the mapping file put things, as the simulated Halo holds them now: each active
/// client's users per site and assets per type.
fn placement(world: &World) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut out = String::from("\nplaced by the mapping file (as Halo holds them now):\n");
    for client in world.halo.clients.iter().filter(|c| !c.inactive) {
        let mut sites: BTreeMap<&str, usize> = BTreeMap::new();
        for u in world
            .halo
            .users
            .iter()
            .filter(|u| u.client_id == client.id && !u.inactive)
        {
            let site = world.halo.sites.iter().find(|s| s.id == u.site_id);
            *sites
                .entry(site.map_or("?", |s| s.name.as_str()))
                .or_default() += 1;
        }
        let mut types: BTreeMap<&str, usize> = BTreeMap::new();
        for a in world
            .halo
            .assets
            .iter()
            .filter(|a| a.client_id == client.id && !a.inactive)
        {
            let t = world
                .halo
                .asset_types
                .iter()
                .find(|t| t.id == a.assettype_id);
            *types.entry(t.map_or("?", |t| t.name.as_str())).or_default() += 1;
        }
        let list = |m: &BTreeMap<&str, usize>| {
            m.iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  {}: users {}; assets {}",
            client.name,
            list(&sites),
            list(&types)
        );
    }
    out
}

/// `deploy/examples/mapping.yaml`, the demo's mapping file: users on their branch sites,
/// custom fields, phones typed "Mobile Phone".
const DEMO_MAPPING: &[u8] = include_bytes!("../deploy/examples/mapping.yaml");

/// `deploy/examples/assets.csv`, the file the demo's csv-assets import reads.
const DEMO_ASSETS_CSV: &[u8] = include_bytes!("../deploy/examples/assets.csv");

/// The three demo imports: the `INTUNE_FIELD_*` ids of the simulator's standard asset
/// fields, and csv-assets reading `csv_path` (the bundled example file).
fn demo_imports_env(csv_path: &std::path::Path) -> Vec<(String, String)> {
    [
        (
            "INTEGRATOR_IMPORTS",
            "entra-users,intune-devices,csv-assets".to_string(),
        ),
        ("INTUNE_FIELD_SERIAL", ASSET_FIELD_SERIAL.to_string()),
        ("INTUNE_FIELD_MODEL", ASSET_FIELD_MODEL.to_string()),
        ("INTUNE_FIELD_OS", ASSET_FIELD_OS.to_string()),
        ("INTUNE_FIELD_LAST_SEEN", ASSET_FIELD_LAST_SEEN.to_string()),
        ("CSV_ASSETS_PATH", csv_path.display().to_string()),
        (
            "CSV_ASSETS_COLUMNS",
            format!(
                "inventory_number=Asset Tag,serial=Serial,field:{ASSET_FIELD_TAG}=Serial,client=Customer,type=Type,field:{ASSET_FIELD_RAM}=RAM"
            ),
        ),
        ("CSV_ASSETS_LINK_FIELD", ASSET_FIELD_CSV_KEY.to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into()
}

/// `sim`: serves the simulator seeded with `world` at `listen` and prints the variables
/// that point `run` at it, until Ctrl-C. Returns the exit code.
pub async fn sim(listen: SocketAddr, world: World) -> i32 {
    let sim = match Simulator::start(listen, world, SimOptions::default()).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("halo-integrator sim: cannot listen on {listen}: {e}");
            return 1;
        }
    };
    println!(
        "Simulated HaloPSA + Entra + Graph listening on http://{}",
        sim.addr()
    );
    println!("Use it from another shell with:\n");
    for (k, v) in sim.env() {
        println!("  export {k}='{v}'");
    }
    // From the repository root; elsewhere, point CSV_ASSETS_PATH at a copy of the file.
    for (k, v) in demo_imports_env(std::path::Path::new("deploy/examples/assets.csv")) {
        println!("  export {k}='{v}'");
    }
    println!();
    println!(
        "Control API: GET /_sim/world, GET /_sim/requests, POST /_sim/faults, DELETE /_sim/faults."
    );
    println!("Ctrl-C stops it.");
    first_signal().await;
    sim.shutdown();
    0
}
