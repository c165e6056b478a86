//! Fault injection: what can go wrong between the integrator and the services, and which
//! requests it hits. Faults are matched in the order they were injected; each fault counts
//! the requests matching its [`Target`], lets `skip` of them pass, then applies to the next
//! `times`. Only the first fault applying to a request fires.

use serde::{Deserialize, Serialize};

/// One of the services the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Service {
    /// `POST /auth/token`
    HaloAuth,
    /// `/api/...`
    HaloApi,
    /// `POST /entra/{tenant}/oauth2/v2.0/token`
    EntraAuth,
    /// `/graph/...`
    Graph,
}

impl Service {
    /// Halo's services share the rate limit and the Halo-style error bodies.
    pub fn is_halo(self) -> bool {
        matches!(self, Service::HaloAuth | Service::HaloApi)
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub service: Service,
    /// HTTP method, case-insensitive; `None` = any.
    #[serde(default)]
    pub method: Option<String>,
    /// Case-insensitive substring of the path plus query (`/api/Users?page_no=2`);
    /// `None` = any.
    #[serde(default)]
    pub path_contains: Option<String>,
}

impl Target {
    /// Every request to `service`.
    pub fn service(service: Service) -> Target {
        Target {
            service,
            method: None,
            path_contains: None,
        }
    }

    pub(crate) fn matches(&self, service: Service, method: &str, path_and_query: &str) -> bool {
        self.service == service
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_contains.as_deref().is_none_or(|p| {
                path_and_query
                    .to_ascii_lowercase()
                    .contains(&p.to_ascii_lowercase())
            })
    }
}

/// What happens to a faulted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// 429, request not processed. Halo: the rate-limit text body; Graph: the error envelope
    /// with code `TooManyRequests`; Entra: an OAuth error body. `Retry-After` only if given.
    TooManyRequests { retry_after: Option<u64> },
    /// A gateway's HTML error page (`text/html`) with this status; not processed.
    Html { status: u16 },
    /// A canned response; not processed.
    Status {
        status: u16,
        body: String,
        content_type: String,
    },
    /// Sleep, then process normally.
    Delay { ms: u64 },
    /// Process the request (writes are committed), then drop the connection without sending
    /// a response.
    CommitThenDrop,
    /// Drop the connection without processing the request.
    DropBeforeCommit,
    /// Process the request (writes are committed), then answer with an HTML error page.
    CommitThenHtml { status: u16 },
    /// Revoke every token issued by the target's service (Halo or Entra), then handle the
    /// request, which therefore gets 401 if it carries one of those tokens.
    RevokeTokens,
}

impl FaultKind {
    /// The status codes carried by this kind, if any, must be valid HTTP statuses.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let status = match self {
            FaultKind::Html { status }
            | FaultKind::Status { status, .. }
            | FaultKind::CommitThenHtml { status } => *status,
            _ => return Ok(()),
        };
        if (100..=999).contains(&status) {
            Ok(())
        } else {
            Err(format!("invalid HTTP status {status}"))
        }
    }

    /// A short name for the request log.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::TooManyRequests { .. } => "TooManyRequests",
            FaultKind::Html { .. } => "Html",
            FaultKind::Status { .. } => "Status",
            FaultKind::Delay { .. } => "Delay",
            FaultKind::CommitThenDrop => "CommitThenDrop",
            FaultKind::DropBeforeCommit => "DropBeforeCommit",
            FaultKind::CommitThenHtml { .. } => "CommitThenHtml",
            FaultKind::RevokeTokens => "RevokeTokens",
        }
    }
}

/// A fault: apply `kind` to the matching requests number `skip + 1 ..= skip + times`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub target: Target,
    pub kind: FaultKind,
    /// Let this many matching requests pass first.
    #[serde(default)]
    pub skip: u32,
    /// Then apply to this many (`u32::MAX` ≈ forever).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Applies once to the next request matching `target`.
    pub fn new(target: Target, kind: FaultKind) -> Fault {
        Fault {
            target,
            kind,
            skip: 0,
            times: 1,
        }
    }

    fn targeted(service: Service, method: &str, path_contains: &str, kind: FaultKind) -> Fault {
        Fault::new(
            Target {
                service,
                method: (!method.is_empty()).then(|| method.to_string()),
                path_contains: (!path_contains.is_empty()).then(|| path_contains.to_string()),
            },
            kind,
        )
    }

    /// A Halo API fault; an empty `method` or `path_contains` matches any.
    pub fn halo_api(method: &str, path_contains: &str, kind: FaultKind) -> Fault {
        Fault::targeted(Service::HaloApi, method, path_contains, kind)
    }

    /// A fault on Halo's token endpoint.
    pub fn halo_auth(kind: FaultKind) -> Fault {
        Fault::new(Target::service(Service::HaloAuth), kind)
    }

    /// A fault on Entra's token endpoint; `path_contains` may name a tenant id.
    pub fn entra_auth(path_contains: &str, kind: FaultKind) -> Fault {
        Fault::targeted(Service::EntraAuth, "", path_contains, kind)
    }

    /// A Graph fault; an empty `method` or `path_contains` matches any.
    pub fn graph(method: &str, path_contains: &str, kind: FaultKind) -> Fault {
        Fault::targeted(Service::Graph, method, path_contains, kind)
    }

    /// Let `skip` matching requests pass first.
    pub fn skip(mut self, skip: u32) -> Fault {
        self.skip = skip;
        self
    }

    /// Apply to `times` matching requests.
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times;
        self
    }

    /// Apply to every matching request (after `skip`).
    pub fn always(self) -> Fault {
        self.times(u32::MAX)
    }
}

/// An injected fault and how many matching requests it has seen.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    fault: Fault,
    seen: u64,
}

/// The injected faults, in order.
#[derive(Debug, Default)]
pub(crate) struct Faults(Vec<ActiveFault>);

impl Faults {
    pub(crate) fn push(&mut self, fault: Fault) {
        self.0.push(ActiveFault { fault, seen: 0 });
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Counts the request against every matching fault; returns the kind of the first fault
    /// that applies to it.
    pub(crate) fn on_request(
        &mut self,
        service: Service,
        method: &str,
        path_and_query: &str,
    ) -> Option<FaultKind> {
        let mut fired = None;
        for active in &mut self.0 {
            if !active.fault.target.matches(service, method, path_and_query) {
                continue;
            }
            active.seen += 1;
            let skip = u64::from(active.fault.skip);
            let applies = active.seen > skip && active.seen <= skip + u64::from(active.fault.times);
            if applies && fired.is_none() {
                fired = Some(active.fault.kind.clone());
            }
        }
        fired
    }
}
