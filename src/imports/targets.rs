//! The per-tenant flow the Graph-sourced imports share (`entra-users`, `intune-devices`):
//! run every resolved tenant in turn, classify the source read, plan with [`crate::sync`],
//! log and count the plan, apply it through [`super::apply`] and report. An import supplies
//! only what differs: how it reads the source and Halo and maps them to desired/current
//! records, and (optionally) how a write item is shaped.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;
use tracing::Instrument;

use super::apply::{self, ApplyError, Shape, Target};
use super::tenants::TenantTarget;
use super::{Applied, Context, ImportReport, Severity, TenantReport};
use crate::config::ImportKind;
use crate::halo::HaloError;
use crate::sources::graph::{Graph, Read};
use crate::sync::{self, Current, Desired, EntitySpec, PlanOptions, Withheld};

/// What one import writes: its name, entity spec and Halo route.
pub(super) struct Job {
    pub kind: ImportKind,
    pub spec: &'static EntitySpec,
    /// Halo entity path (`Users`, `Asset`).
    pub route: &'static str,
}

impl Job {
    fn import(&self) -> &'static str {
        self.kind.name()
    }
}

/// Runs `sync` for every target tenant (after reporting the tenants that cannot be synced),
/// stopping on a shutdown request or when a tenant shows the credentials are wrong.
pub(super) async fn run_tenants<F>(ctx: &Context<'_>, job: &Job, sync: F) -> ImportReport
where
    F: AsyncFn(&Graph, &TenantTarget) -> TenantReport,
{
    let started = Instant::now();
    let mut report = ImportReport::new(job.kind, job.spec.entity);
    let Some(graph) = ctx.graph else {
        report.error = Some("no Entra configuration".into());
        report.error_severity = Severity::Config;
        return report;
    };
    for problem in &ctx.directory.problems {
        tracing::error!(import = job.import(), tenant = %problem.tenant, "{}", problem.message);
        report.tenants.push(TenantReport::problem(
            &problem.tenant,
            None,
            Severity::Partial,
            problem.message.clone(),
        ));
    }
    for target in &ctx.directory.targets {
        if ctx.shutdown.requested() {
            report.error = Some("interrupted before all tenants were synced".into());
            report.error_severity = Severity::Interrupted;
            break;
        }
        let span =
            tracing::info_span!("tenant", tenant = %target.tenant, client_id = target.client.id);
        let tenant = sync(graph, target).instrument(span).await;
        let stop = tenant.severity == Severity::Config;
        report.tenants.push(tenant);
        if stop {
            // The app's credentials are wrong for every tenant: don't hammer the others.
            break;
        }
    }
    report.duration = started.elapsed();
    report
}

/// A tenant's report for a failure before planning, logged.
pub(super) fn fail(
    job: &Job,
    target: &TenantTarget,
    severity: Severity,
    message: String,
) -> TenantReport {
    let client = target.client.display_name();
    tracing::error!(import = job.import(), tenant = %target.tenant, client = %client, "{message}");
    TenantReport::problem(&target.tenant, Some(&target.client), severity, message)
}

/// What a source read gave: the records, and why they may be incomplete (then nothing is
/// deactivated). `Err` = nothing usable was read; the tenant's report (boxed: it is large)
/// says why.
pub(super) fn source_records<T>(
    job: &Job,
    target: &TenantTarget,
    read: Read<T>,
) -> Result<(Vec<T>, Option<String>), Box<TenantReport>> {
    let Some(e) = read.error else {
        return Ok((read.items, None));
    };
    if e.is_credentials() {
        return Err(Box::new(fail(job, target, Severity::Config, e.to_string())));
    }
    if e.is_tenant_setup() || read.received == 0 {
        let severity = if e.is_tenant_setup() {
            Severity::Partial
        } else {
            Severity::Failed
        };
        return Err(Box::new(fail(job, target, severity, e.to_string())));
    }
    // Some pages were read: sync what is known, deactivate nothing.
    Ok((read.items, Some(format!("source read incomplete: {e}"))))
}

/// A failed Halo read as a tenant report.
pub(super) fn halo_read_failed(
    job: &Job,
    target: &TenantTarget,
    what: &str,
    e: &HaloError,
) -> TenantReport {
    fail(
        job,
        target,
        Severity::of_halo(e),
        format!("reading Halo {what} failed: {e}"),
    )
}

/// The source side of one tenant, mapped.
pub(super) struct Source {
    pub desired: Vec<Desired>,
    /// Why the read may be incomplete.
    pub problem: Option<String>,
}

/// Plans and applies one tenant. `reread` lists the source ids linked in Halo now (create
/// reconciliation); `shape` builds write items (see [`Shape`]).
pub(super) async fn plan_and_apply<R>(
    ctx: &Context<'_>,
    job: &Job,
    target: &TenantTarget,
    source: Source,
    current: &[Current],
    shape: Option<Shape<'_>>,
    reread: R,
) -> TenantReport
where
    R: AsyncFn() -> Result<HashSet<String>, HaloError>,
{
    let import = job.import();
    let spec = job.spec;
    let tenant = target.tenant.as_str();
    let client_name = target.client.display_name();
    let safety = ctx.config.safety;
    let opts = PlanOptions {
        deactivate_missing: safety.deactivate_missing,
        source_complete: source.problem.is_none(),
        max_deactivations: safety.max_deactivations,
        max_deactivation_percent: safety.max_deactivation_percent,
    };
    let cpu_before = thread_cpu_time();
    let mut plan =
        tracing::info_span!("plan").in_scope(|| sync::plan(spec, &source.desired, current, &opts));
    let plan_cpu = thread_cpu_time().saturating_sub(cpu_before);
    let mut problem = source.problem;
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
        let t = Target {
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
                severity = severity.max(Severity::of_halo(&e));
                problem.get_or_insert(format!("writing to Halo failed: {e}"));
                tracing::error!(import, tenant, client = %client_name, error = %e, "apply failed");
            }
        }
        if applied.failed > 0 {
            severity = severity.max(Severity::Partial);
        }
    }
    TenantReport {
        tenant: tenant.to_string(),
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
