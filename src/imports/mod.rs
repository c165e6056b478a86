//! Imports: one folder per import (its options, mapping, `run` and `check`: the
//! [`unit::Import`] it implements), listed once in [`registry`]; plus what they share: the
//! target loop ([`targets`]), tenant resolution, the generic apply step and the reports
//! they return to the runner.

pub mod apply;
pub mod assets;
pub mod clients;
pub mod csv_assets;
pub mod entra_users;
pub mod intune_devices;
pub mod ldap_users;
pub mod mapped;
mod packed;
pub(crate) mod registry;
pub mod targets;
pub mod tenants;
pub mod unit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::halo::{Client, Halo};
use crate::metrics::Metrics;
use crate::outcome::{Failure, Severity};
use crate::sources::graph::Graph;
use crate::sync::{Plan, PlanCounts, Withheld};

pub use apply::Applied;
pub use targets::TargetKind;

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

/// What happened to one target of one import (a tenant, or a file's or a directory's
/// records of one client: [`TargetKind`]).
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// What the target is (`tenant`, `file`, `base`).
    pub target: TargetKind,
    /// The tenant id, file name or base DN (the plan file's `tenant`).
    #[serde(rename = "tenant")]
    pub id: String,
    pub client: Option<String>,
    /// The Halo client's id, when the tenant maps to one.
    pub client_id: Option<i64>,
    /// What the plan said (absent when the tenant failed before planning).
    pub planned: Option<PlanCounts>,
    pub applied: Applied,
    pub severity: Severity,
    /// Why the target is not `ok`.
    pub problem: Option<String>,
    pub withheld: Option<Withheld>,
    /// The keys of the records Halo rejected (logged one by one as they happened).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
    /// The full plan, for `--plan-file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

impl TargetReport {
    /// A target that failed before planning.
    pub fn problem(
        target: TargetKind,
        id: &str,
        client: Option<&Client>,
        failure: Failure,
    ) -> Self {
        TargetReport {
            target,
            id: id.to_string(),
            client: client.map(Client::display_name),
            client_id: client.map(|c| c.id),
            planned: None,
            applied: Applied::default(),
            severity: failure.severity,
            problem: Some(failure.message),
            withheld: None,
            rejected: Vec::new(),
            plan: None,
        }
    }
}

/// What happened to one import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The import's name.
    pub import: &'static str,
    pub entity: &'static str,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// Its targets (the plan file's `tenants`).
    #[serde(rename = "tenants")]
    pub targets: Vec<TargetReport>,
    /// A failure of the whole import (before any target ran).
    pub error: Option<String>,
    pub error_severity: Severity,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl ImportReport {
    /// A report with no targets yet.
    pub fn new(import: &'static str, entity: &'static str) -> Self {
        ImportReport {
            import,
            entity,
            duration: Duration::ZERO,
            targets: Vec::new(),
            error: None,
            error_severity: Severity::Ok,
        }
    }

    pub fn severity(&self) -> Severity {
        self.targets
            .iter()
            .map(|t| t.severity)
            .chain(std::iter::once(self.error_severity))
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// Sum of what was applied across targets.
    pub fn applied(&self) -> Applied {
        self.targets
            .iter()
            .fold(Applied::default(), |acc, t| acc + t.applied)
    }

    /// Sum of the planned counts across targets.
    pub fn planned(&self) -> PlanCounts {
        self.targets
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
}

/// The Halo user text fields the user imports fill (`entra-users` all of them, in this
/// order; `ldap-users` those `LDAP_ATTRIBUTES` maps).
pub const USER_TEXT_FIELDS: [&str; 7] = [
    "name",
    "firstname",
    "surname",
    "emailaddress",
    "title",
    "phonenumber",
    "mobilenumber",
];

/// A trimmed source text as a Halo value: blank or absent is `null` ("no value").
pub(crate) fn text(value: Option<&str>) -> Value {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(Value::Null, |s| Value::String(s.to_string()))
}
