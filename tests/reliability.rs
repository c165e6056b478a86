//! Reliability under faults and bad input, end to end: every fault the simulator has ×
//! every write path, a corpus of malformed API responses, and hostile source data. Each
//! case checks what a user would: the exit code, that Halo ends as a fault-free run
//! leaves it, that nothing was written twice or from a half-read answer, and that the
//! error names the API, the route and the request id — never a panic.

mod common;

use common::*;
use halo_integrator::sim::{EntraUser, Fault, FaultKind, HaloUser, Service, Target};

/// The write paths of the `converges_under` / `devices_converge_under` worlds with
/// `HALO_BATCH_SIZE=5`, as the index of the POST they start with: 12 creates (3 batches),
/// then the updates (3 changed records, one batch), then one deactivation.
const WRITE_PATHS: &[(&str, u32)] = &[("create", 0), ("update", 3), ("deactivate", 4)];

fn faults() -> Vec<(&'static str, FaultKind)> {
    vec![
        (
            "429 without Retry-After",
            FaultKind::TooManyRequests { retry_after: None },
        ),
        (
            "429 with Retry-After",
            FaultKind::TooManyRequests {
                retry_after: Some(1),
            },
        ),
        ("HTML 502", FaultKind::Html { status: 502 }),
        ("timeout", FaultKind::Delay { ms: 2500 }),
        ("commit then drop", FaultKind::CommitThenDrop),
        ("drop before commit", FaultKind::DropBeforeCommit),
        ("commit then 500", FaultKind::CommitThenHtml { status: 500 }),
        ("token revoked", FaultKind::RevokeTokens),
        ("slow response", FaultKind::Delay { ms: 300 }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_every_user_write_path_converges_without_duplicates() {
    let mut covered = 0;
    for (path, skip) in WRITE_PATHS {
        for (fault, kind) in faults() {
            let f = Fault::halo_api("POST", "/api/Users", kind).skip(*skip);
            // `converges_under` asserts the final state equals a fault-free run's and
            // that no duplicate exists.
            let (out, requests) = converges_under(vec![f]).await;
            assert_eq!(out.code, 0, "{fault} on user {path}: {out:?}");
            assert!(
                requests.iter().any(|r| r.fault.is_some()),
                "{fault} on user {path}: the fault never fired"
            );
            covered += 1;
        }
    }
    assert_eq!(covered, 27);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_every_asset_write_path_converges_without_duplicates() {
    let mut covered = 0;
    for (path, skip) in WRITE_PATHS {
        for (fault, kind) in faults() {
            let f = Fault::halo_api("POST", "/api/Asset", kind).skip(*skip);
            let (out, requests) = devices_converge_under(vec![f]).await;
            assert_eq!(out.code, 0, "{fault} on asset {path}: {out:?}");
            assert!(
                requests.iter().any(|r| r.fault.is_some()),
                "{fault} on asset {path}: the fault never fired"
            );
            covered += 1;
        }
    }
    assert_eq!(covered, 27);
}

/// A canned answer to every request of `target`.
fn always(target: Target, status: u16, body: &str, content_type: &str) -> Fault {
    Fault::new(
        target,
        FaultKind::Status {
            status,
            body: body.to_string(),
            content_type: content_type.to_string(),
        },
    )
    .always()
}

fn halo_users() -> Target {
    Target {
        service: Service::HaloApi,
        method: Some("GET".into()),
        path_contains: Some("/api/Users".into()),
    }
}

fn graph_users() -> Target {
    Target {
        service: Service::Graph,
        method: Some("GET".into()),
        path_contains: Some("/v1.0/users".into()),
    }
}

#[tokio::test]
async fn malformed_responses_give_clear_errors_and_no_writes() {
    const JSON: &str = "application/json";
    // (case, target, body, content type, text the error must contain)
    let cases: Vec<(&str, Target, String, &str, &str)> = vec![
        ("truncated JSON", halo_users(), r#"{"page_no":1,"record_count":5,"users":[{"id":1,"name":"A""#.into(), JSON, "halo GET /api/Users"),
        ("HTML with 200", halo_users(), "<html><body>Down for maintenance</body></html>".into(), "text/html", "halo GET /api/Users"),
        ("wrong types", halo_users(), r#"{"record_count":1,"users":[{"id":{"x":1},"name":"A"}]}"#.into(), JSON, "halo GET /api/Users"),
        ("id as text", halo_users(), r#"{"record_count":1,"users":[{"id":"seven","name":"A"}]}"#.into(), JSON, "expected a number"),
        ("records not an array", halo_users(), r#"{"record_count":1,"users":"none"}"#.into(), JSON, "halo GET /api/Users"),
        ("nulls everywhere", halo_users(), r#"{"page_no":null,"record_count":null,"users":null}"#.into(), JSON, "halo GET /api/Users"),
        ("empty object", halo_users(), "{}".into(), JSON, "halo GET /api/Users"),
        ("record_count that lies / a page repeating forever", halo_users(), r#"{"record_count":500,"users":[{"id":1,"name":"A"}]}"#.into(), JSON, "repeated records"),
        ("Graph truncated JSON", graph_users(), r#"{"value":[{"id":"1""#.into(), JSON, "graph GET /v1.0/users"),
        ("Graph value missing", graph_users(), r#"{"@odata.context":"x"}"#.into(), JSON, "graph GET /v1.0/users"),
        ("Graph nextLink to another host", graph_users(), r#"{"value":[],"@odata.nextLink":"https://graph.evil.example/v1.0/users?$skiptoken=1"}"#.into(), JSON, "not sending the token there"),
        ("Graph HTML error page", graph_users(), "<html><title>503 Service Unavailable</title></html>".into(), "text/html", "graph GET /v1.0/users"),
    ];
    for (name, target, body, content_type, expect) in cases {
        let sim = start(tenant_world(3)).await;
        let status = if name.contains("HTML error page") {
            503
        } else {
            200
        };
        sim.inject(always(target, status, &body, content_type));
        let mut env = env_for(&sim);
        set(&mut env, "INTEGRATOR_RETRY_MAX_ATTEMPTS", "2");
        set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
        let out = run(&env, &["run"]).await;
        assert_eq!(out.code, 1, "{name}: {out:?}");
        assert!(
            out.stderr.contains(expect),
            "{name}: error lacks '{expect}': {out:?}"
        );
        assert!(!out.all_output().contains("panicked"), "{name}: {out:?}");
        assert_eq!(
            user_writes(&sim.requests()),
            0,
            "{name}: wrote after a bad answer"
        );
    }
}

#[tokio::test]
async fn an_endless_nextlink_loop_is_detected() {
    let sim = start(tenant_world(3)).await;
    let link = format!("{}/graph/v1.0/users?$skiptoken=again", sim.base_url());
    sim.inject(always(
        graph_users(),
        200,
        &format!(r#"{{"value":[],"@odata.nextLink":"{link}"}}"#),
        "application/json",
    ));
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("repeats an earlier page"), "{out:?}");
    let pages = count(&sim.requests(), Service::Graph, "GET", "/graph/v1.0/users");
    assert_eq!(
        pages, 2,
        "stopped at the first repeat: the first page and its link, once"
    );
}

#[tokio::test]
async fn errors_carry_the_request_id() {
    let sim = start(tenant_world(3)).await;
    sim.inject(always(halo_users(), 200, "{", "application/json"));
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let id = sim
        .requests()
        .into_iter()
        .find(|r| r.path.eq_ignore_ascii_case("/api/Users"))
        .unwrap()
        .request_id;
    assert!(out.stderr.contains(&id), "request id {id} not in: {out:?}");
}

#[tokio::test]
async fn hostile_source_data_is_contained() {
    let mut world = tenant_world(3);
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    // A Halo user both source accounts below claim by e-mail.
    let contested = EntraUser::member("x", "Shared", "Mailbox", "shared@contoso.example");
    let mut halo = HaloUser::from_entra(&contested, client, site);
    halo.azureoid = None;
    let contested_id = world.add_halo_user(halo.clone());
    let tenant = world.tenant_mut(T1).unwrap();
    let mut long = EntraUser::member(&oid(1, 40), "Long", "Name", "long@contoso.example");
    long.display_name = "L".repeat(5000);
    let mut control = EntraUser::member(&oid(1, 41), "Ctrl", "Chars", "ctrl@contoso.example");
    control.display_name = "Ctrl\u{7}Chars\u{0}\t\r\nInjected".into();
    let unicode = EntraUser::member(&oid(1, 42), "Jörg", "Müller", "jörg.müller@bücher.example");
    let first = EntraUser::member(&oid(1, 43), "Shared", "One", "shared@contoso.example");
    let mut second = EntraUser::member(&oid(1, 44), "Shared", "Two", "SHARED@contoso.example");
    second.mail = Some("SHARED@contoso.example".into());
    tenant.users.extend([long, control, unicode, first, second]);
    let sim = start(world).await;

    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(
        out.code, 3,
        "the over-long name is rejected by Halo: {out:?}"
    );
    assert!(!out.all_output().contains("panicked"));
    let world = sim.world();
    assert_no_duplicates(&world);
    let by_oid = users_by_oid(&world);
    assert!(
        !by_oid.contains_key(&oid(1, 40)),
        "rejected record not created"
    );
    assert!(by_oid[&oid(1, 41)].name.contains("Injected"));
    assert_eq!(
        by_oid[&oid(1, 42)].emailaddress,
        "jörg.müller@bücher.example"
    );
    assert_eq!(
        world.halo_user(contested_id).unwrap(),
        &HaloUser {
            id: contested_id,
            ..halo
        },
        "neither claimant clobbers it"
    );
    assert!(!by_oid.contains_key(&oid(1, 43)) && !by_oid.contains_key(&oid(1, 44)));
    assert!(
        out.stderr.contains("shared@contoso.example"),
        "the conflict is reported: {out:?}"
    );
    // The log line of the control-character record is still one line of valid JSON.
    for line in out.stderr.lines().filter(|l| l.contains(&oid(1, 41))) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}
