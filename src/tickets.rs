//! Problem tickets in Halo (opt-in: `INTEGRATOR_HALO_TICKETS=true`), where the service desk
//! works: a failed import, a failing tenant (on that tenant's client), a tripped
//! deactivation threshold and records Halo rejected each get one ticket while the problem
//! lasts. A ticket is found again by the key in its summary (`[halo-integrator: KEY]`, also
//! stored in `third_party_id_string`; Halo's ticket list has no filter on that property), so
//! a repeat adds a note instead of a second ticket, and the first run that finds the problem
//! gone adds a recovery note and, if configured, closes it.
//!
//! What to do is decided by pure functions ([`outcome`], [`plan`]) and table-tested; [`raise`]
//! does the I/O through [`crate::halo`] (the same rate budget as the imports). Ticketing
//! never changes the run's outcome: its own failures are logged and counted
//! (`halo_integrator_tickets_total{action="failed"}`), and it stays within a per-run cap.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::config::TicketOptions;
use crate::halo::{Halo, Ticket};
use crate::imports::ImportReport;
use crate::imports::clients::Clients;
use crate::metrics::Metrics;
use crate::outcome::Severity;
use crate::sync::Withheld;

/// What starts every summary: a ticket is the integrator's when its summary starts so.
pub const MARKER: &str = "[halo-integrator: ";

/// The `action` values of `halo_integrator_tickets_total`.
pub const ACTIONS: &[&str] = &["opened", "noted", "recovered", "failed", "capped"];

/// One open problem of this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable across runs, e.g. `entra-users tenant <id>`.
    pub key: String,
    /// The client the ticket goes to (`None`: the run's client, `INTEGRATOR_TICKET_CLIENT`).
    pub client_id: Option<i64>,
    pub title: String,
    pub details: String,
    /// The README anchor of the runbook of the matching alert.
    pub runbook: &'static str,
}

/// What this run found: its problems, and the keys it checked and found fine (whose open
/// tickets recover). Keys of tenants or imports that did not run are in neither.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub problems: Vec<Problem>,
    pub healthy: Vec<String>,
}

/// The problems and healthy keys of a run's import reports (`run_error`: a failure that
/// stopped the run between imports).
pub fn outcome(imports: &[ImportReport], run_error: Option<&str>) -> Outcome {
    let mut out = Outcome::default();
    if let Some(error) = run_error {
        out.problems.push(Problem {
            key: "run".into(),
            client_id: None,
            title: "the run stopped".into(),
            details: error.to_string(),
            runbook: "alert-halointegratorimportfailed",
        });
    }
    for import in imports {
        let name = import.import;
        match &import.error {
            Some(error) if import.error_severity > Severity::Partial => {
                out.problems.push(Problem {
                    key: name.to_string(),
                    client_id: None,
                    title: format!("{name} failed"),
                    details: error.clone(),
                    runbook: "alert-halointegratorimportfailed",
                });
            }
            _ => out.healthy.push(name.to_string()),
        }
        for t in &import.targets {
            let on = match &t.client {
                Some(client) => format!("{} → {client}", t.id),
                None => t.id.clone(),
            };
            // "tenant" for every kind of target: the keys of tickets already open in Halo.
            let tenant_key = format!("{name} tenant {}", t.id);
            match (&t.problem, t.severity) {
                (Some(problem), Severity::Partial | Severity::Failed | Severity::Config) => {
                    out.problems.push(Problem {
                        key: tenant_key,
                        client_id: t.client_id,
                        title: format!("{name}: {} {on} is failing", t.target),
                        details: problem.clone(),
                        runbook: "alert-halointegratorimportfailed",
                    });
                }
                _ => out.healthy.push(tenant_key),
            }
            let threshold_key = format!("{name} threshold {}", t.id);
            match &t.withheld {
                Some(w @ Withheld::Threshold { .. }) => out.problems.push(Problem {
                    key: threshold_key,
                    client_id: t.client_id,
                    title: format!("{name}: deactivations withheld for {on}"),
                    details: format!(
                        "{w}. Review the planned deactivations (`run --dry-run --plan-file`), \
                         then raise INTEGRATOR_MAX_DEACTIVATIONS / \
                         INTEGRATOR_MAX_DEACTIVATION_PERCENT for one run if they are right."
                    ),
                    runbook: "alert-halointegratorsafetythresholdtripped",
                }),
                _ => out.healthy.push(threshold_key),
            }
            let rejected_key = format!("{name} rejected {}", t.id);
            if t.applied.failed > 0 {
                let keys = if t.rejected.is_empty() {
                    "see the log lines with \"action\":\"failed\"".to_string()
                } else {
                    t.rejected.join(", ")
                };
                out.problems.push(Problem {
                    key: rejected_key,
                    client_id: t.client_id,
                    title: format!(
                        "{name}: Halo rejected {} record(s) of {on}",
                        t.applied.failed
                    ),
                    details: format!("Rejected: {keys}. Each is logged with Halo's reason."),
                    runbook: "alert-halointegratorrecordsfailing",
                });
            } else if t.planned.is_some() {
                out.healthy.push(rejected_key);
            }
        }
    }
    out
}

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No open ticket has the problem's key: open one.
    Open(Problem),
    /// The problem repeats: a note on its open ticket.
    Note { ticket: i64, problem: Problem },
    /// The problem is gone: a recovery note (and the closed status, if configured).
    Recover { ticket: i64, key: String },
}

/// The key of one of the integrator's tickets, from its summary.
pub fn key_of(summary: &str) -> Option<&str> {
    summary
        .strip_prefix(MARKER)?
        .split_once(']')
        .map(|(k, _)| k)
}

/// What to do, given the open tickets of the integrator: at most `cap` steps — new
/// problems first, then recoveries, then notes on repeats (so that a cap never starves a
/// problem of its ticket: what a capped run leaves out, the next run does first); returns
/// how many were left out.
pub fn plan(outcome: &Outcome, open: &[Ticket], cap: usize) -> (Vec<Step>, usize) {
    let ticket_of = |key: &str| {
        open.iter()
            .filter(|t| t.summary.as_deref().and_then(key_of) == Some(key))
            .map(|t| t.id)
            .min()
    };
    let (mut opens, mut notes) = (Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for p in &outcome.problems {
        if !seen.insert(p.key.as_str()) {
            continue;
        }
        match ticket_of(&p.key) {
            Some(ticket) => notes.push(Step::Note {
                ticket,
                problem: p.clone(),
            }),
            None => opens.push(Step::Open(p.clone())),
        }
    }
    let recoveries = outcome.healthy.iter().filter_map(|key| {
        ticket_of(key).map(|ticket| Step::Recover {
            ticket,
            key: key.clone(),
        })
    });
    let mut steps: Vec<Step> = opens.into_iter().chain(recoveries).chain(notes).collect();
    let capped = steps.len().saturating_sub(cap);
    steps.truncate(cap);
    (steps, capped)
}

fn runbook_url(anchor: &str) -> String {
    format!(
        "{}/blob/main/README.md#{anchor}",
        env!("CARGO_PKG_REPOSITORY")
    )
}

fn details(p: &Problem) -> String {
    format!(
        "{}\n\n{}\n\nRunbook: {}\n\nWritten by halo-integrator {}; every run while the problem \
         lasts adds a note here, and the first run without it adds a recovery note.",
        p.title,
        p.details,
        runbook_url(p.runbook),
        env!("CARGO_PKG_VERSION"),
    )
}

/// Opens, notes and recovers the run's problem tickets. Never fails: every error is logged
/// and counted, and the run's outcome is left as it is.
pub async fn raise(
    opts: &TicketOptions,
    halo: &Halo,
    imports: &[ImportReport],
    run_error: Option<&str>,
    metrics: &Metrics,
) {
    for action in ACTIONS {
        metrics.tickets.with_label_values(&[action]);
    }
    let count = |action: &str, n: usize| {
        metrics
            .tickets
            .with_label_values(&[action])
            .inc_by(n as f64);
    };
    let outcome = outcome(imports, run_error);
    let read = async {
        let clients = halo.clients().await?;
        let open = halo.open_tickets(MARKER).await?;
        Ok::<_, crate::halo::HaloError>((clients, open))
    };
    let (clients, open) = match read.await {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(error = %e, "problem tickets: reading Halo failed; no ticket written");
            count("failed", outcome.problems.len().max(1));
            return;
        }
    };
    let run_client = match Clients::new(&clients).find(&opts.client) {
        Ok(client) => client.id,
        Err(why) => {
            tracing::error!("problem tickets: INTEGRATOR_TICKET_CLIENT: {why}; no ticket written");
            count("failed", outcome.problems.len().max(1));
            return;
        }
    };
    // Only the integrator's own tickets: the summary must start with the marker.
    let open: Vec<Ticket> = open
        .into_iter()
        .filter(|t| t.summary.as_deref().and_then(key_of).is_some())
        .collect();
    let (steps, capped) = plan(&outcome, &open, opts.max_per_run);
    if capped > 0 {
        tracing::warn!(
            capped,
            cap = opts.max_per_run,
            "problem tickets: INTEGRATOR_TICKET_MAX_PER_RUN reached; the rest wait for the next run"
        );
        count("capped", capped);
    }
    for step in steps {
        let (entity, item, action) = match &step {
            Step::Open(p) => {
                let mut ticket = json!({
                    "summary": format!("{MARKER}{}] {}", p.key, p.title),
                    "details": details(p),
                    "client_id": p.client_id.unwrap_or(run_client),
                    "tickettype_id": opts.type_id,
                    "third_party_id_string": p.key,
                });
                if let Some(team) = &opts.team {
                    ticket["team"] = json!(team);
                }
                if let Some(agent) = opts.agent_id {
                    ticket["agent_id"] = json!(agent);
                }
                ("Tickets", ticket, "opened")
            }
            Step::Note { ticket, problem } => (
                "Actions",
                json!({
                    "ticket_id": ticket,
                    "outcome_id": opts.outcome_id,
                    "hiddenfromuser": true,
                    "note": format!("Still failing: {}\n\n{}", problem.title, problem.details),
                }),
                "noted",
            ),
            Step::Recover { ticket, key } => {
                let mut note = json!({
                    "ticket_id": ticket,
                    "outcome_id": opts.outcome_id,
                    "hiddenfromuser": true,
                    "note": format!("Recovered: the last run found no problem for {key}."),
                });
                if let Some(status) = opts.closed_status_id {
                    note["new_status"] = json!(status);
                }
                ("Actions", note, "recovered")
            }
        };
        // A ticket create is not retried once it may have landed; the next run finds it.
        let idempotent = !matches!(step, Step::Open(_));
        match halo.post(entity, &[item], idempotent).await {
            Ok(saved) => {
                let id = saved
                    .first()
                    .and_then(|s| s.get("id"))
                    .and_then(Value::as_f64);
                tracing::info!(action, ticket = ?id.map(|f| f as i64), "problem ticket {action}");
                count(action, 1);
            }
            Err(e) => {
                tracing::error!(action, error = %e, "problem ticket not written");
                count("failed", 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imports::{Applied, TargetKind, TargetReport};
    use crate::outcome::Failure;
    use crate::sync::PlanCounts;

    fn problem(tenant: &str, severity: Severity, message: &str) -> TargetReport {
        TargetReport::problem(
            TargetKind::Tenant,
            tenant,
            None,
            Failure::new(severity, message),
        )
    }

    fn tenant(tenant: &str, client_id: i64) -> TargetReport {
        TargetReport {
            planned: Some(PlanCounts::default()),
            problem: None,
            ..problem(tenant, Severity::Ok, "")
        }
        .on(client_id)
    }

    impl TargetReport {
        fn on(mut self, client_id: i64) -> Self {
            self.client_id = Some(client_id);
            self.client = Some(format!("Client {client_id}"));
            self
        }
    }

    fn import(tenants: Vec<TargetReport>) -> ImportReport {
        let mut report = ImportReport::new("entra-users", "user");
        report.targets = tenants;
        report
    }

    fn ticket(id: i64, summary: &str) -> Ticket {
        Ticket {
            id,
            summary: Some(summary.into()),
            client_id: None,
        }
    }

    #[test]
    fn each_kind_of_problem_has_its_key_and_client_and_the_rest_is_healthy() {
        let failing = problem(
            "t-fail",
            Severity::Partial,
            "no admin consent (request-id abc)",
        )
        .on(5);
        let mut rejected = tenant("t-rej", 6);
        rejected.applied = Applied {
            failed: 2,
            ..Applied::default()
        };
        rejected.rejected = vec!["ann@x.example".into(), "bob@x.example".into()];
        let mut threshold = tenant("t-thr", 7);
        threshold.withheld = Some(Withheld::Threshold {
            candidates: 60,
            linked_active: 500,
            max_deactivations: 50,
            max_percent: 10.0,
        });
        let unlinked = problem("t-none", Severity::Partial, "no client");
        let report = import(vec![
            failing,
            rejected,
            threshold,
            tenant("t-ok", 8),
            unlinked,
        ]);
        let o = outcome(&[report], None);
        let problems: Vec<(&str, Option<i64>)> = o
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.client_id))
            .collect();
        assert_eq!(
            problems,
            [
                ("entra-users tenant t-fail", Some(5)),
                ("entra-users rejected t-rej", Some(6)),
                ("entra-users threshold t-thr", Some(7)),
                ("entra-users tenant t-none", None),
            ]
        );
        assert!(o.problems[0].details.contains("request-id abc"));
        assert!(
            o.problems[1]
                .details
                .contains("ann@x.example, bob@x.example")
        );
        assert!(o.problems[2].details.contains("60"));
        for key in [
            "entra-users",
            "entra-users tenant t-ok",
            "entra-users rejected t-ok",
            "entra-users threshold t-fail",
        ] {
            assert!(
                o.healthy.iter().any(|h| h == key),
                "{key} healthy: {:?}",
                o.healthy
            );
        }
        assert!(
            !o.healthy.iter().any(|h| h == "entra-users rejected t-fail"),
            "a tenant that never planned proves nothing about rejected records"
        );
    }

    #[test]
    fn a_failed_import_and_a_stopped_run_go_to_the_run_client() {
        let mut failed = import(vec![]);
        failed.error = Some("reading Halo clients failed: HTTP 502".into());
        failed.error_severity = Severity::Failed;
        let o = outcome(&[failed], Some("interrupted"));
        let keys: Vec<(&str, Option<i64>)> = o
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.client_id))
            .collect();
        assert_eq!(keys, [("run", None), ("entra-users", None)]);
    }

    #[test]
    fn open_then_repeat_then_recover_and_never_a_second_ticket() {
        let problem = |key: &str| Problem {
            key: key.into(),
            client_id: Some(1),
            title: "t".into(),
            details: "d".into(),
            runbook: "a",
        };
        let failing = Outcome {
            problems: vec![problem("k1"), problem("k1")],
            healthy: vec!["k2".into()],
        };
        // Nothing open: one ticket, even for a key reported twice.
        let (steps, capped) = plan(&failing, &[], 10);
        assert_eq!(steps, [Step::Open(problem("k1"))]);
        assert_eq!(capped, 0);
        // Open already (and a foreign ticket that only mentions the marker): a note.
        let open = [
            ticket(40, "[halo-integrator: k1] entra-users: tenant failing"),
            ticket(41, "Re: [halo-integrator: k1] forwarded"),
        ];
        let (steps, _) = plan(&failing, &open, 10);
        assert_eq!(
            steps,
            [Step::Note {
                ticket: 40,
                problem: problem("k1")
            }]
        );
        // Gone: recovered.
        let fine = Outcome {
            problems: vec![],
            healthy: vec!["k1".into()],
        };
        let (steps, _) = plan(&fine, &open, 10);
        assert_eq!(
            steps,
            [Step::Recover {
                ticket: 40,
                key: "k1".into()
            }]
        );
    }

    #[test]
    fn the_cap_keeps_new_problems_then_recoveries_then_repeats() {
        let problems = ["old", "new1", "new2"]
            .map(|key| Problem {
                key: key.into(),
                client_id: None,
                title: String::new(),
                details: String::new(),
                runbook: "a",
            })
            .to_vec();
        let o = Outcome {
            problems,
            healthy: vec!["fixed".into()],
        };
        let open = [
            ticket(8, "[halo-integrator: old] x"),
            ticket(9, "[halo-integrator: fixed] x"),
        ];
        let kinds = |cap| {
            let (steps, capped) = plan(&o, &open, cap);
            let kinds: Vec<&str> = steps
                .iter()
                .map(|s| match s {
                    Step::Open(_) => "open",
                    Step::Recover { .. } => "recover",
                    Step::Note { .. } => "note",
                })
                .collect();
            (kinds, capped)
        };
        assert_eq!(kinds(10), (vec!["open", "open", "recover", "note"], 0));
        assert_eq!(kinds(3), (vec!["open", "open", "recover"], 1));
        assert_eq!(kinds(1), (vec!["open"], 3));
    }

    #[test]
    fn keys_come_only_from_the_integrators_own_summaries() {
        assert_eq!(key_of("[halo-integrator: a b] title"), Some("a b"));
        assert_eq!(key_of("Re: [halo-integrator: a] title"), None);
        assert_eq!(key_of("[halo-integrator: unterminated"), None);
    }
}
