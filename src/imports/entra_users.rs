//! The `entra-users` import: the users of every linked Microsoft Entra ID tenant become
//! Halo users of the client mapped to that tenant (DESIGN §5, field mapping table).

use std::collections::HashSet;

use serde_json::{Map, Value};
use tokio::time::Instant;
use tracing::Instrument;

use super::apply::{self, ApplyError, Target};
use super::tenants::TenantTarget;
use super::{Applied, Context, ImportReport, Severity, TenantReport};
use crate::config::ImportKind;
use crate::halo::{HaloError, User};
use crate::sources::graph::{Graph, GraphUser};
use crate::sync::{self, Current, Desired, EntitySpec, Fields, PlanOptions, Withheld};

pub const SPEC: EntitySpec = EntitySpec {
    entity: "user",
    link_field: "azureoid",
    case_insensitive: &["emailaddress"],
};

const IMPORT: &str = "entra-users";

/// Whether a Graph user is in scope: guests only when `ENTRA_USERS_INCLUDE_GUESTS`.
pub fn in_scope(user: &GraphUser, include_guests: bool) -> bool {
    include_guests
        || !user
            .user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"))
}

fn text(value: Option<&str>) -> Value {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// A Graph user as the Halo user it should be. `None` for a user without an id.
pub fn desired(user: &GraphUser) -> Option<Desired> {
    let id = user.id.trim();
    if id.is_empty() {
        return None;
    }
    let email = user
        .mail
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .or(user.user_principal_name.as_deref());
    let fields: Fields = [
        ("name", text(user.display_name.as_deref())),
        ("firstname", text(user.given_name.as_deref())),
        ("surname", text(user.surname.as_deref())),
        ("emailaddress", text(email)),
        ("title", text(user.job_title.as_deref())),
        (
            "phonenumber",
            text(user.business_phones.first().map(String::as_str)),
        ),
        ("mobilenumber", text(user.mobile_phone.as_deref())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Some(Desired {
        source_id: id.to_ascii_lowercase(),
        secondary: email
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty()),
        label: user
            .user_principal_name
            .clone()
            .or_else(|| user.display_name.clone())
            .unwrap_or_else(|| id.to_string()),
        // An account whose state Graph did not say is treated as enabled: the safe side
        // (never a deactivation on missing data).
        enabled: user.account_enabled.unwrap_or(true),
        fields,
    })
}

/// A Halo user as the sync engine compares it.
pub fn current(user: &User) -> Current {
    let fields: Fields = [
        ("name", text(user.name.as_deref())),
        ("firstname", text(user.firstname.as_deref())),
        ("surname", text(user.surname.as_deref())),
        ("emailaddress", text(user.emailaddress.as_deref())),
        ("title", text(user.title.as_deref())),
        ("phonenumber", text(user.phonenumber.as_deref())),
        ("mobilenumber", text(user.mobilenumber.as_deref())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Current {
        id: user.id,
        source_id: user
            .azureoid
            .as_ref()
            .map(|s| s.trim().to_ascii_lowercase()),
        secondary: user.emailaddress.clone(),
        inactive: user.inactive,
        fields,
    }
}

pub async fn run(ctx: &Context<'_>) -> ImportReport {
    let started = Instant::now();
    let mut report = ImportReport {
        import: ImportKind::EntraUsers,
        entity: SPEC.entity,
        duration: Default::default(),
        tenants: Vec::new(),
        error: None,
        error_severity: Severity::Ok,
    };
    let Some(graph) = ctx.graph else {
        report.error = Some("no Entra configuration".into());
        report.error_severity = Severity::Config;
        return report;
    };
    for problem in &ctx.directory.problems {
        tracing::error!(import = IMPORT, tenant = %problem.tenant, "{}", problem.message);
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
        let tenant = sync_tenant(ctx, graph, target).instrument(span).await;
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

async fn sync_tenant(ctx: &Context<'_>, graph: &Graph, target: &TenantTarget) -> TenantReport {
    let tenant = target.tenant.as_str();
    let client_name = target.client.display_name();
    let fail = |severity, message: String| {
        tracing::error!(import = IMPORT, tenant, client = %client_name, "{message}");
        TenantReport::problem(tenant, Some(client_name.clone()), severity, message)
    };

    // Source.
    let options = &ctx.config.entra_users;
    let read = graph
        .users(tenant, options.filter.as_deref())
        .instrument(tracing::info_span!("read_source", source = "graph"))
        .await;
    let mut source_problem = None;
    if let Some(e) = read.error {
        if e.is_credentials() {
            return fail(Severity::Config, e.to_string());
        }
        if e.is_tenant_setup() || read.items.is_empty() {
            let severity = if e.is_tenant_setup() {
                Severity::Partial
            } else {
                Severity::Failed
            };
            return fail(severity, e.to_string());
        }
        // Some pages were read: sync what is known, deactivate nothing.
        source_problem = Some(format!("source read incomplete: {e}"));
    }
    let desired: Vec<Desired> = read
        .items
        .iter()
        .filter(|u| in_scope(u, options.include_guests))
        .filter_map(desired)
        .collect();

    // Halo.
    let halo_users = match ctx
        .halo
        .users_of_client(target.client.id)
        .instrument(tracing::info_span!("read_halo"))
        .await
    {
        Ok(users) => users,
        Err(e) => return fail(halo_severity(&e), format!("reading Halo users failed: {e}")),
    };
    let current: Vec<Current> = halo_users.iter().map(current).collect();

    // Plan.
    let safety = ctx.config.safety;
    let opts = PlanOptions {
        deactivate_missing: safety.deactivate_missing,
        source_complete: source_problem.is_none(),
        max_deactivations: safety.max_deactivations,
        max_deactivation_percent: safety.max_deactivation_percent,
    };
    let mut plan =
        tracing::info_span!("plan").in_scope(|| sync::plan(&SPEC, &desired, &current, &opts));
    let mut problem = source_problem;
    let mut severity = if problem.is_some() {
        Severity::Failed
    } else {
        Severity::Ok
    };
    if target.client.main_site_id.is_none() && !plan.creates.is_empty() {
        let message = format!(
            "{} new users not created: the Halo client has no main site",
            plan.creates.len()
        );
        tracing::error!(import = IMPORT, tenant, client = %client_name, "{message}");
        plan.creates.clear();
        severity = severity.max(Severity::Partial);
        problem.get_or_insert(message);
    }
    for skip in &plan.skipped {
        tracing::warn!(
            import = IMPORT,
            entity = SPEC.entity,
            tenant,
            key = %skip.label,
            source_id = %skip.source_id,
            action = "skipped",
            reason = %skip.reason,
            "record skipped"
        );
    }
    if let Some(withheld) = &plan.withheld {
        tracing::error!(import = IMPORT, tenant, client = %client_name, "deactivations withheld: {withheld}");
        if matches!(withheld, Withheld::Threshold { .. }) {
            severity = severity.max(Severity::Threshold);
        }
    }
    let counts = plan.counts();
    tracing::info!(import = IMPORT, tenant, client = %client_name, plan = %counts, "planned");
    let records = &ctx.metrics.records;
    records
        .with_label_values(&[IMPORT, SPEC.entity, "unchanged"])
        .inc_by(plan.unchanged as f64);
    records
        .with_label_values(&[IMPORT, SPEC.entity, "skipped"])
        .inc_by(plan.skipped.len() as f64);

    // Apply.
    let mut applied = Applied::default();
    if !ctx.dry_run && !plan.is_empty() {
        let mut defaults = Map::new();
        defaults.insert("client_id".into(), Value::from(target.client.id));
        if let Some(site) = target.client.main_site_id {
            defaults.insert("site_id".into(), Value::from(site));
        }
        let t = Target {
            import: IMPORT,
            entity: SPEC.entity,
            route: "Users",
            create_defaults: defaults,
            halo: ctx.halo,
            metrics: ctx.metrics,
            shutdown: ctx.shutdown,
        };
        let reread = async || -> Result<HashSet<String>, HaloError> {
            let users = ctx.halo.users_of_client(target.client.id).await?;
            Ok(users
                .iter()
                .filter_map(|u| u.azureoid.as_ref().map(|s| s.trim().to_ascii_lowercase()))
                .collect())
        };
        match apply::apply(&t, &plan, reread)
            .instrument(tracing::info_span!("apply"))
            .await
        {
            Ok(done) => applied = done,
            Err(ApplyError::Interrupted) => {
                severity = severity.max(Severity::Interrupted);
                problem.get_or_insert("interrupted while applying".into());
            }
            Err(ApplyError::Halo(e)) => {
                severity = severity.max(halo_severity(&e));
                problem.get_or_insert(format!("writing to Halo failed: {e}"));
                tracing::error!(import = IMPORT, tenant, client = %client_name, error = %e, "apply failed");
            }
        }
        if applied.failed > 0 {
            severity = severity.max(Severity::Partial);
        }
    }
    TenantReport {
        tenant: tenant.to_string(),
        client: Some(client_name),
        planned: Some(counts),
        applied,
        severity,
        problem,
        withheld: plan.withheld.clone(),
        plan: Some(plan),
    }
}

/// Credentials rejected mid-run are a configuration problem; everything else failed.
fn halo_severity(e: &HaloError) -> Severity {
    if e.is_credentials() {
        Severity::Config
    } else {
        Severity::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph_user(json: &str) -> GraphUser {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn mapping_follows_the_design_table() {
        let u = graph_user(
            r#"{"id":"ABC-1","displayName":"Ann Lee","givenName":"Ann","surname":"Lee","mail":null,
                "userPrincipalName":"ann@contoso.example","accountEnabled":false,"jobTitle":" CTO ",
                "businessPhones":["+1 555 0100","+1 555 0101"],"mobilePhone":"","userType":"Member"}"#,
        );
        let d = desired(&u).unwrap();
        assert_eq!(d.source_id, "abc-1");
        assert_eq!(
            d.secondary.as_deref(),
            Some("ann@contoso.example"),
            "UPN when mail is null"
        );
        assert!(!d.enabled);
        assert_eq!(d.fields["name"], "Ann Lee");
        assert_eq!(d.fields["title"], "CTO");
        assert_eq!(d.fields["phonenumber"], "+1 555 0100");
        assert_eq!(
            d.fields["mobilenumber"],
            Value::Null,
            "empty means no value"
        );
        assert_eq!(d.label, "ann@contoso.example");
    }

    #[test]
    fn guests_are_out_of_scope_unless_included() {
        let guest = graph_user(r#"{"id":"g","userType":"Guest"}"#);
        let member = graph_user(r#"{"id":"m","userType":"Member"}"#);
        let unknown = graph_user(r#"{"id":"u"}"#);
        assert!(!in_scope(&guest, false));
        assert!(in_scope(&guest, true));
        assert!(in_scope(&member, false));
        assert!(in_scope(&unknown, false));
    }

    #[test]
    fn users_without_id_are_ignored_and_unknown_state_is_enabled() {
        assert!(desired(&graph_user(r#"{"id":"  "}"#)).is_none());
        assert!(desired(&graph_user(r#"{"id":"x"}"#)).unwrap().enabled);
    }
}
