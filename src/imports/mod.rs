//! Imports: one module per import (read source + Halo → plan with [`crate::sync`] →
//! apply through [`crate::halo`]), plus what they share: tenant resolution, the generic
//! apply step and the reports they return to the runner.

pub mod apply;
pub mod assets;
pub mod clients;
pub mod csv_assets;
pub mod entra_users;
pub mod intune_devices;
pub mod ldap_users;
mod packed;
mod targets;
pub mod tenants;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, ImportKind};
use crate::halo::{Client, Halo, HaloError};
use crate::metrics::Metrics;
use crate::sources::graph::Graph;
use crate::sync::{Plan, PlanCounts, Withheld};

pub use apply::Applied;

/// Set when SIGTERM/SIGINT arrives: no new batch or tenant is started after that.
#[derive(Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How bad an outcome is. The derived order is the exit-code precedence (the greatest
/// wins; docs/contracts.md, Exit codes): 2, 130/143, 1, 4, 3, 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    /// Some records or tenants failed; the rest synced (exit 3).
    Partial,
    /// A safety threshold withheld deactivations (exit 4).
    Threshold,
    /// An import failed: network, 5xx after retries, unexpected response (exit 1).
    Failed,
    /// Stopped by a signal (exit 130/143).
    Interrupted,
    /// Configuration or credentials invalid (exit 2).
    Config,
}

impl Severity {
    /// The severity of a Halo error: credentials rejected (also mid-run) are a
    /// configuration problem (exit 2); everything else failed (exit 1).
    pub fn of_halo(e: &HaloError) -> Severity {
        if e.is_credentials() {
            Severity::Config
        } else {
            Severity::Failed
        }
    }
}

/// What happened to one tenant of one import.
#[derive(Debug, Clone, Serialize)]
pub struct TenantReport {
    pub tenant: String,
    pub client: Option<String>,
    /// The Halo client's id, when the tenant maps to one.
    pub client_id: Option<i64>,
    /// What the plan said (absent when the tenant failed before planning).
    pub planned: Option<PlanCounts>,
    pub applied: Applied,
    pub severity: Severity,
    /// Why the tenant is not `ok`.
    pub problem: Option<String>,
    pub withheld: Option<Withheld>,
    /// The keys of the records Halo rejected (logged one by one as they happened).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
    /// The full plan, for `--plan-file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

impl TenantReport {
    pub fn problem(
        tenant: &str,
        client: Option<&Client>,
        severity: Severity,
        message: String,
    ) -> Self {
        TenantReport {
            tenant: tenant.to_string(),
            client: client.map(Client::display_name),
            client_id: client.map(|c| c.id),
            planned: None,
            applied: Applied::default(),
            severity,
            problem: Some(message),
            withheld: None,
            rejected: Vec::new(),
            plan: None,
        }
    }
}

/// What happened to one import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub import: ImportKind,
    pub entity: &'static str,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    pub tenants: Vec<TenantReport>,
    /// A failure of the whole import (before any tenant ran).
    pub error: Option<String>,
    pub error_severity: Severity,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ImportReport {
    /// A report with no tenants yet.
    pub fn new(import: ImportKind, entity: &'static str) -> Self {
        ImportReport {
            import,
            entity,
            duration: Duration::ZERO,
            tenants: Vec::new(),
            error: None,
            error_severity: Severity::Ok,
        }
    }

    pub fn severity(&self) -> Severity {
        self.tenants
            .iter()
            .map(|t| t.severity)
            .chain(std::iter::once(self.error_severity))
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// Sum of what was applied across tenants.
    pub fn applied(&self) -> Applied {
        self.tenants
            .iter()
            .fold(Applied::default(), |acc, t| acc + t.applied)
    }

    /// Sum of the planned counts across tenants.
    pub fn planned(&self) -> PlanCounts {
        self.tenants
            .iter()
            .filter_map(|t| t.planned)
            .fold(PlanCounts::default(), |acc, p| acc + p)
    }
}

/// What an import needs from the run.
pub struct Context<'a> {
    pub config: &'a Config,
    pub halo: &'a Halo,
    pub graph: Option<&'a Graph>,
    pub metrics: &'a Metrics,
    pub shutdown: &'a Shutdown,
    pub directory: &'a tenants::Directory,
    pub dry_run: bool,
    /// The `assettype_id` for new assets (`INTUNE_ASSET_TYPE`), resolved once per run
    /// before any import when `intune-devices` runs.
    pub intune_asset_type: Option<i64>,
}

/// A trimmed source text as a Halo value: blank or absent is `null` ("no value").
pub(crate) fn text(value: Option<&str>) -> Value {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// Runs one import and reports on it; never panics on remote data.
pub async fn run(kind: ImportKind, ctx: &Context<'_>) -> ImportReport {
    match kind {
        ImportKind::EntraUsers => entra_users::run(ctx).await,
        ImportKind::IntuneDevices => intune_devices::run(ctx).await,
        ImportKind::CsvAssets => csv_assets::run(ctx).await,
        ImportKind::LdapUsers => ldap_users::run(ctx).await,
    }
}
