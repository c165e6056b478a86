//! Runs the enabled imports in order (one failing never stops the next), records their
//! metrics, pushes them, writes the plan file and renders the summary (docs/contracts.md,
//! Commands). The exit code comes from [`crate::outcome`]; `check` is [`crate::check`].

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{Config, RetryConfig};
use crate::halo::{Halo, HaloError};
use crate::http::{BuildError, ClientSettings, HttpClient};
use crate::imports::unit::{Enabled, ImportKind};
use crate::imports::{Applied, Context, ImportReport, Shutdown, tenants};
use crate::metrics::Metrics;
use crate::outcome::{self, Classify, Severity};
use crate::sources::graph::Graph;
use crate::sync::{PlanCounts, Withheld};
use crate::telemetry::push;
use crate::tickets;

/// What the command line adds to the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub dry_run: bool,
    /// `--import`: only these (must be enabled in `INTEGRATOR_IMPORTS`).
    pub imports: Vec<String>,
    /// `--tenant`: only these tenants.
    pub tenants: Vec<String>,
    pub plan_file: Option<PathBuf>,
}

/// The outcome of a run.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub dry_run: bool,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    pub imports: Vec<ImportReport>,
    /// A failure that stopped the run before or between imports.
    pub error: Option<String>,
    pub error_severity: Severity,
    pub halo_requests: u64,
    pub graph_requests: u64,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl RunReport {
    fn new(dry_run: bool) -> Self {
        RunReport {
            dry_run,
            duration: Duration::ZERO,
            imports: Vec::new(),
            error: None,
            error_severity: Severity::Ok,
            halo_requests: 0,
            graph_requests: 0,
        }
    }

    fn failed(dry_run: bool, severity: Severity, error: String) -> Self {
        RunReport {
            error: Some(error),
            error_severity: severity,
            ..RunReport::new(dry_run)
        }
    }

    pub fn severity(&self) -> Severity {
        self.imports
            .iter()
            .map(ImportReport::severity)
            .chain(std::iter::once(self.error_severity))
            .max()
            .unwrap_or(Severity::Ok)
    }
}

/// The API clients of a run.
pub struct Clients {
    pub halo: Halo,
    pub graph: Option<Graph>,
}

impl Clients {
    pub fn new(config: &Config, metrics: &Metrics) -> Result<Self, BuildError> {
        let halo_http = HttpClient::new(
            ClientSettings {
                api: "halo",
                timeout: config.halo.timeout,
                rate_limit: Some(config.halo.rate_limit.clone()),
                retry: config.retry,
            },
            metrics.clone(),
        )?;
        let graph = config.entra.as_ref().map(|entra| {
            Graph::new(
                halo_http.sibling(ClientSettings {
                    api: "graph",
                    timeout: entra.timeout,
                    // Graph throttles per tenant and says when to come back.
                    rate_limit: None,
                    retry: config.retry,
                }),
                entra.clone(),
            )
        });
        Ok(Clients {
            halo: Halo::new(halo_http, config.halo.clone()),
            graph,
        })
    }
}

/// The imports to run: `INTEGRATOR_IMPORTS`, narrowed by `--import`.
pub(crate) fn selected_imports<'c>(
    config: &'c Config,
    only: &[String],
) -> Result<Vec<&'c Enabled>, String> {
    for name in only {
        match ImportKind::parse(name) {
            Some(kind) if config.imports.iter().any(|e| e.kind() == kind) => {}
            Some(_) => {
                return Err(format!(
                    "--import {name}: not enabled in INTEGRATOR_IMPORTS"
                ));
            }
            None => return Err(format!("--import {name}: unknown import")),
        }
    }
    Ok(config
        .imports
        .iter()
        .filter(|e| only.is_empty() || only.iter().any(|n| n == e.kind().name()))
        .collect())
}

/// Runs every selected import.
pub async fn run(
    config: &Config,
    opts: &RunOptions,
    metrics: &Metrics,
    shutdown: &Shutdown,
) -> RunReport {
    let dry_run = opts.dry_run || config.dry_run;
    let started = Instant::now();
    let span = tracing::info_span!("run", dry_run);
    let imports = match selected_imports(config, &opts.imports) {
        Ok(imports) => imports,
        Err(e) => return RunReport::failed(dry_run, Severity::Config, e),
    };
    let mut report = async {
        let clients = match Clients::new(config, metrics) {
            Ok(c) => c,
            Err(e) => return RunReport::failed(dry_run, Severity::Config, e.to_string()),
        };
        if let Err(e) = clients.halo.authenticate().await {
            return RunReport::failed(dry_run, e.severity(), e.to_string());
        }
        let directory = match resolve_tenants(config, &clients.halo, &opts.tenants).await {
            Ok(d) => d,
            Err(e) => {
                return RunReport::failed(
                    dry_run,
                    e.severity(),
                    format!("reading Halo clients failed: {e}"),
                );
            }
        };
        let ctx = Context {
            config,
            halo: &clients.halo,
            graph: clients.graph.as_ref(),
            metrics,
            shutdown,
            directory: &directory,
            dry_run,
        };
        // What every import needs resolved in Halo (e.g. an asset type), before any runs.
        let mut ready = Vec::new();
        for enabled in &imports {
            match enabled.resolve(&ctx).await {
                Ok(r) => ready.push((enabled.kind(), r)),
                Err(f) => return RunReport::failed(dry_run, f.severity, f.message),
            }
        }
        let mut report = RunReport::new(dry_run);
        for (kind, import) in &ready {
            if shutdown.requested() {
                report.error = Some("interrupted; remaining imports not started".into());
                report.error_severity = Severity::Interrupted;
                break;
            }
            let mut import = import
                .run(&ctx)
                .instrument(tracing::info_span!("import", import = kind.name()))
                .await;
            if opts.plan_file.is_none() {
                // The full plans serve only the plan file: not kept while the next import
                // reads its targets.
                for target in &mut import.targets {
                    target.plan = None;
                }
            }
            record_import_metrics(metrics, &import);
            log_import_summary(&import, dry_run);
            report.imports.push(import);
        }
        if let Some(opts) = &config.tickets {
            if dry_run {
                tracing::info!("dry run: problem tickets are neither opened nor updated");
            } else {
                tickets::raise(
                    opts,
                    &clients.halo,
                    &report.imports,
                    report.error.as_deref(),
                    metrics,
                )
                .instrument(tracing::info_span!("tickets"))
                .await;
            }
        }
        report
    }
    .instrument(span)
    .await;
    report.duration = started.elapsed();
    // An import that never ran (Halo unreachable, credentials rejected, interrupted)
    // failed too: its Last Sync must show that, not the previous run's state.
    let names: Vec<&str> = imports.iter().map(|e| e.kind().name()).collect();
    for name in &names {
        if !report.imports.iter().any(|i| i.import == *name) {
            record_not_run(metrics, name);
        }
    }
    if let Some(url) = &config.pushgateway_url {
        push_metrics(config, url, metrics, &names).await;
    }
    report.halo_requests = metrics.requests_to("halo");
    report.graph_requests = metrics.requests_to("graph");
    if let Some(path) = &opts.plan_file
        && let Err(e) = write_plan_file(path, &report)
    {
        tracing::error!(path = %path.display(), error = %e, "cannot write the plan file");
        report.error_severity = report.error_severity.max(Severity::Failed);
        report.error.get_or_insert(format!(
            "cannot write the plan file {}: {e}",
            path.display()
        ));
    }
    report
}

/// The Halo clients → tenant map, when an import needs Entra.
pub(crate) async fn resolve_tenants(
    config: &Config,
    halo: &Halo,
    only: &[String],
) -> Result<tenants::Directory, HaloError> {
    let Some(entra) = &config.entra else {
        return Ok(tenants::Directory::default());
    };
    let clients = halo.clients().await?;
    Ok(tenants::resolve(
        &clients,
        &entra.tenants,
        only,
        config.shard,
    ))
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn record_not_run(metrics: &Metrics, name: &str) {
    metrics
        .import_last_run
        .with_label_values(&[name])
        .set(now_seconds());
    metrics.import_success.with_label_values(&[name]).set(0.0);
    metrics.import_duration.with_label_values(&[name]).set(0.0);
}

/// Pushes the metrics; a Pushgateway that is down is logged and changes nothing else.
async fn push_metrics(config: &Config, url: &url::Url, metrics: &Metrics, names: &[&str]) {
    let http = HttpClient::new(
        ClientSettings {
            api: "pushgateway",
            timeout: Duration::from_secs(10),
            rate_limit: None,
            retry: RetryConfig {
                max_attempts: config.retry.max_attempts.min(3),
                ..config.retry
            },
        },
        metrics.clone(),
    );
    match http {
        Ok(http) => {
            let _ = push::push(&http, url, metrics, names, config.shard).await;
        }
        Err(e) => tracing::error!(error = %e, "cannot push metrics"),
    }
}

fn record_import_metrics(metrics: &Metrics, import: &ImportReport) {
    let name = import.import;
    metrics.init_import(name, import.entity);
    let withheld: usize = import
        .targets
        .iter()
        .filter_map(|t| match &t.withheld {
            Some(Withheld::Threshold { candidates, .. }) => Some(*candidates),
            _ => None,
        })
        .sum();
    metrics
        .deactivations_withheld
        .with_label_values(&[name])
        .set(withheld as f64);
    let now = now_seconds();
    let ok = import.severity() == Severity::Ok;
    metrics.import_last_run.with_label_values(&[name]).set(now);
    metrics
        .import_success
        .with_label_values(&[name])
        .set(if ok { 1.0 } else { 0.0 });
    metrics
        .import_duration
        .with_label_values(&[name])
        .set(import.duration.as_secs_f64());
    if ok {
        metrics
            .import_last_success
            .with_label_values(&[name])
            .set(now);
    }
}

fn log_import_summary(import: &ImportReport, dry_run: bool) {
    let applied = import.applied();
    let planned = import.planned();
    tracing::info!(
        import = import.import,
        entity = import.entity,
        dry_run,
        created = applied.created,
        updated = applied.updated,
        reactivated = applied.reactivated,
        deactivated = applied.deactivated,
        unchanged = planned.unchanged,
        skipped = planned.skipped,
        failed = applied.failed,
        tenants = import.targets.len(),
        duration_seconds = import.duration.as_secs_f64(),
        outcome = ?import.severity(),
        "import finished"
    );
}

fn write_plan_file(path: &std::path::Path, report: &RunReport) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(path, json)
}

/// The human summary printed at the end of `run`, `--dry-run` and `demo`.
pub fn render_summary(report: &RunReport) -> String {
    let mut out = String::new();
    let mode = if report.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "halo-integrator finished in {:.1}s{mode}",
        report.duration.as_secs_f64()
    );
    for import in &report.imports {
        let _ = writeln!(
            out,
            "\n{} ({}s), {:.1}s:",
            import.import,
            import.entity,
            import.duration.as_secs_f64()
        );
        for t in &import.targets {
            let client = t.client.as_deref().unwrap_or("-");
            let _ = writeln!(out, "  {} {} → {}", t.target, t.id, client);
            if let Some(p) = &t.planned {
                if report.dry_run {
                    let _ = writeln!(out, "    planned: {p}");
                } else {
                    let _ = writeln!(out, "    {}", outcome_counts(&t.applied, p));
                }
            }
            if let Some(w) = &t.withheld {
                let _ = writeln!(out, "    ! {w}");
            }
            if let Some(problem) = &t.problem {
                let _ = writeln!(out, "    ! {problem}");
            }
        }
        if let Some(e) = &import.error {
            let _ = writeln!(out, "  ! {e}");
        }
        let totals = if report.dry_run {
            import.planned().to_string()
        } else {
            outcome_counts(&import.applied(), &import.planned())
        };
        let _ = writeln!(out, "  total: {totals}");
    }
    if let Some(e) = &report.error {
        let _ = writeln!(out, "\nerror: {e}");
    }
    let severity = report.severity();
    let _ = writeln!(
        out,
        "\nrequests: halo={} graph={}\noutcome: {}",
        report.halo_requests,
        report.graph_requests,
        outcome::describe(severity)
    );
    out
}

/// What was written, with what the plan left alone, as one summary line.
fn outcome_counts(a: &Applied, p: &PlanCounts) -> String {
    format!(
        "created={} updated={} deactivated={} reactivated={} unchanged={} skipped={} failed={}",
        a.created, a.updated, a.deactivated, a.reactivated, p.unchanged, p.skipped, a.failed
    )
}
