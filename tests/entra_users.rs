//! End-to-end tests of the `entra-users` import: the compiled binary against the
//! simulated Halo + Graph, with the simulator's faults switched on where a test needs them.
//! Each test asserts what a user would check: exit code, Halo's final state, the requests
//! made, and what the output says.

mod common;

use common::*;
use halo_integrator::sim::{EntraUser, Fault, FaultKind, HaloUser, Service, SimOptions, World};

#[tokio::test]
async fn first_sync_then_a_second_run_writes_nothing() {
    let sim = start(World::synthetic(2, 120, 5, 10)).await;
    let env = env_for(&sim);

    let first = run(&env, &["run"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    let world = sim.world();
    assert_no_duplicates(&world);
    let linked = users_by_oid(&world);
    for tenant in &world.entra.tenants {
        for u in tenant.users.iter().filter(|u| u.user_type == "Member") {
            let h = linked
                .get(&u.id.to_lowercase())
                .unwrap_or_else(|| panic!("{} not in Halo", u.user_principal_name));
            assert_eq!(h.title, u.job_title, "title of {}", u.user_principal_name);
            assert_eq!(h.name, u.display_name);
        }
    }
    assert!(first.stdout.contains("created=10 updated=5"), "{first:?}");
    // Request economy: 1 token + 1 client page + per client 1 link report, 2 user pages
    // (page cap 100, 110 users) and 2 write batches = 12, never one request per user.
    let halo_requests = sim
        .requests()
        .iter()
        .filter(|r| r.service.is_halo())
        .count();
    assert!(halo_requests <= 12, "{halo_requests} Halo requests");

    sim.clear_requests();
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(user_writes(&sim.requests()), 0, "second run must not write");
    assert!(
        second
            .stdout
            .contains("created=0 updated=0 deactivated=0 reactivated=0 unchanged=120"),
        "{second:?}"
    );
}

#[tokio::test]
async fn dry_run_prints_the_plan_and_writes_nothing() {
    let sim = start(World::synthetic(1, 50, 3, 4)).await;
    let before = sim.world();
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let mut env = env_for(&sim);

    let out = run(
        &env,
        &[
            "run",
            "--dry-run",
            "--plan-file",
            plan_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("create=4 update=3 deactivate=0 reactivate=0 unchanged=43 skipped=0"),
        "{out:?}"
    );
    assert_eq!(user_writes(&sim.requests()), 0);
    assert_eq!(sim.world(), before);
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    let tenant = &plan["imports"][0]["tenants"][0];
    assert_eq!(tenant["plan"]["creates"].as_array().unwrap().len(), 4);
    let update = &tenant["plan"]["updates"][0];
    assert!(
        update["changes"]["title"].is_string(),
        "changed fields listed: {update}"
    );

    set(&mut env, "INTEGRATOR_DRY_RUN", "true");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        user_writes(&sim.requests()),
        0,
        "INTEGRATOR_DRY_RUN=true equals --dry-run"
    );
}

/// The `key=N` counts of a summary line, in order.
fn counts(line: &str) -> Vec<(String, u64)> {
    line.split_whitespace()
        .filter_map(|part| {
            let (key, n) = part.split_once('=')?;
            Some((key.to_string(), n.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn dry_run_prints_a_total_per_import_that_sums_the_tenants() {
    // Three tenants with different plans: one more update in the 2nd, one more create in
    // the 3rd.
    let mut world = World::synthetic(3, 40, 3, 4);
    world.entra.tenants[1].users[10].job_title = Some("Chief Tester".into());
    world.entra.tenants[2].users.push(EntraUser::member(
        &oid(3, 999),
        "Late",
        "Joiner",
        "late.joiner@tenant2.example",
    ));
    let sim = start(world).await;
    let out = run(&env_for(&sim), &["run", "--dry-run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let tenants: Vec<Vec<(String, u64)>> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("planned: "))
        .map(counts)
        .collect();
    assert_eq!(tenants.len(), 3, "{out:?}");
    assert!(
        tenants.windows(2).any(|w| w[0] != w[1]),
        "plans differ: {out:?}"
    );
    let totals: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("total: "))
        .collect();
    assert_eq!(totals.len(), 1, "one total for the one import: {out:?}");
    let total = counts(totals[0]);
    let keys = [
        "create",
        "update",
        "deactivate",
        "reactivate",
        "unchanged",
        "skipped",
    ];
    assert_eq!(
        total.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        keys,
        "{out:?}"
    );
    for (i, (key, n)) in total.iter().enumerate() {
        let sum: u64 = tenants.iter().map(|t| t[i].1).sum();
        assert_eq!(*n, sum, "total {key} = sum of the tenants: {out:?}");
    }
    assert!(total[0].1 > 0 && total[4].1 > 0, "{out:?}");
}

#[tokio::test]
async fn an_advanced_users_filter_is_sent_as_an_advanced_query_on_every_page() {
    // 1,400 users, every 5th in Sales, some without a department: 1,120 match `ne`
    // (Graph's `ne` keeps users without the property), two Graph pages.
    let mut w = World::empty();
    w.add_client("Contoso Ltd", &[T1]);
    let tenant = w.add_tenant(T1, "Contoso");
    for n in 0..1400 {
        let mut u = EntraUser::member(
            &oid(1, n),
            "Given",
            &format!("Sur{n}"),
            &format!("user{n}@contoso.example"),
        );
        u.department = match (n % 5, n % 7) {
            (0, _) => Some("Sales".into()),
            (_, 0) => None,
            _ => Some("IT".into()),
        };
        tenant.users.push(u);
    }
    let expected: std::collections::BTreeSet<String> = tenant
        .users
        .iter()
        .filter(|u| u.department.as_deref() != Some("Sales"))
        .map(|u| u.id.to_lowercase())
        .collect();
    assert_eq!(expected.len(), 1120);
    let sim = start(w).await;
    let mut env = env_for(&sim);
    set(&mut env, "ENTRA_USERS_FILTER", "department ne 'Sales'");
    set(&mut env, "HALO_BATCH_SIZE", "500");

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    assert_no_duplicates(&world);
    let synced: std::collections::BTreeSet<String> = users_by_oid(&world).into_keys().collect();
    assert_eq!(synced, expected, "exactly the users outside Sales");
    let pages: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.service == Service::Graph && r.path.eq_ignore_ascii_case("/graph/v1.0/users"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    let counted = |query: &str| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "$count" && v == "true")
    };
    assert!(
        pages
            .iter()
            .all(|r| r.status == Some(200) && counted(&r.query)),
        "{pages:?}"
    );
}

#[tokio::test]
async fn a_silent_page_cap_is_paged_through() {
    let opts = SimOptions {
        halo_page_cap: 7,
        ..SimOptions::default()
    };
    let sim = start_with(tenant_world(60), opts).await;
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    // Had paging stopped after the first (capped) page, 53 users would be "missing" and
    // created again as duplicates.
    assert_eq!(user_writes(&sim.requests()), 0, "{out:?}");
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Users"),
        9,
        "60 users / 7 per page"
    );
}

#[tokio::test]
async fn throttling_without_retry_after_is_survived() {
    let (out, requests) = converges_under(vec![
        Fault::halo_api(
            "GET",
            "/api/Users",
            FaultKind::TooManyRequests { retry_after: None },
        )
        .times(2),
        Fault::halo_api(
            "POST",
            "/api/Users",
            FaultKind::TooManyRequests { retry_after: None },
        )
        .times(3),
        Fault::graph(
            "GET",
            "/users",
            FaultKind::TooManyRequests {
                retry_after: Some(1),
            },
        ),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(requests.iter().filter(|r| r.status == Some(429)).count(), 6);
}

#[tokio::test]
async fn html_gateway_errors_are_retried_without_duplicates() {
    let (out, requests) = converges_under(vec![
        Fault::halo_api("GET", "/api/Client", FaultKind::Html { status: 502 }),
        // The first create batch, not processed: its outcome is unknown to the client.
        Fault::halo_api("POST", "/api/Users", FaultKind::Html { status: 503 }),
        // A create batch processed, then a 500 page: must be reconciled, not re-sent.
        Fault::halo_api(
            "POST",
            "/api/Users",
            FaultKind::CommitThenHtml { status: 500 },
        )
        .skip(1),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(requests.iter().any(|r| r.status == Some(502)));
}

#[tokio::test]
async fn a_write_that_commits_then_drops_the_connection_is_not_duplicated() {
    let (out, _) = converges_under(vec![
        Fault::halo_api("POST", "/api/Users", FaultKind::CommitThenDrop),
        Fault::halo_api("POST", "/api/Users", FaultKind::DropBeforeCommit).skip(2),
        Fault::halo_api("POST", "/api/Users", FaultKind::CommitThenDrop).skip(4),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
}

#[tokio::test]
async fn a_token_revoked_mid_run_is_renewed_once() {
    let (out, requests) = converges_under(vec![
        Fault::halo_api("GET", "/api/Users", FaultKind::RevokeTokens),
        Fault::graph("GET", "/users", FaultKind::RevokeTokens),
    ])
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        count(&requests, Service::HaloAuth, "POST", "/auth/token"),
        2
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.service == Service::EntraAuth)
            .count(),
        2
    );
}

#[tokio::test]
async fn leavers_are_deactivated_only_when_enabled_and_hand_made_users_never() {
    let mut world = tenant_world(30);
    entra_user_mut(&mut world, T1, 0).account_enabled = false;
    entra_user_mut(&mut world, T1, 1).account_enabled = false;
    let gone = oid(1, 2);
    world.tenant_mut(T1).unwrap().users.retain(|u| u.id != gone);
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    let mut hand_made = HaloUser::from_entra(
        &EntraUser::member("x", "Hand", "Made", "hand.made@contoso.example"),
        client,
        site,
    );
    hand_made.azureoid = None;
    let hand_made_id = world.add_halo_user(hand_made);
    let sim = start(world).await;
    let mut env = env_for(&sim);

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        sim.world().halo.users.iter().all(|u| !u.inactive),
        "nothing deactivated by default"
    );

    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    let inactive: Vec<String> = world
        .halo
        .users
        .iter()
        .filter(|u| u.inactive)
        .filter_map(|u| u.azureoid.clone())
        .collect();
    assert_eq!(inactive.len(), 3, "{inactive:?}");
    for n in 0..3 {
        assert!(inactive.contains(&oid(1, n)));
    }
    assert!(
        !world.halo_user(hand_made_id).unwrap().inactive,
        "hand-made user untouched"
    );
    assert_eq!(
        world.halo.users.len(),
        31,
        "nothing deleted, nothing created"
    );

    sim.clear_requests();
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(user_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn the_safety_threshold_withholds_every_deactivation_and_exits_4() {
    let mut world = tenant_world(30);
    for n in 0..4 {
        entra_user_mut(&mut world, T1, n).account_enabled = false; // 4 of 30 = 13% > 10%
    }
    entra_user_mut(&mut world, T1, 10).job_title = Some("Director".into());
    let sim = start(world).await;
    let mut env = env_for(&sim);
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 4, "{out:?}");
    let world = sim.world();
    assert!(
        world.halo.users.iter().all(|u| !u.inactive),
        "no deactivation at all"
    );
    let director = users_by_oid(&world)[&oid(1, 10)].clone();
    assert_eq!(
        director.title.as_deref(),
        Some("Director"),
        "other changes still applied"
    );
    assert!(out.all_output().contains("threshold"), "{out:?}");

    set(&mut env, "INTEGRATOR_MAX_DEACTIVATION_PERCENT", "20");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        sim.world().halo.users.iter().filter(|u| u.inactive).count(),
        4
    );
}

#[tokio::test]
async fn an_inactive_user_enabled_again_is_reactivated_not_duplicated() {
    let mut world = tenant_world(10);
    let id = world.halo.users[5].id;
    world.halo.users[5].inactive = true;
    let sim = start(world).await;
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    assert_no_duplicates(&world);
    assert_eq!(world.halo.users.len(), 10);
    assert!(!world.halo_user(id).unwrap().inactive);
    assert!(out.stdout.contains("reactivated=1"), "{out:?}");
}

#[tokio::test]
async fn users_matched_by_email_are_linked_and_guests_skipped() {
    let mut world = tenant_world(5);
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    let entra = EntraUser::member(&oid(1, 50), "Email", "Only", "Email.Only@Contoso.example");
    let mut halo = HaloUser::from_entra(&entra, client, site);
    halo.azureoid = None;
    halo.emailaddress = "email.only@contoso.example".into();
    let halo_id = world.add_halo_user(halo);
    let mut guest = EntraUser::member(
        &oid(1, 60),
        "Guest",
        "User",
        "guest_example.com#EXT#@contoso.example",
    );
    guest.user_type = "Guest".into();
    world.tenant_mut(T1).unwrap().users.extend([entra, guest]);
    let sim = start(world).await;
    let mut env = env_for(&sim);

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    assert_eq!(
        world.halo_user(halo_id).unwrap().azureoid.as_deref(),
        Some(oid(1, 50).as_str())
    );
    assert_eq!(
        world.halo.users.len(),
        6,
        "linked, not duplicated; guest not created"
    );

    set(&mut env, "ENTRA_USERS_INCLUDE_GUESTS", "true");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        sim.world().halo.users.len(),
        7,
        "guest created when included"
    );
}

/// T1 fine, T2 without consent, T3 linked to two clients.
fn multi_tenant_world() -> World {
    let mut w = tenant_world(3);
    w.add_client("Fabrikam Inc", &[T2]);
    w.add_tenant(T2, "Fabrikam").consented = false;
    w.add_client("Northwind Traders", &[T3]);
    w.add_client("Northwind (old)", &[T3]);
    w.add_tenant(T3, "Northwind").users.push(EntraUser::member(
        &oid(3, 1),
        "Nora",
        "West",
        "nora@northwind.example",
    ));
    w.tenant_mut(T1).unwrap().users.push(EntraUser::member(
        &oid(1, 99),
        "Newbie",
        "One",
        "newbie@contoso.example",
    ));
    w
}

#[tokio::test]
async fn broken_tenants_are_reported_and_the_others_still_sync() {
    let sim = start(multi_tenant_world()).await;
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    let world = sim.world();
    assert!(users_by_oid(&world).contains_key(&oid(1, 99)), "T1 synced");
    assert!(
        !users_by_oid(&world).contains_key(&oid(3, 1)),
        "ambiguous T3 not synced"
    );
    let text = out.all_output();
    assert!(
        text.contains(T2) && text.contains("AADSTS700016"),
        "{out:?}"
    );
    assert!(
        text.contains(T3) && text.contains("Northwind Traders") && text.contains("Northwind (old)"),
        "{out:?}"
    );
}

#[tokio::test]
async fn explicit_tenant_lists_and_the_tenant_flag_scope_a_run() {
    let sim = start(multi_tenant_world()).await;
    let mut env = env_for(&sim);
    set(&mut env, "ENTRA_TENANTS", T1);
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "only the healthy tenant: {out:?}");
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.tenant.as_deref().is_none_or(|t| t == T1))
    );

    unset(&mut env, "ENTRA_TENANTS");
    sim.clear_requests();
    let out = run(&env, &["run", "--tenant", T2]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.tenant.as_deref().is_none_or(|t| t == T2))
    );

    let out = run(&env, &["run", "--import", "intune-devices"]).await;
    assert_eq!(out.code, 2, "{out:?}");
}

#[tokio::test]
async fn bad_configuration_exits_2_naming_the_variable_without_any_request() {
    let sim = start(tenant_world(1)).await;
    for (var, value) in [
        ("HALO_BATCH_SIZE", "fifty"),
        ("HALO_URL", "acme.halopsa.com"),
        ("INTEGRATOR_IMPORTS", "entra-users,people"),
        ("ENTRA_TENANTS", "not a tenant"),
        ("INTEGRATOR_MAX_DEACTIVATION_PERCENT", "200"),
    ] {
        let mut env = env_for(&sim);
        set(&mut env, var, value);
        let out = run(&env, &["run"]).await;
        assert_eq!(out.code, 2, "{var}={value}: {out:?}");
        assert!(out.stderr.contains(var), "{var}: {out:?}");
    }
    let mut env = env_for(&sim);
    unset(&mut env, "HALO_CLIENT_SECRET");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("HALO_CLIENT_SECRET"), "{out:?}");
    assert!(sim.requests().is_empty(), "no request on a config error");
}

#[tokio::test]
async fn rejected_credentials_exit_2_after_one_token_attempt() {
    let sim = start(tenant_world(1)).await;
    let mut env = env_for(&sim);
    set(&mut env, "HALO_CLIENT_SECRET", "wrong-halo-secret");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all_output().contains("invalid_client"), "{out:?}");
    assert_eq!(sim.requests().len(), 1, "one token attempt, nothing else");

    let mut env = env_for(&sim);
    set(&mut env, "ENTRA_CLIENT_SECRET", "wrong-entra-secret");
    sim.clear_requests();
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all_output().contains("AADSTS7000215"), "{out:?}");
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|r| r.service == Service::EntraAuth)
            .count(),
        1
    );
}

#[tokio::test]
async fn secrets_from_files_and_workload_identity() {
    let sim = start(tenant_world(3)).await;
    let world = sim.world();
    let dir = tempfile::tempdir().unwrap();
    let halo_secret = dir.path().join("halo");
    std::fs::write(
        &halo_secret,
        format!("{}\n", world.credentials.halo_client_secret),
    )
    .unwrap();
    let federated = dir.path().join("token");
    std::fs::write(
        &federated,
        world.credentials.federated_token.clone().unwrap(),
    )
    .unwrap();

    let mut env = env_for(&sim);
    unset(&mut env, "HALO_CLIENT_SECRET");
    unset(&mut env, "ENTRA_CLIENT_SECRET");
    set(
        &mut env,
        "HALO_CLIENT_SECRET_FILE",
        halo_secret.to_str().unwrap(),
    );
    set(
        &mut env,
        "AZURE_FEDERATED_TOKEN_FILE",
        federated.to_str().unwrap(),
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");

    set(&mut env, "HALO_CLIENT_SECRET", "also-set");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "both X and X_FILE: {out:?}");
}

#[tokio::test]
async fn no_secret_or_token_appears_in_any_output_even_at_debug() {
    let sim = start(multi_tenant_world()).await;
    sim.inject(Fault::halo_api(
        "GET",
        "/api/Users",
        FaultKind::RevokeTokens,
    ));
    let mut env = env_for(&sim);
    set(&mut env, "RUST_LOG", "debug");
    let mut outputs = vec![run(&env, &["run"]).await, run(&env, &["check"]).await];
    set(&mut env, "INTEGRATOR_LOG_FORMAT", "text");
    outputs.push(run(&env, &["run", "--dry-run"]).await);
    let creds = sim.world().credentials;
    let tokens = sim.issued_tokens();
    assert!(tokens.len() >= 3, "tokens were issued: {}", tokens.len());
    for out in &outputs {
        assert!(
            out.stderr.contains("DEBUG") || out.stderr.contains("\"level\":\"DEBUG\""),
            "debug logging on"
        );
        let text = out.all_output();
        for secret in [&creds.halo_client_secret, &creds.entra_client_secret]
            .into_iter()
            .chain(&tokens)
        {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into the output: {out:?}"
            );
        }
    }
}

#[tokio::test]
async fn check_probes_each_assumption_with_one_verdict_line() {
    let sim = start(tenant_world(2)).await;
    let out = run(&env_for(&sim), &["check"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        "ok   halo token: authenticated".to_string(),
        "ok   halo tenants: 1 tenant(s) linked".to_string(),
        "ok   entra-users user links: the SQL report (edit:reporting) answers and agrees with the paged user list: 2 user(s)".to_string(),
        format!("ok   entra-users tenant {T1}: → Contoso Ltd"),
    ] {
        assert!(out.stdout.contains(&line), "{line}\n{out:?}");
    }
    assert_eq!(user_writes(&sim.requests()), 0, "check is read-only");
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "POST", "/api/Report"),
        1,
        "one ad-hoc report, nothing saved"
    );
    assert!(sim.world().halo.reports.is_empty());

    // No reporting permission: the links cannot be read, so a run would refuse to write.
    let mut world = tenant_world(2);
    world.credentials.halo_reporting = false;
    let sim = start(world).await;
    let out = run(&env_for(&sim), &["check"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .contains("FAIL entra-users user links: Halo refused the SQL report")
            && out.stdout.contains("edit:reporting"),
        "{out:?}"
    );

    let sim = start(multi_tenant_world()).await;
    let out = run(&env_for(&sim), &["check"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("FAIL entra-users tenant {T2}")),
        "{out:?}"
    );
}

#[tokio::test]
async fn without_reporting_permission_nothing_is_written_and_the_permission_is_named() {
    let mut world = tenant_world(3);
    world.credentials.halo_reporting = false;
    let sim = start(world).await;
    for args in [&["run", "--dry-run"][..], &["run"][..]] {
        let out = run(&env_for(&sim), args).await;
        assert_eq!(out.code, 2, "{args:?} {out:?}");
        let all = out.all_output();
        assert!(
            all.contains("edit:reporting") && all.contains("nothing was written"),
            "{out:?}"
        );
    }
    assert_eq!(user_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn a_link_report_that_disagrees_with_the_user_list_writes_nothing() {
    // Rows that do not match the paged read (an instance whose columns mean something else):
    // user links cannot be trusted, so nothing is written and the run fails (exit 1).
    let sim = start(tenant_world(3)).await;
    // (As a one-element array: the other answer shape Halo is seen to use.)
    let body = r#"[{"id":0,"report":{"loaded":true,"rows":[{"id":1,"azureoid":null,"emailaddress":"x@y.example","inactive":0}]}}]"#;
    sim.inject(
        Fault::halo_api(
            "POST",
            "/api/report",
            FaultKind::Status {
                status: 200,
                body: body.into(),
                content_type: "application/json".into(),
            },
        )
        .always(),
    );
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.all_output()
            .contains("the user-link report does not agree with Halo's user list"),
        "{out:?}"
    );
    assert_eq!(user_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn auto_finding_no_linked_tenant_among_active_clients_fails_naming_the_cause() {
    let mut world = tenant_world(2);
    for client in &mut world.halo.clients {
        client.azure_tenants.clear();
    }
    let sim = start(world).await;
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 3, "never a silent success: {out:?}");
    assert!(
        out.all_output().contains(
            "ENTRA_TENANTS=auto found no Entra tenant linked to any of the 1 active Halo clients"
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn hosted_halo_needs_its_tenant() {
    let mut world = tenant_world(2);
    world.credentials.halo_tenant = Some("acme".into());
    let sim = start(world).await;
    let mut env = env_for(&sim);
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    unset(&mut env, "HALO_TENANT");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
}

#[tokio::test]
async fn per_record_rejections_are_counted_and_do_not_stop_the_import() {
    let mut world = tenant_world(3);
    let tenant = world.tenant_mut(T1).unwrap();
    for n in 10..16 {
        tenant.users.push(EntraUser::member(
            &oid(1, n),
            "Good",
            &format!("User{n}"),
            &format!("good{n}@contoso.example"),
        ));
    }
    // Halo rejects this e-mail address (no '@'); the other five must still be created.
    let mut bad = EntraUser::member(&oid(1, 20), "Bad", "Mail", "bad-mail");
    bad.mail = Some("not-an-address".into());
    tenant.users.push(bad);
    let sim = start(world).await;
    let out = run(&env_for(&sim), &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    let world = sim.world();
    assert_eq!(world.halo.users.len(), 9, "3 existing + 6 good");
    assert!(out.stdout.contains("failed=1"), "{out:?}");
    assert!(
        out.stderr.contains("not-an-address") || out.stderr.contains("bad-mail"),
        "failure logged with its key: {out:?}"
    );
}

#[tokio::test]
async fn sigterm_during_apply_stops_cleanly_with_143_and_a_rerun_converges() {
    let mut world = tenant_world(5);
    let tenant = world.tenant_mut(T1).unwrap();
    for n in 100..130 {
        tenant.users.push(EntraUser::member(
            &oid(1, n),
            "New",
            &format!("Hire{n}"),
            &format!("new{n}@contoso.example"),
        ));
    }
    let sim = start(world).await;
    // Every write takes a while, so the signal lands while a batch is in flight.
    sim.inject(Fault::halo_api("POST", "/api/Users", FaultKind::Delay { ms: 400 }).always());
    let mut env = env_for(&sim);
    set(&mut env, "HALO_BATCH_SIZE", "5");
    let child = spawn(&env, &["run"]);
    let pid = child.id().unwrap() as i32;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while user_writes(&sim.requests()) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no write started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = sim.world().halo.users.len() - 5;
    assert!(
        created < 30,
        "stopped before all batches: {created} created"
    );
    assert_no_duplicates(&sim.world());

    sim.clear_faults();
    let rerun = run(&env, &["run"]).await;
    assert_eq!(rerun.code, 0, "{rerun:?}");
    let world = sim.world();
    assert_no_duplicates(&world);
    assert_eq!(world.halo.users.len(), 35);
}
