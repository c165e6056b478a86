//! Runs the enabled imports in order (one failing never stops the next), records their
//! metrics, and turns the outcome into a summary and an exit code (docs/contracts.md, Exit codes). Also the
//! `check` command, which validates everything a run needs without writing.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{AssetColumn, Config, ImportKind, RetryConfig, TicketOptions};
use crate::halo::{Halo, HaloError};
use crate::http::{BuildError, ClientSettings, HttpClient};
use crate::imports::{
    self, Applied, Context, ImportReport, Severity, Shutdown, assets, csv_assets, entra_users,
    ldap_users, tenants,
};
use crate::metrics::Metrics;
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

/// The process exit code for a severity; `signal` is the signal that interrupted the run.
pub fn exit_code(severity: Severity, signal: Option<i32>) -> i32 {
    match severity {
        Severity::Ok => 0,
        Severity::Partial => 3,
        Severity::Threshold => 4,
        Severity::Failed => 1,
        Severity::Interrupted => 128 + signal.unwrap_or(15),
        Severity::Config => 2,
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
fn selected_imports(config: &Config, only: &[String]) -> Result<Vec<ImportKind>, String> {
    for name in only {
        match ImportKind::parse(name) {
            Some(kind) if config.imports.contains(&kind) => {}
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
        .copied()
        .filter(|k| only.is_empty() || only.iter().any(|n| n == k.name()))
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
            return RunReport::failed(dry_run, Severity::of_halo(&e), e.to_string());
        }
        let directory = match resolve_tenants(config, &clients.halo, &opts.tenants).await {
            Ok(d) => d,
            Err(e) => {
                return RunReport::failed(
                    dry_run,
                    Severity::of_halo(&e),
                    format!("reading Halo clients failed: {e}"),
                );
            }
        };
        let intune_asset_type = if imports.contains(&ImportKind::IntuneDevices) {
            match assets::resolve_asset_type(
                &clients.halo,
                "INTUNE_ASSET_TYPE",
                &config.intune_devices.asset_type,
            )
            .await
            {
                Ok(id) => Some(id),
                Err((severity, e)) => return RunReport::failed(dry_run, severity, e),
            }
        } else {
            None
        };
        let ctx = Context {
            config,
            halo: &clients.halo,
            graph: clients.graph.as_ref(),
            metrics,
            shutdown,
            directory: &directory,
            dry_run,
            intune_asset_type,
        };
        let mut report = RunReport::new(dry_run);
        for &kind in &imports {
            if shutdown.requested() {
                report.error = Some("interrupted; remaining imports not started".into());
                report.error_severity = Severity::Interrupted;
                break;
            }
            let import = imports::run(kind, &ctx)
                .instrument(tracing::info_span!("import", import = kind.name()))
                .await;
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
    for kind in &imports {
        if !report.imports.iter().any(|i| i.import == *kind) {
            record_not_run(metrics, kind.name());
        }
    }
    if let Some(url) = &config.pushgateway_url {
        push_metrics(config, url, metrics, &imports).await;
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
async fn resolve_tenants(
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
async fn push_metrics(config: &Config, url: &url::Url, metrics: &Metrics, imports: &[ImportKind]) {
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
    let names: Vec<&str> = imports.iter().map(|k| k.name()).collect();
    match http {
        Ok(http) => {
            let _ = push::push(&http, url, metrics, &names, config.shard).await;
        }
        Err(e) => tracing::error!(error = %e, "cannot push metrics"),
    }
}

fn record_import_metrics(metrics: &Metrics, import: &ImportReport) {
    let name = import.import.name();
    metrics.init_import(name, import.entity);
    let withheld: usize = import
        .tenants
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
        import = import.import.name(),
        entity = import.entity,
        dry_run,
        created = applied.created,
        updated = applied.updated,
        reactivated = applied.reactivated,
        deactivated = applied.deactivated,
        unchanged = planned.unchanged,
        skipped = planned.skipped,
        failed = applied.failed,
        tenants = import.tenants.len(),
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
        for t in &import.tenants {
            let client = t.client.as_deref().unwrap_or("-");
            let _ = writeln!(out, "  tenant {} → {}", t.tenant, client);
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
        describe(severity)
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

fn describe(severity: Severity) -> &'static str {
    match severity {
        Severity::Ok => "every import succeeded",
        Severity::Partial => "finished, but some records or tenants failed (see above)",
        Severity::Threshold => {
            "a safety threshold withheld deactivations; review and raise INTEGRATOR_MAX_DEACTIVATIONS / _PERCENT if intended"
        }
        Severity::Failed => "an import failed (network, server error or unexpected response)",
        Severity::Interrupted => "interrupted by a signal",
        Severity::Config => "configuration or credentials invalid",
    }
}

/// The verdict lines of `check`: one per assumption a run relies on, `ok` or `FAIL`.
#[derive(Default)]
struct Verdicts {
    out: String,
    ok: bool,
}

impl Verdicts {
    fn new() -> Self {
        Verdicts {
            out: String::new(),
            ok: true,
        }
    }

    fn add(&mut self, subject: impl std::fmt::Display, result: Result<String, String>) {
        let _ = match result {
            Ok(line) => writeln!(self.out, "ok   {subject}: {line}"),
            Err(e) => {
                self.ok = false;
                writeln!(self.out, "FAIL {subject}: {e}")
            }
        };
    }

    fn done(self) -> (String, bool) {
        (self.out, self.ok)
    }
}

/// `check`: a read-only probe of the user's own Halo (and sources) for every assumption a
/// run relies on, one verdict line each: the token; tenants from the client list
/// (`includeazuretenants`); for `entra-users` the link report (reporting permission, rows
/// that agree with a paged read); the asset types and that every configured field belongs
/// to them; the LDAP link field; per tenant, users (and devices: Intune licensed or not)
/// readable. Not ok (exit 2) when anything would make `run` fail or write wrongly.
pub async fn check(config: &Config, opts: &RunOptions, metrics: &Metrics) -> (String, bool) {
    let mut v = Verdicts::new();
    let imports = match selected_imports(config, &opts.imports) {
        Ok(i) => i,
        Err(e) => return (format!("FAIL {e}\n"), false),
    };
    let clients = match Clients::new(config, metrics) {
        Ok(c) => c,
        Err(e) => return (format!("FAIL {e}\n"), false),
    };
    let halo = &clients.halo;
    let token = match halo.authenticate().await {
        Ok(()) => halo.probe().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let authenticated = token.is_ok();
    v.add(
        "halo token",
        token.map(|()| format!("authenticated at {} and read clients", config.halo.auth_url)),
    );
    if !authenticated {
        return v.done();
    }
    let directory = if config.entra.is_some() {
        match resolve_tenants(config, halo, &opts.tenants).await {
            Ok(d) => {
                let problems: Vec<String> = d
                    .problems
                    .iter()
                    .map(|p| format!("tenant {}: {}", p.tenant, p.message))
                    .collect();
                v.add(
                    "halo tenants",
                    if problems.is_empty() {
                        Ok(format!(
                            "{} tenant(s) linked to one active client each (client list read with includeazuretenants)",
                            d.targets.len()
                        ))
                    } else {
                        Err(problems.join("; "))
                    },
                );
                d
            }
            Err(e) => {
                v.add("halo tenants", Err(format!("reading clients: {e}")));
                return v.done();
            }
        }
    } else {
        tenants::Directory::default()
    };
    if let Some(opts) = &config.tickets {
        v.add("halo tickets", check_tickets(halo, opts).await);
    }
    for kind in imports {
        match kind {
            ImportKind::EntraUsers => match directory.targets.first() {
                Some(t) => v.add(
                    format_args!("{kind} user links"),
                    entra_users::user_links::probe(halo, &t.client)
                        .await
                        .map_err(|e| e.message),
                ),
                None => v.add(kind, Err("no tenant to sync".into())),
            },
            ImportKind::IntuneDevices => {
                let o = &config.intune_devices;
                let fields: Vec<(&str, i64)> = [
                    ("INTUNE_FIELD_SERIAL", o.field_serial),
                    ("INTUNE_FIELD_MODEL", o.field_model),
                    ("INTUNE_FIELD_OS", o.field_os),
                    ("INTUNE_FIELD_LAST_SEEN", o.field_last_seen),
                ]
                .into_iter()
                .filter_map(|(var, id)| id.map(|id| (var, id)))
                .collect();
                let result =
                    check_asset_type(halo, "INTUNE_ASSET_TYPE", &o.asset_type, &fields).await;
                v.add(format_args!("{kind} asset type"), result);
                if directory.targets.is_empty() {
                    v.add(kind, Err("no tenant to sync".into()));
                }
            }
            ImportKind::CsvAssets => {
                if let Some(options) = &config.csv_assets {
                    v.add(kind, csv_assets::check(options, halo).await);
                    let link = options.link_field;
                    let mut fields = vec![("CSV_ASSETS_LINK_FIELD", link)];
                    fields.extend(options.columns.iter().filter_map(|(c, _)| match c {
                        AssetColumn::Field(id) => Some(("CSV_ASSETS_COLUMNS", *id)),
                        _ => None,
                    }));
                    let result =
                        check_asset_type(halo, "CSV_ASSETS_TYPE", &options.asset_type, &fields)
                            .await;
                    v.add(format_args!("{kind} asset type"), result);
                }
            }
            ImportKind::LdapUsers => {
                v.add(kind, ldap_users::check(config, halo).await);
                if let Some(options) = &config.ldap_users {
                    v.add(
                        format_args!("{kind} link field"),
                        Ok(format!(
                            "{} is a free-text property of Halo's Users and Users_List models: \
                             the paged user read carries it back",
                            options.link_field
                        )),
                    );
                }
            }
        }
        let Some(graph) = clients.graph.as_ref() else {
            continue;
        };
        for t in &directory.targets {
            let client = t.client.display_name();
            let (probe, what) = match kind {
                ImportKind::EntraUsers => (
                    graph
                        .probe_users(&t.tenant, config.entra_users.filter.as_deref())
                        .await,
                    "users",
                ),
                ImportKind::IntuneDevices => (
                    graph.probe_devices(&t.tenant).await,
                    "devices readable, Intune licensed",
                ),
                // Not per-tenant imports: checked above.
                ImportKind::CsvAssets | ImportKind::LdapUsers => continue,
            };
            v.add(
                format_args!("{kind} tenant {}", t.tenant),
                probe
                    .map(|_| format!("→ {client}: token and {what}"))
                    .map_err(|e| e.to_string()),
            );
        }
    }
    v.done()
}

/// Problem tickets: `INTEGRATOR_TICKET_CLIENT` is an active client and the agent can list
/// tickets. The type, status and outcome ids cannot be read through Halo's API contract:
/// the line says so.
async fn check_tickets(halo: &Halo, opts: &TicketOptions) -> Result<String, String> {
    let clients = halo.clients().await.map_err(|e| e.to_string())?;
    let client = imports::clients::Clients::new(&clients)
        .find(&opts.client)
        .map_err(|e| format!("INTEGRATOR_TICKET_CLIENT: {e}"))?;
    let open = halo
        .open_tickets(tickets::MARKER)
        .await
        .map_err(|e| format!("listing tickets failed: {e}"))?;
    Ok(format!(
        "run-level problems go to {}; tickets readable ({} of the integrator's open); \
         ticket type {}, outcome {}{} are used as configured (Halo's API has no read of them)",
        client.display_name(),
        open.iter()
            .filter(|t| t.summary.as_deref().and_then(tickets::key_of).is_some())
            .count(),
        opts.type_id,
        opts.outcome_id,
        opts.closed_status_id
            .map(|s| format!(", closed status {s}"))
            .unwrap_or_default()
    ))
}

/// The asset type `name` (from variable `var`) exists and has every field in `fields`.
async fn check_asset_type(
    halo: &Halo,
    var: &str,
    name: &str,
    fields: &[(&str, i64)],
) -> Result<String, String> {
    let id = assets::resolve_asset_type(halo, var, name)
        .await
        .map_err(|(_, e)| e)?;
    if fields.is_empty() {
        return Ok(format!("'{name}' is id {id}"));
    }
    assets::check_type_fields(halo, name, id, fields).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_precedence() {
        // docs/contracts.md, Exit codes: 2, 130/143, 1, 4, 3, 0 — the first present wins.
        let order = [
            Severity::Config,
            Severity::Interrupted,
            Severity::Failed,
            Severity::Threshold,
            Severity::Partial,
            Severity::Ok,
        ];
        for (i, worse) in order.iter().enumerate() {
            for better in &order[i + 1..] {
                assert_eq!((*worse).max(*better), *worse, "{worse:?} beats {better:?}");
            }
        }
        let codes: Vec<i32> = order.iter().map(|s| exit_code(*s, Some(15))).collect();
        assert_eq!(codes, vec![2, 143, 1, 4, 3, 0]);
        assert_eq!(exit_code(Severity::Interrupted, Some(2)), 130);
    }
}
