//! The `halo-integrator` command line: parse arguments, load the configuration, install
//! logging, run, and map the outcome to an exit code (docs/contracts.md, Commands and
//! Exit codes).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use halo_integrator::config::{Config, LogFormat, vars};
use halo_integrator::imports::Shutdown;
use halo_integrator::metrics::Metrics;
use halo_integrator::outcome::{Severity, exit_code};
use halo_integrator::runner::{self, RunOptions};
use halo_integrator::sim::{
    ASSET_FIELD_CSV_KEY, ASSET_FIELD_LAST_SEEN, ASSET_FIELD_MODEL, ASSET_FIELD_OS, ASSET_FIELD_RAM,
    ASSET_FIELD_SERIAL, ASSET_FIELD_TAG, SimOptions, Simulator, World,
};
use halo_integrator::telemetry;
use halo_integrator::telemetry::serve::MetricsServer;

/// How long in-flight work may take to stop after SIGTERM/SIGINT before the process
/// exits anyway (Kubernetes' default grace period is 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

#[derive(Parser)]
#[command(
    name = "halo-integrator",
    version,
    about = "Keeps HaloPSA in sync with Microsoft Entra ID: a Kubernetes-native Halo Integrator.",
    after_help = "Configuration comes from environment variables (HALO_URL, HALO_CLIENT_ID, \
                  HALO_CLIENT_SECRET, INTEGRATOR_IMPORTS, ENTRA_*...); see the README.\n\
                  Exit codes: 0 ok, 1 an import failed, 2 configuration or credentials invalid, \
                  3 some records or tenants failed, 4 a safety threshold stopped deactivations, \
                  130/143 interrupted."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every enabled import (the default command).
    Run(RunArgs),
    /// Validate the configuration, authenticate to Halo and every source, read one page
    /// of each; write nothing.
    Check(Scope),
    /// Start the simulated Halo + Graph with seeded data and run the real pipeline
    /// against it, twice (the second run shows that nothing changes).
    Demo(DemoArgs),
    /// Serve the simulated Halo + Graph, for trying `run` by hand.
    Sim(SimArgs),
    /// List the environment variables this build reads, tab-separated: name, default,
    /// whether a secret (then NAME_FILE works too), imports, reader.
    Vars,
}

#[derive(Args, Default)]
struct Scope {
    /// Only this import (repeatable); it must be enabled in INTEGRATOR_IMPORTS.
    #[arg(long = "import", value_name = "NAME")]
    imports: Vec<String>,
    /// Only this Entra tenant id (repeatable).
    #[arg(long = "tenant", value_name = "ID")]
    tenants: Vec<String>,
}

#[derive(Args, Default)]
struct RunArgs {
    /// Read everything and print the plan; write nothing (also INTEGRATOR_DRY_RUN=true).
    #[arg(long)]
    dry_run: bool,
    /// Write the full plan (every record, action and changed field) as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    plan_file: Option<PathBuf>,
    #[command(flatten)]
    scope: Scope,
}

#[derive(Args)]
struct DemoArgs {
    /// Print the full Prometheus metrics of the demo runs at the end.
    #[arg(long)]
    metrics: bool,
    /// Keep the simulator and /metrics running after the demo, until Ctrl-C.
    #[arg(long)]
    keep_running: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Seed {
    /// A small MSP: a few clients and tenants, a few hundred users.
    Demo,
    /// Nothing: clients and users are added through the control API.
    Empty,
}

#[derive(Args)]
struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[arg(long, value_enum, default_value = "demo")]
    seed: Seed,
}

/// On glibc (a host build; the image is musl, whose allocator has neither behaviour): one
/// malloc arena instead of one per thread, and a fixed mmap threshold, so that the large
/// buffers a run frees (response bodies of up to a few MB) go back to the system instead of
/// staying in a thread's heap, which glibc's dynamic threshold would do. Measured at 100k
/// users: peak RSS 87 MB → 71 MB. The run is I/O-bound on two threads: one arena costs no
/// measurable time.
#[cfg(target_env = "gnu")]
fn tune_allocator() {
    const LARGE: libc::c_int = 128 * 1024;
    // SAFETY: mallopt only sets allocator parameters; called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE);
        libc::mallopt(libc::M_TRIM_THRESHOLD, LARGE);
    }
}

#[cfg(not(target_env = "gnu"))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default()));
    // Telemetry is installed before the async runtime starts and flushed after it ends:
    // the OTLP exporter's HTTP client is a blocking one with its own thread.
    let (config, telemetry) = match &command {
        Command::Run(_) | Command::Check(_) => match Config::from_env() {
            Ok((config, warnings)) => {
                let telemetry = telemetry::init(config.log_format, "info");
                for w in warnings {
                    tracing::warn!("{w}");
                }
                (Some(config), telemetry)
            }
            Err(e) => {
                eprintln!("halo-integrator: {e}");
                return ExitCode::from(2);
            }
        },
        // Readable by default: warnings and errors only, as text (RUST_LOG overrides).
        Command::Demo(_) => (None, telemetry::init(LogFormat::Text, "warn")),
        Command::Sim(_) => (None, telemetry::init(LogFormat::Text, "info")),
        Command::Vars => {
            print!("{}", vars::render());
            return ExitCode::SUCCESS;
        }
    };
    let code = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async {
            match (command, config) {
                (Command::Run(args), Some(config)) => run(config, args).await,
                (Command::Check(scope), Some(config)) => check(config, scope).await,
                (Command::Demo(args), _) => demo(args).await,
                (Command::Sim(args), _) => sim(args).await,
                (Command::Run(_) | Command::Check(_), None) | (Command::Vars, _) => 2,
            }
        }),
        Err(e) => {
            eprintln!("halo-integrator: cannot start the async runtime: {e}");
            1
        }
    };
    telemetry.shutdown();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Serves `/metrics` at `addr` for the length of a run; a port that cannot be bound is
/// logged and the run goes on without it.
async fn metrics_server(addr: Option<SocketAddr>, metrics: &Metrics) -> Option<MetricsServer> {
    let addr = addr?;
    match MetricsServer::start(addr, metrics.clone()).await {
        Ok(server) => Some(server),
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve /metrics; continuing without it");
            None
        }
    }
}

/// Resolves to the number of the first SIGTERM (15) or SIGINT (2).
async fn first_signal() -> i32 {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => 15,
        _ = int.recv() => 2,
    }
}

async fn run(config: Config, args: RunArgs) -> i32 {
    let opts = RunOptions {
        dry_run: args.dry_run,
        imports: args.scope.imports,
        tenants: args.scope.tenants,
        plan_file: args.plan_file,
    };
    let metrics = Metrics::new();
    let server = metrics_server(config.metrics_addr, &metrics).await;
    let shutdown = Shutdown::default();
    let (signal_tx, mut signal_rx) = watch::channel(None::<i32>);
    let watcher = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let sig = first_signal().await;
            tracing::warn!(
                signal = sig,
                "signal received: finishing the request in flight, starting nothing new"
            );
            shutdown.request();
            let _ = signal_tx.send(Some(sig));
        })
    };
    let grace_over = async {
        let sig = loop {
            if let Some(sig) = *signal_rx.borrow_and_update() {
                break sig;
            }
            if signal_rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        };
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        sig
    };
    let report = tokio::select! {
        report = runner::run(&config, &opts, &metrics, &shutdown) => report,
        sig = grace_over => {
            tracing::error!(grace_seconds = SHUTDOWN_GRACE.as_secs(), "in-flight work did not stop within the grace period; exiting");
            return exit_code(Severity::Interrupted, Some(sig));
        }
    };
    watcher.abort();
    if let Some(server) = server {
        server.stop();
    }
    let signal = *signal_rx.borrow();
    let mut severity = report.severity();
    if signal.is_some() {
        severity = severity.max(Severity::Interrupted);
    }
    print!("{}", runner::render_summary(&report));
    exit_code(severity, signal)
}

async fn check(config: Config, scope: Scope) -> i32 {
    println!(
        "ok   configuration: imports {}",
        config
            .imports
            .iter()
            .map(|e| e.kind().name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let opts = RunOptions {
        imports: scope.imports,
        tenants: scope.tenants,
        ..RunOptions::default()
    };
    let (report, ok) = halo_integrator::check::check(&config, &opts, &Metrics::new()).await;
    print!("{report}");
    if ok { 0 } else { 2 }
}

async fn demo(args: DemoArgs) -> i32 {
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
    // The bundled example file, written where the demo can read it wherever it runs.
    let csv_dir = std::env::temp_dir().join(format!("halo-integrator-demo-{}", std::process::id()));
    let csv_path = csv_dir.join("assets.csv");
    if let Err(e) =
        std::fs::create_dir_all(&csv_dir).and_then(|()| std::fs::write(&csv_path, DEMO_ASSETS_CSV))
    {
        eprintln!(
            "halo-integrator demo: cannot write {}: {e}",
            csv_path.display()
        );
        return 1;
    }
    vars.extend(demo_imports_env(&csv_path));
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
    println!("Running `halo-integrator run` against it (INTEGRATOR_DEACTIVATE_MISSING=true)...\n");
    let metrics = Metrics::new();
    let server = metrics_server(
        Some(config.metrics_addr.unwrap_or(([127, 0, 0, 1], 0).into())),
        &metrics,
    )
    .await;
    let shutdown = Shutdown::default();
    let first = runner::run(&config, &RunOptions::default(), &metrics, &shutdown).await;
    print!("{}", runner::render_summary(&first));
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
    if args.metrics {
        println!(
            "\nPrometheus metrics of both runs (what /metrics and the Pushgateway receive):\n"
        );
        print!("{}", metrics.encode());
    } else {
        println!(
            "(`demo --metrics` prints them; `demo --keep-running` keeps the simulator and /metrics up.)"
        );
    }
    if args.keep_running {
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

async fn sim(args: SimArgs) -> i32 {
    let world = match args.seed {
        Seed::Demo => World::demo(),
        Seed::Empty => World::empty(),
    };
    let sim = match Simulator::start(args.listen, world, SimOptions::default()).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("halo-integrator sim: cannot listen on {}: {e}", args.listen);
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
