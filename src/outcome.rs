//! The one place that turns errors into severities ([`Classify`]) and severities into exit
//! codes ([`exit_code`]; docs/contracts.md, Exit codes).

use serde::Serialize;

use crate::halo::HaloError;
use crate::sources::graph::GraphError;
use crate::sources::ldap::LdapReadError;

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

/// The severity an error gives the run.
pub trait Classify {
    fn severity(&self) -> Severity;
}

impl Classify for HaloError {
    /// Credentials rejected (also mid-run) are a configuration problem (exit 2); everything
    /// else failed (exit 1).
    fn severity(&self) -> Severity {
        if self.is_credentials() {
            Severity::Config
        } else {
            Severity::Failed
        }
    }
}

impl Classify for GraphError {
    /// The app's credentials: wrong for every tenant (exit 2); one tenant's setup (consent,
    /// permission, licence): that tenant fails (exit 3); anything else failed (exit 1).
    fn severity(&self) -> Severity {
        if self.is_credentials() {
            Severity::Config
        } else if self.is_tenant_setup() {
            Severity::Partial
        } else {
            Severity::Failed
        }
    }
}

impl Classify for LdapReadError {
    /// A refused bind or an unusable `LDAP_CA_FILE` is configuration (exit 2).
    fn severity(&self) -> Severity {
        match self {
            LdapReadError::Credentials(_) | LdapReadError::CaFile(_) => Severity::Config,
            LdapReadError::Failed(_) => Severity::Failed,
        }
    }
}

/// Something that stopped an import or one of its targets, with the severity it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub severity: Severity,
    pub message: String,
}

impl Failure {
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Failure {
            severity,
            message: message.into(),
        }
    }

    /// A configuration problem (exit 2): a variable names something that does not exist.
    pub fn config(message: impl Into<String>) -> Self {
        Failure::new(Severity::Config, message)
    }

    /// A failed Halo read: `reading Halo {what} failed: {e}`, classified.
    pub fn halo_read(what: &str, e: &HaloError) -> Self {
        Failure::new(e.severity(), format!("reading Halo {what} failed: {e}"))
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

/// The summary's last line for a run of this severity.
pub fn describe(severity: Severity) -> &'static str {
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
