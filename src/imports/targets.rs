//! The one target loop every import runs, and the flow it runs per target: classify the
//! source read, plan with [`crate::sync`], log and count the plan, apply it through
//! [`super::apply`] and report. A target is what an import syncs into one Halo client: an
//! Entra tenant (`entra-users`, `intune-devices`), the rows of a file for one client
//! (`csv-assets`) or the entries under a directory base for one client (`ldap-users`). An
//! import supplies only what differs: how it reads the source and Halo and maps them to
//! desired/current records, and (optionally) how a write item is shaped.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::time::Instant;
use tracing::Instrument;

use super::apply::{self, ApplyError, Shape};
use super::mapped::withhold_unplaced;
use super::tenants::TenantTarget;
use super::{Applied, Context, ImportReport, TargetReport};
use crate::check::Verdicts;
use crate::halo::{Client, HaloError};
use crate::outcome::{Classify, Failure, Severity};
use crate::sources::graph::{Graph, GraphError, Read};
use crate::sync::{self, Create, Current, Desired, EntitySpec, PlanOptions, Withheld};

/// What a target is, as the summary, the logs and the plan file name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// An Entra tenant, by id.
    Tenant,
    /// A file, by name (its rows for one client).
    File,
    /// A directory base DN (its entries for one client).
    Base,
}

impl TargetKind {
    /// What the loop syncs one by one, for "interrupted before all ... were synced".
    fn plural(self) -> &'static str {
        match self {
            TargetKind::Tenant => "tenants",
            TargetKind::File | TargetKind::Base => "clients",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Tenant => "tenant",
            TargetKind::File => "file",
            TargetKind::Base => "base",
        })
    }
}

/// One target: what it is, its id, and the Halo client it syncs into.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    /// The tenant id, file name or base DN.
    pub id: String,
    pub client: Client,
}

/// What one import writes: its name, entity spec and Halo route.
pub(super) struct Job {
    pub import: &'static str,
    pub spec: &'static EntitySpec,
    /// Halo entity path (`Users`, `Asset`).
    pub route: &'static str,
}

impl Job {
    /// The report of an import that failed before any target ran, logged.
    pub fn failed(&self, started: Instant, failure: Failure) -> ImportReport {
        tracing::error!(import = self.import, "{}", failure.message);
        let mut report = ImportReport::new(self.import, self.spec.entity);
        report.error = Some(failure.message);
        report.error_severity = failure.severity;
        report.duration = started.elapsed();
        report
    }
}

/// The one target loop: runs `sync` for every target in turn (each in its span) after the
/// entries already in `report` (targets that cannot be synced), stopping on a shutdown
/// request or when a target shows the credentials are wrong.
pub(super) async fn run_targets<P, F>(
    ctx: &Context<'_>,
    started: Instant,
    mut report: ImportReport,
    targets: Vec<(Target, P)>,
    sync: F,
) -> ImportReport
where
    F: AsyncFn(&Target, P) -> TargetReport,
{
    for (target, payload) in targets {
        if ctx.shutdown.requested() {
            report.error = Some(format!(
                "interrupted before all {} were synced",
                target.kind.plural()
            ));
            report.error_severity = Severity::Interrupted;
            break;
        }
        let span = match target.kind {
            TargetKind::Tenant => {
                tracing::info_span!("tenant", tenant = %target.id, client_id = target.client.id)
            }
            TargetKind::File | TargetKind::Base => {
                tracing::info_span!("client", client_id = target.client.id)
            }
        };
        let done = sync(&target, payload).instrument(span).await;
        let stop = done.severity == Severity::Config;
        report.targets.push(done);
        if stop {
            // The credentials are wrong for every target: don't hammer the others.
            break;
        }
    }
    report.duration = started.elapsed();
    report
}

/// The target loop over the resolved Entra tenants (after reporting the tenants that
/// cannot be synced), for the imports that read Microsoft Graph.
pub(super) async fn run_tenants<F>(ctx: &Context<'_>, job: &Job, sync: F) -> ImportReport
where
    F: AsyncFn(&Graph, &Target) -> TargetReport,
{
    let started = Instant::now();
    let Some(graph) = ctx.graph else {
        return job.failed(started, Failure::config("no Entra configuration"));
    };
    let mut report = ImportReport::new(job.import, job.spec.entity);
    for problem in &ctx.directory.problems {
        tracing::error!(import = job.import, tenant = %problem.tenant, "{}", problem.message);
        report.targets.push(TargetReport::problem(
            TargetKind::Tenant,
            &problem.tenant,
            None,
            Failure::new(Severity::Partial, problem.message.clone()),
        ));
    }
    let targets = ctx
        .directory
        .targets
        .iter()
        .map(|TenantTarget { tenant, client }| {
            let target = Target {
                kind: TargetKind::Tenant,
                id: tenant.clone(),
                client: client.clone(),
            };
            (target, ())
        })
        .collect();
    run_targets(ctx, started, report, targets, async |target, ()| {
        sync(graph, target).await
    })
    .await
}

/// `check` of an import that reads Microsoft Graph: `probe` for every resolved tenant, one
/// verdict each (`<import> tenant <id>: → <client>: token and <what>`).
pub(super) async fn check_tenants<F>(
    ctx: &Context<'_>,
    verdicts: &mut Verdicts,
    import: &str,
    what: &str,
    probe: F,
) where
    F: AsyncFn(&Graph, &str) -> Result<(), GraphError>,
{
    let Some(graph) = ctx.graph else {
        return;
    };
    for t in &ctx.directory.targets {
        let client = t.client.display_name();
        verdicts.add(
            format_args!("{import} tenant {}", t.tenant),
            probe(graph, &t.tenant)
                .await
                .map(|()| format!("→ {client}: token and {what}"))
                .map_err(|e| e.to_string()),
        );
    }
}

/// A target's report for a failure before planning, logged.
pub(super) fn fail(job: &Job, target: &Target, failure: Failure) -> TargetReport {
    let client = target.client.display_name();
    tracing::error!(import = job.import, tenant = %target.id, client = %client, "{}", failure.message);
    TargetReport::problem(target.kind, &target.id, Some(&target.client), failure)
}

/// What a source read gave: the records, and why they may be incomplete (then nothing is
/// deactivated). `Err` = nothing usable was read; the target's report (boxed: it is large)
/// says why.
pub(super) fn source_records<T>(
    job: &Job,
    target: &Target,
    read: Read<T>,
) -> Result<(Vec<T>, Option<String>), Box<TargetReport>> {
    let Some(e) = read.error else {
        return Ok((read.items, None));
    };
    let severity = e.severity();
    if severity != Severity::Failed || read.received == 0 {
        return Err(Box::new(fail(
            job,
            target,
            Failure::new(severity, e.to_string()),
        )));
    }
    // Some pages were read: sync what is known, deactivate nothing.
    Ok((read.items, Some(format!("source read incomplete: {e}"))))
}

/// A failed Halo read as a target report.
pub(super) fn halo_read_failed(
    job: &Job,
    target: &Target,
    what: &str,
    e: &HaloError,
) -> TargetReport {
    fail(job, target, Failure::halo_read(what, e))
}

/// The source side of one target, mapped.
pub(super) struct Source {
    pub desired: Vec<Desired>,
    /// Why the read may be incomplete.
    pub problem: Option<String>,
    /// The source ids of the records the mapping placed on no site
    /// ([`super::mapped::ClientMapping::apply`] returned `false`): if new, they are not
    /// created but skipped ([`super::mapped::withhold_unplaced`]).
    pub unplaced: HashSet<String>,
}

/// Plans and applies one target. `reread` lists the source ids linked in Halo now (create
/// reconciliation); `shape` builds write items (see [`Shape`]).
pub(super) async fn plan_and_apply<R>(
    ctx: &Context<'_>,
    job: &Job,
    target: &Target,
    source: Source,
    current: &[Current],
    shape: Option<Shape<'_>>,
    reread: R,
) -> TargetReport
where
    R: AsyncFn() -> Result<HashSet<String>, HaloError>,
{
    let complete = async |_: &mut [Create]| Ok(());
    plan_and_apply_completing(ctx, job, target, source, current, shape, reread, complete).await
}

/// [`plan_and_apply`], with `complete` adding to the planned creates what only a create
/// needs (and only the plan knows is needed: e.g. a device's primary user, read from Halo
/// only when there are creates). Called only when the plan has creates that will be
/// written (unplaced ones are withheld first, and a client without a main site gets
/// none); `Err` = the target's report, nothing applied.
#[allow(clippy::too_many_arguments)]
pub(super) async fn plan_and_apply_completing<R, K>(
    ctx: &Context<'_>,
    job: &Job,
    target: &Target,
    source: Source,
    current: &[Current],
    shape: Option<Shape<'_>>,
    reread: R,
    complete: K,
) -> TargetReport
where
    R: AsyncFn() -> Result<HashSet<String>, HaloError>,
    K: AsyncFnOnce(&mut [Create]) -> Result<(), Box<TargetReport>>,
{
    let import = job.import;
    let spec = job.spec;
    let tenant = target.id.as_str();
    let client_name = target.client.display_name();
    let safety = ctx.config.safety;
    let opts = PlanOptions {
        deactivate_missing: safety.deactivate_missing,
        source_complete: source.problem.is_none(),
        max_deactivations: safety.max_deactivations,
        max_deactivation_percent: safety.max_deactivation_percent,
    };
    let Source {
        desired,
        problem,
        unplaced,
    } = source;
    let cpu_before = thread_cpu_time();
    let mut plan =
        tracing::info_span!("plan").in_scope(|| sync::plan(spec, &desired, current, &opts));
    withhold_unplaced(&mut plan, &unplaced);
    let plan_cpu = thread_cpu_time().saturating_sub(cpu_before);
    // Only the plan is needed from here on: the source records go before Halo is read again
    // or written.
    drop((desired, unplaced));
    let mut problem = problem;
    let mut severity = if problem.is_some() {
        Severity::Failed
    } else {
        Severity::Ok
    };
    if target.client.main_site_id.is_none() && !plan.creates.is_empty() {
        let message = format!(
            "{} new {}s not created: the Halo client has no main site",
            plan.creates.len(),
            spec.entity
        );
        tracing::error!(import, tenant, client = %client_name, "{message}");
        plan.creates.clear();
        severity = severity.max(Severity::Partial);
        problem.get_or_insert(message);
    }
    if !plan.creates.is_empty()
        && let Err(report) = complete(&mut plan.creates).await
    {
        return *report;
    }
    for skip in &plan.skipped {
        tracing::warn!(
            import,
            entity = spec.entity,
            tenant,
            key = %skip.label,
            source_id = %skip.source_id,
            action = "skipped",
            reason = %skip.reason,
            "record skipped"
        );
    }
    if let Some(withheld) = &plan.withheld {
        tracing::error!(import, tenant, client = %client_name, "deactivations withheld: {withheld}");
        if matches!(withheld, Withheld::Threshold { .. }) {
            severity = severity.max(Severity::Threshold);
        }
    }
    let counts = plan.counts();
    tracing::info!(
        import,
        tenant,
        client = %client_name,
        plan = %counts,
        plan_cpu_seconds = plan_cpu.as_secs_f64(),
        "planned"
    );
    let records = &ctx.metrics.records;
    records
        .with_label_values(&[import, spec.entity, "unchanged"])
        .inc_by(plan.unchanged as f64);
    records
        .with_label_values(&[import, spec.entity, "skipped"])
        .inc_by(plan.skipped.len() as f64);

    let mut applied = Applied::default();
    let mut rejected = Vec::new();
    if !ctx.dry_run && !plan.is_empty() {
        let mut defaults = Map::new();
        defaults.insert("client_id".into(), Value::from(target.client.id));
        if let Some(site) = target.client.main_site_id {
            defaults.insert("site_id".into(), Value::from(site));
        }
        let t = apply::Target {
            import,
            entity: spec.entity,
            route: job.route,
            create_defaults: defaults,
            shape,
            halo: ctx.halo,
            metrics: ctx.metrics,
            shutdown: ctx.shutdown,
            rejected: Default::default(),
        };
        let result = apply::apply(&t, &plan, reread)
            .instrument(tracing::info_span!("apply"))
            .await;
        rejected = t.rejected.into_inner().unwrap_or_default();
        match result {
            Ok(done) => applied = done,
            Err(ApplyError::Interrupted) => {
                severity = severity.max(Severity::Interrupted);
                problem.get_or_insert("interrupted while applying".into());
            }
            Err(ApplyError::Halo(e)) => {
                severity = severity.max(e.severity());
                problem.get_or_insert(format!("writing to Halo failed: {e}"));
                tracing::error!(import, tenant, client = %client_name, error = %e, "apply failed");
            }
        }
        if applied.failed > 0 {
            severity = severity.max(Severity::Partial);
        }
    }
    TargetReport {
        target: target.kind,
        id: tenant.to_string(),
        client: Some(client_name),
        client_id: Some(target.client.id),
        planned: Some(counts),
        applied,
        severity,
        problem,
        withheld: plan.withheld.clone(),
        rejected,
        plan: Some(plan),
    }
}

/// CPU time the calling thread has used so far: the plan step runs synchronously on one
/// thread, so the difference across it is its own CPU time (`plan_cpu_seconds` of the
/// `planned` log line). Zero where the clock is unavailable.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec passed to it.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}
