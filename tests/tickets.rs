//! End-to-end tests of problem tickets in Halo (`INTEGRATOR_HALO_TICKETS=true`): the
//! compiled binary against the simulated service desk. What a service-desk agent would
//! check: one ticket per problem on the right client, notes on repeats instead of new
//! tickets, a recovery note and the closed status once the problem is gone — and that
//! ticketing never changes the run's exit code.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use halo_integrator::sim::{
    Fault, FaultKind, HaloTicket, OUTCOME_PRIVATE_NOTE, STATUS_CLOSED, STATUS_NEW, Service,
    TICKET_TYPE_PROBLEM, World,
};

/// Contoso (T1, fine) and Fabrikam (T2, the app not consented: a failing tenant), plus the
/// MSP's own client for run-level problems.
fn world() -> World {
    let mut w = tenant_world(3);
    w.add_client("Fabrikam Inc", &[T2]);
    w.add_tenant(T2, "Fabrikam").consented = false;
    w.add_client("Acme MSP", &[]);
    w
}

fn env_with_tickets(sim: &Sim) -> Vec<(String, String)> {
    let mut env = env_for(sim);
    for (k, v) in [
        ("INTEGRATOR_HALO_TICKETS", "true".to_string()),
        ("INTEGRATOR_TICKET_TYPE_ID", TICKET_TYPE_PROBLEM.to_string()),
        ("INTEGRATOR_TICKET_CLIENT", "Acme MSP".to_string()),
        (
            "INTEGRATOR_TICKET_OUTCOME_ID",
            OUTCOME_PRIVATE_NOTE.to_string(),
        ),
        (
            "INTEGRATOR_TICKET_CLOSED_STATUS_ID",
            STATUS_CLOSED.to_string(),
        ),
        ("INTEGRATOR_TICKET_TEAM", "Integrations".to_string()),
    ] {
        set(&mut env, k, &v);
    }
    env
}

/// A stand-in Pushgateway on loopback that keeps the bodies pushed to it (the real one is
/// exercised by `tests/observability.rs`); returns its URL.
async fn pushgateway() -> (String, Arc<Mutex<Vec<String>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let keep = bodies.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let keep = keep.clone();
        async move {
            keep.lock().unwrap().push(body);
            ""
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, bodies)
}

fn tickets(w: &World) -> Vec<HaloTicket> {
    w.halo.tickets.clone()
}

fn client_id(w: &World, name: &str) -> i64 {
    w.halo.clients.iter().find(|c| c.name == name).unwrap().id
}

#[tokio::test]
async fn a_failing_tenant_gets_one_ticket_notes_on_repeats_and_is_closed_on_recovery() {
    let sim = start(world()).await;
    let env = env_with_tickets(&sim);

    let first = run(&env, &["run"]).await;
    assert_eq!(
        first.code, 3,
        "ticketing never changes the outcome: {first:?}"
    );
    let w = sim.world();
    let open = tickets(&w);
    assert_eq!(open.len(), 1, "{open:#?}");
    let t = &open[0];
    assert_eq!(
        t.client_id,
        client_id(&w, "Fabrikam Inc"),
        "on the tenant's client"
    );
    assert_eq!(t.tickettype_id, TICKET_TYPE_PROBLEM);
    assert_eq!(t.team.as_deref(), Some("Integrations"));
    assert!(
        t.summary
            .starts_with(&format!("[halo-integrator: entra-users tenant {T2}]")),
        "{}",
        t.summary
    );
    assert!(
        t.details.contains("consent") && t.details.contains("#alert-halointegratorimportfailed"),
        "{}",
        t.details
    );
    assert_eq!(
        t.third_party_id_string.as_deref(),
        Some(format!("entra-users tenant {T2}").as_str())
    );

    // The problem repeats: a note, no second ticket.
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 3, "{second:?}");
    let w = sim.world();
    assert_eq!(tickets(&w).len(), 1, "no duplicate");
    let t = &tickets(&w)[0];
    assert_eq!(t.actions.len(), 1);
    assert_eq!(t.actions[0].outcome_id, OUTCOME_PRIVATE_NOTE);
    assert!(t.actions[0].note.starts_with("Still failing"));
    assert_eq!(t.status_id, STATUS_NEW);

    // Fixed: a recovery note, and the ticket is closed.
    sim.update_world(|w| w.tenant_mut(T2).unwrap().consented = true);
    let fixed = run(&env, &["run"]).await;
    assert_eq!(fixed.code, 0, "{fixed:?}");
    let w = sim.world();
    assert_eq!(tickets(&w).len(), 1);
    let t = &tickets(&w)[0];
    assert_eq!(t.status_id, STATUS_CLOSED);
    assert!(t.actions.last().unwrap().note.starts_with("Recovered"));
    let requests = sim.requests();
    sim.clear_requests();

    // Nothing open, nothing failing: no ticket write at all.
    let quiet = run(&env, &["run"]).await;
    assert_eq!(quiet.code, 0, "{quiet:?}");
    let writes = |r: &[halo_integrator::sim::RequestRecord]| {
        count(r, Service::HaloApi, "POST", "/api/Tickets")
            + count(r, Service::HaloApi, "POST", "/api/Actions")
    };
    assert_eq!(writes(&sim.requests()), 0);
    assert!(writes(&requests) > 0);
    assert_eq!(tickets(&sim.world()).len(), 1);
}

#[tokio::test]
async fn a_ticket_write_that_fails_is_counted_and_the_run_keeps_its_outcome() {
    let sim = start(world()).await;
    sim.inject(
        Fault::halo_api(
            "POST",
            "/api/tickets",
            FaultKind::Status {
                status: 500,
                body: "Internal Server Error".into(),
                content_type: "text/plain".into(),
            },
        )
        .always(),
    );
    let (url, pushed) = pushgateway().await;
    let mut env = env_with_tickets(&sim);
    set(&mut env, "INTEGRATOR_PUSHGATEWAY_URL", &url);
    let out = run(&env, &["run"]).await;
    assert_eq!(
        out.code, 3,
        "the tenant's problem decides the exit code: {out:?}"
    );
    assert!(tickets(&sim.world()).is_empty());
    let pushed = pushed.lock().unwrap().join("\n");
    assert!(
        pushed.contains("halo_integrator_tickets_total{action=\"failed\"} 1"),
        "{pushed}"
    );
    assert!(pushed.contains("halo_integrator_tickets_total{action=\"opened\"} 0"));
    assert!(
        out.all_output().contains("problem ticket not written"),
        "{out:?}"
    );
    assert!(
        out.all_output().contains(&format!("tenant {T2}")),
        "the original error is still reported: {out:?}"
    );
}

#[tokio::test]
async fn a_dry_run_opens_nothing_and_the_cap_limits_a_run() {
    let mut w = world();
    for (n, t) in [T3, "44444444-4444-4444-8444-444444444444"]
        .iter()
        .enumerate()
    {
        w.add_client(&format!("Broken {n}"), &[t]);
        w.add_tenant(t, "Broken").consented = false;
    }
    let sim = start(w).await;
    let mut env = env_with_tickets(&sim);
    let dry = run(&env, &["run", "--dry-run"]).await;
    assert_eq!(dry.code, 3, "{dry:?}");
    assert!(tickets(&sim.world()).is_empty(), "dry runs open nothing");
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Tickets"),
        0
    );

    set(&mut env, "INTEGRATOR_TICKET_MAX_PER_RUN", "2");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(
        tickets(&sim.world()).len(),
        2,
        "three failing tenants, cap 2"
    );
    assert!(
        out.all_output()
            .contains("INTEGRATOR_TICKET_MAX_PER_RUN reached"),
        "{out:?}"
    );
    let next = run(&env, &["run"]).await;
    assert_eq!(next.code, 3);
    assert_eq!(tickets(&sim.world()).len(), 3, "the next run catches up");
}

#[tokio::test]
async fn ticket_settings_are_validated_and_checked() {
    let sim = start(world()).await;
    let mut env = env_with_tickets(&sim);
    unset(&mut env, "INTEGRATOR_TICKET_OUTCOME_ID");
    set(&mut env, "INTEGRATOR_TICKET_TYPE_ID", "problem");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    for text in [
        "INTEGRATOR_TICKET_OUTCOME_ID",
        "INTEGRATOR_TICKET_TYPE_ID",
        "got 'problem'",
    ] {
        assert!(out.all_output().contains(text), "{text}: {out:?}");
    }
    assert!(sim.requests().is_empty(), "nothing sent");

    let env = env_with_tickets(&sim);
    let check = run(&env, &["check"]).await;
    assert!(
        check
            .stdout
            .contains("ok   halo tickets: run-level problems go to Acme MSP"),
        "{check:?}"
    );
    let mut env = env_with_tickets(&sim);
    set(&mut env, "INTEGRATOR_TICKET_CLIENT", "Nobody Ltd");
    let check = run(&env, &["check"]).await;
    assert_eq!(check.code, 2, "{check:?}");
    assert!(
        check
            .stdout
            .contains("FAIL halo tickets: INTEGRATOR_TICKET_CLIENT"),
        "{check:?}"
    );
}
