//! The `check` command: a read-only probe of the user's own Halo (and sources) for every
//! assumption a run relies on, one verdict line each (`ok   <subject>: ...` or
//! `FAIL <subject>: ...`). The general probes are here; each import probes its own
//! assumptions (`crate::imports::unit::Import::check`).

use std::fmt::Write as _;

use crate::config::{Config, TicketOptions};
use crate::halo::Halo;
use crate::imports::{self, Context, Shutdown, tenants};
use crate::metrics::Metrics;
use crate::runner::{Clients, RunOptions, resolve_tenants, selected_imports};
use crate::tickets;

/// The verdict lines of `check`: one per assumption a run relies on, `ok` or `FAIL`.
pub struct Verdicts {
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

    /// One verdict: `Ok(what holds)` or `Err(what does not)`.
    pub fn add(&mut self, subject: impl std::fmt::Display, result: Result<String, String>) {
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

/// `check`: the token; tenants from the client list (`includeazuretenants`); tickets when
/// enabled; then every selected import's own probes. Not ok (exit 2) when anything would
/// make `run` fail or write wrongly.
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
    let shutdown = Shutdown::default();
    let ctx = Context {
        config,
        halo,
        graph: clients.graph.as_ref(),
        metrics,
        shutdown: &shutdown,
        directory: &directory,
        dry_run: true,
    };
    for import in imports {
        import.check(&ctx, &mut v).await;
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
