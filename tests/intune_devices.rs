//! End-to-end tests of the `intune-devices` import: the compiled binary against the
//! simulated Halo + Graph (Intune), with the simulator's faults switched on where a test
//! needs them. Each test asserts what a user would check: exit code, Halo's final assets,
//! the requests made, and what the output says.

mod common;

use common::*;
use halo_integrator::sim::{
    ASSET_CF_IMEI, ASSET_FIELD_OS, ASSET_FIELD_RAM, ASSET_FIELD_SERIAL, ASSET_FIELD_TAG,
    ASSET_FIELD_WARRANTY, Fault, FaultKind, HaloAsset, HaloAssetFieldValue, ManagedDevice, Service,
    SimOptions, World,
};

#[tokio::test]
async fn first_sync_then_a_second_run_writes_nothing() {
    let sim = start(World::synthetic_devices(2, 150, 5, 10)).await;
    let env = env_for_devices(&sim);

    let first = run(&env, &["run"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("created=10 updated=5"), "{first:?}");
    let world = sim.world();
    let assets = assets_by_intune_id(&world);
    let workstation = world.asset_type_id("Workstation").unwrap();
    for tenant in &world.entra.tenants {
        let client = world
            .halo
            .clients
            .iter()
            .find(|c| c.azure_tenants[0].azure_tenant_id == tenant.id)
            .unwrap();
        for d in &tenant.devices {
            let a = assets
                .get(&d.id)
                .unwrap_or_else(|| panic!("{} not in Halo", d.device_name));
            let expected = {
                let mut e = HaloAsset::from_device(d, client.id, client.main_site_id, workstation);
                e.id = a.id;
                e.users = world
                    .halo
                    .users
                    .iter()
                    .find(|u| Some(u.emailaddress.as_str()) == d.user_principal_name.as_deref())
                    .map(|u| u.id)
                    .into_iter()
                    .collect();
                e
            };
            let mut got = a.clone();
            got.fields.sort_by_key(|f| f.id);
            assert_eq!(got, expected, "{}", d.device_name);
        }
    }
    // 1 token + 1 client page + 1 asset-type read + per client: 2 asset pages, 1 user
    // page, 1 create and 1 update batch = 13; never one request per device.
    let halo = sim
        .requests()
        .iter()
        .filter(|r| r.service.is_halo())
        .count();
    assert_eq!(halo, 13, "Halo requests");

    sim.clear_requests();
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        asset_writes(&sim.requests()),
        0,
        "second run must not write"
    );
    assert!(
        second
            .stdout
            .contains("created=0 updated=0 deactivated=0 reactivated=0 unchanged=300"),
        "{second:?}"
    );
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Users"),
        0,
        "nothing to create: the primary users are not looked up"
    );
}

#[tokio::test]
async fn halo_users_are_read_only_when_a_new_device_needs_its_primary_user() {
    let users_down = || {
        Fault::halo_api(
            "GET",
            "/api/Users",
            FaultKind::Status {
                status: 500,
                body: "down".into(),
                content_type: "text/plain".into(),
            },
        )
        .always()
    };
    // An update, no create: the users are never read, so a user list that fails is no
    // matter.
    let mut world = device_world(3);
    device_mut(&mut world, 0).os_version = "10.0.99999".into();
    let sim = start(world).await;
    sim.inject(users_down());
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_RETRY_MAX_ATTEMPTS", "1");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("created=0 updated=1"), "{out:?}");
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Users"),
        0
    );

    // A new device with a primary user: its create needs them, and when they cannot be
    // read the tenant fails before anything is written, as when they were read up front.
    let mut world = device_world(3);
    device_mut(&mut world, 0).os_version = "10.0.99999".into();
    new_device(&mut world, 50);
    let sim = start(world).await;
    sim.inject(users_down());
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_RETRY_MAX_ATTEMPTS", "1");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("reading Halo users failed"), "{out:?}");
    assert_eq!(asset_writes(&sim.requests()), 0, "{out:?}");

    // A new device without a primary user: nothing to look up.
    let mut world = device_world(3);
    new_device(&mut world, 50);
    let device = device_mut(&mut world, 50);
    (device.user_principal_name, device.email_address) = (None, None);
    let sim = start(world).await;
    sim.inject(users_down());
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_RETRY_MAX_ATTEMPTS", "1");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("created=1"), "{out:?}");
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Users"),
        0
    );
}

#[tokio::test]
async fn updates_send_the_complete_fields_array_keeping_fields_not_owned() {
    let mut world = device_world(6);
    device_mut(&mut world, 0).os_version = "10.0.26100.2314".into();
    device_mut(&mut world, 1).device_name = "RENAMED-1".into();
    let before = world.halo.assets.clone();
    let sim = start(world).await;

    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("updated=2"), "{out:?}");
    let world = sim.world();
    let assets = assets_by_intune_id(&world);
    let a0 = &assets[&device_id(1, 0)];
    assert_eq!(a0.field(ASSET_FIELD_OS), Some("Windows 10.0.26100.2314"));
    for (a, b) in world.halo.assets.iter().zip(&before) {
        assert_eq!(
            a.field(ASSET_FIELD_WARRANTY),
            b.field(ASSET_FIELD_WARRANTY),
            "warranty of {} kept",
            a.inventory_number
        );
        assert_eq!(a.field(ASSET_FIELD_SERIAL), b.field(ASSET_FIELD_SERIAL));
    }
    assert_eq!(assets[&device_id(1, 1)].inventory_number, "RENAMED-1");
    // The rename alone does not send `fields`; the OS change sends all five.
    let posts: Vec<serde_json::Value> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/Asset")
        .flat_map(|r| {
            serde_json::from_str::<Vec<serde_json::Value>>(r.body.as_deref().unwrap()).unwrap()
        })
        .collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let by_id = |id: i64| posts.iter().find(|p| p["id"] == id).unwrap();
    assert_eq!(by_id(a0.id)["fields"].as_array().unwrap().len(), 5);
    assert!(by_id(assets[&device_id(1, 1)].id).get("fields").is_none());
}

#[tokio::test]
async fn hand_made_assets_are_matched_by_serial_not_duplicated() {
    let mut world = device_world(3);
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    let workstation = world.asset_type_id("Workstation").unwrap();
    new_device(&mut world, 100);
    new_device(&mut world, 101);
    // Serial in the type's key field, shown as the read-only key_field (no serial field),
    // and serial in the serial field with some other asset tag in the key field; neither
    // linked.
    let by_key = {
        let d = world.tenant(T1).unwrap().devices[3].clone();
        let mut a = HaloAsset::from_device(&d, client, site, workstation);
        a.intune_id = None;
        a.fields.clear();
        a.set_field(
            ASSET_FIELD_TAG,
            &d.serial_number.clone().unwrap().to_lowercase(),
        );
        world.add_halo_asset(a)
    };
    let by_field = {
        let d = world.tenant(T1).unwrap().devices[4].clone();
        let mut a = HaloAsset::from_device(&d, client, site, workstation);
        a.intune_id = None;
        a.set_field(ASSET_FIELD_TAG, "TAG-0042");
        world.add_halo_asset(a)
    };
    let sim = start(world).await;
    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("created=0 updated=2"), "{out:?}");
    let world = sim.world();
    assert_eq!(world.halo.assets.len(), 5, "nothing created");
    let assets = assets_by_intune_id(&world);
    assert_eq!(assets[&device_id(1, 100)].id, by_key);
    assert_eq!(assets[&device_id(1, 101)].id, by_field);
    assert_eq!(
        world.halo_asset(by_field).unwrap().field(ASSET_FIELD_TAG),
        Some("TAG-0042"),
        "the key field is never written"
    );
}

#[tokio::test]
async fn an_unknown_asset_type_exits_2_listing_the_types_before_any_tenant() {
    let mut world = device_world(2);
    new_device(&mut world, 100);
    let sim = start(world).await;
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_IMPORTS", "entra-users,intune-devices");
    set(&mut env, "INTUNE_ASSET_TYPE", "Toaster");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let all = out.all_output();
    assert!(all.contains("INTUNE_ASSET_TYPE"), "{out:?}");
    assert!(
        all.contains("Laptop, Mobile Phone, Server, Workstation"),
        "{out:?}"
    );
    let requests = sim.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" || r.path == "/auth/token"),
        "no write"
    );
    assert!(
        requests.iter().all(|r| r.service != Service::Graph),
        "no tenant started"
    );

    set(&mut env, "INTUNE_ASSET_TYPE", "laptop");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "names compare case-insensitively: {out:?}");
    let world = sim.world();
    let laptop = world.asset_type_id("Laptop").unwrap();
    assert_eq!(
        assets_by_intune_id(&world)[&device_id(1, 100)].assettype_id,
        laptop
    );
}

#[tokio::test]
async fn bad_field_ids_exit_2_naming_the_variable() {
    let sim = start(device_world(1)).await;
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTUNE_FIELD_MODEL", "model");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.all_output().contains("INTUNE_FIELD_MODEL"), "{out:?}");
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn gone_devices_are_deactivated_only_when_enabled_and_hand_made_assets_never() {
    let mut world = device_world(30);
    let gone = [device_id(1, 0), device_id(1, 1)];
    world
        .tenant_mut(T1)
        .unwrap()
        .devices
        .retain(|d| !gone.contains(&d.id));
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    let hand_made = world.add_halo_asset(HaloAsset {
        id: 0,
        inventory_number: "PRINTER-1".into(),
        assettype_id: 1,
        client_id: client,
        site_id: site,
        intune_id: None,
        inactive: false,
        users: Vec::new(),
        fields: vec![HaloAssetFieldValue {
            id: ASSET_FIELD_TAG,
            value: "PR-1".into(),
        }],
        status_id: 1, // Active
        customfields: Vec::new(),
    });
    let sim = start(world).await;
    let mut env = env_for_devices(&sim);

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        sim.world().halo.assets.iter().all(|a| !a.inactive),
        "off by default"
    );
    assert_eq!(asset_writes(&sim.requests()), 0);

    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    let mut inactive: Vec<String> = world
        .halo
        .assets
        .iter()
        .filter(|a| a.inactive)
        .filter_map(|a| a.intune_id.clone())
        .collect();
    inactive.sort();
    assert_eq!(inactive, gone);
    assert!(!world.halo_asset(hand_made).unwrap().inactive);
    assert_eq!(world.halo.assets.len(), 31, "nothing deleted or created");

    sim.clear_requests();
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(asset_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn the_safety_threshold_withholds_every_deactivation_and_exits_4() {
    let mut world = device_world(20);
    world.tenant_mut(T1).unwrap().devices.truncate(15);
    device_mut(&mut world, 0).model = Some("Latitude 9450".into());
    let sim = start(world).await;
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.all_output().contains("withheld"), "{out:?}");
    let world = sim.world();
    assert!(
        world.halo.assets.iter().all(|a| !a.inactive),
        "none deactivated"
    );
    assert_eq!(
        assets_by_intune_id(&world)[&device_id(1, 0)]
            .field(halo_integrator::sim::ASSET_FIELD_MODEL),
        Some("Latitude 9450"),
        "everything else applied"
    );
}

#[tokio::test]
async fn a_create_that_commits_then_drops_the_connection_is_not_duplicated() {
    let world = {
        let mut w = device_world(10);
        for n in 100..112 {
            new_device(&mut w, n);
        }
        w
    };
    let sim = start(world).await;
    sim.inject(Fault::halo_api(
        "POST",
        "/api/Asset",
        FaultKind::CommitThenDrop,
    ));
    sim.inject(Fault::halo_api("POST", "/api/Asset", FaultKind::CommitThenDrop).skip(2));
    let mut env = env_for_devices(&sim);
    set(&mut env, "HALO_BATCH_SIZE", "5");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    let assets = assets_by_intune_id(&world);
    assert_eq!(world.halo.assets.len(), 22, "12 created, each once");
    for n in 100..112 {
        assert!(assets.contains_key(&device_id(1, n)));
    }
    assert!(
        sim.requests().iter().any(|r| r.status.is_none()),
        "the faults fired"
    );

    sim.clear_requests();
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(asset_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn a_silent_page_cap_is_paged_through() {
    let opts = SimOptions {
        halo_page_cap: 7,
        ..SimOptions::default()
    };
    let sim = start_with(device_world(60), opts).await;
    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    // Had paging stopped after the first (capped) page, 53 assets would be "missing" and
    // created again as duplicates.
    assert_eq!(asset_writes(&sim.requests()), 0, "{out:?}");
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Asset"),
        9,
        "60 assets / 7 per page"
    );
}

#[tokio::test]
async fn a_tenant_without_the_intune_permission_exits_3_naming_it() {
    let mut world = device_world(3);
    add_tenant_with_devices(&mut world, T2, 2, 3);
    world.tenant_mut(T2).unwrap().can_read_devices = false;
    new_device(&mut world, 100);
    let sim = start(world).await;
    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    let all = out.all_output();
    assert!(all.contains(T2), "{out:?}");
    assert!(all.contains("permission"), "{out:?}");
    assert!(
        assets_by_intune_id(&sim.world()).contains_key(&device_id(1, 100)),
        "the other tenant still synced"
    );
}

#[tokio::test]
async fn a_tenant_without_an_intune_licence_is_skipped_naming_it_and_the_others_sync() {
    let mut world = device_world(3);
    add_tenant_with_devices(&mut world, T2, 2, 3);
    world.tenant_mut(T2).unwrap().intune_licensed = false;
    new_device(&mut world, 100);
    let sim = start(world).await;
    let env = env_for_devices(&sim);
    let out = run(&env, &["run"]).await;
    assert_eq!(
        out.code, 3,
        "a tenant setup fact, not a failed import: {out:?}"
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(T2) && l.contains("no Intune licence")),
        "names the tenant and the missing licence: {out:?}"
    );
    assert!(
        out.stderr.contains("request-id"),
        "logged with Graph's request id: {out:?}"
    );
    assert!(
        assets_by_intune_id(&sim.world()).contains_key(&device_id(1, 100)),
        "the licensed tenant still synced: {out:?}"
    );

    sim.clear_requests();
    let again = run(&env, &["run"]).await;
    assert_eq!(again.code, 3, "{again:?}");
    assert_eq!(asset_writes(&sim.requests()), 0, "rerun writes nothing");
}

#[tokio::test]
async fn a_rejected_asset_is_counted_and_the_others_still_land() {
    let mut world = device_world(3);
    for n in 100..105 {
        new_device(&mut world, n);
    }
    // Halo rejects an inventory number longer than 255 characters.
    new_device(&mut world, 106);
    device_mut(&mut world, 106).device_name = "X".repeat(300);
    device_mut(&mut world, 2).device_name = "Y".repeat(300);
    let sim = start(world).await;
    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("failed=2"), "{out:?}");
    let assets = assets_by_intune_id(&sim.world());
    assert_eq!(assets.len(), 8, "3 existing + 5 good");
    assert!(
        out.stderr.contains(&device_id(1, 106)),
        "failure logged by key: {out:?}"
    );
}

#[tokio::test]
async fn a_partial_device_read_syncs_what_was_read_and_deactivates_nothing() {
    // 1,000 devices are two Graph pages; the second one keeps failing. One more is gone.
    let mut world = device_world(1001);
    world
        .tenant_mut(T1)
        .unwrap()
        .devices
        .retain(|d| d.id != device_id(1, 1000));
    device_mut(&mut world, 0).model = Some("Latitude 9450".into());
    let sim = start(world).await;
    sim.inject(
        Fault::graph(
            "GET",
            "skiptoken",
            FaultKind::Status {
                status: 503,
                body: "{}".into(),
                content_type: "application/json".into(),
            },
        )
        .times(50),
    );
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    set(&mut env, "HALO_BATCH_SIZE", "500");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.all_output().contains("incomplete"), "{out:?}");
    let world = sim.world();
    assert!(
        world.halo.assets.iter().all(|a| !a.inactive),
        "a partial read is no evidence"
    );
    assert_eq!(
        assets_by_intune_id(&world)[&device_id(1, 0)]
            .field(halo_integrator::sim::ASSET_FIELD_MODEL),
        Some("Latitude 9450"),
        "what was read is synced"
    );
}

#[tokio::test]
async fn an_asset_listed_without_fields_is_read_singly_only_when_fields_are_written() {
    let mut world = device_world(3);
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    // Made by hand, no field values: Halo lists it without `fields`.
    let bare = world.add_halo_asset(HaloAsset {
        id: 0,
        inventory_number: "DOCK-7".into(),
        assettype_id: world.asset_type_id("Workstation").unwrap(),
        client_id: client,
        site_id: site,
        intune_id: None,
        inactive: false,
        users: Vec::new(),
        fields: Vec::new(),
        status_id: 1, // Active
        customfields: Vec::new(),
    });
    let sim = start(world).await;
    let single_reads = |requests: &[halo_integrator::sim::RequestRecord]| {
        requests
            .iter()
            .filter(|r| {
                r.method == "GET" && r.path.eq_ignore_ascii_case(&format!("/api/Asset/{bare}"))
            })
            .count()
    };

    // No field mapping: fields are never written, so the missing ones are not needed.
    let mut env = env_for(&sim);
    set(&mut env, "INTEGRATOR_IMPORTS", "intune-devices");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(single_reads(&sim.requests()), 0);

    // With fields mapped, that one record is read singly and the tenant syncs.
    sim.clear_requests();
    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(single_reads(&sim.requests()), 1, "only the bare asset");
    assert!(
        sim.world().halo_asset(bare).unwrap().fields.is_empty(),
        "left alone"
    );
    sim.clear_requests();
    let again = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(asset_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn check_fails_when_a_configured_field_is_not_a_field_of_the_asset_type() {
    let mut world = device_world(2);
    let workstation = world.asset_type_id("Workstation").unwrap();
    for t in &mut world.halo.asset_types {
        if t.id == workstation {
            t.fields.retain(|f| *f != ASSET_FIELD_OS);
        }
    }
    let sim = start(world).await;
    let out = run(&env_for_devices(&sim), &["check"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "FAIL intune-devices asset type: asset type 'Workstation' (id {workstation}) has no field INTUNE_FIELD_OS={ASSET_FIELD_OS}"
        )),
        "{out:?}"
    );
    let sim = start(device_world(2)).await;
    let out = run(&env_for_devices(&sim), &["check"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("ok   intune-devices asset type: asset type 'Workstation'"),
        "{out:?}"
    );
    assert_eq!(asset_writes(&sim.requests()), 0, "check is read-only");
}

#[tokio::test]
async fn an_assets_people_are_set_on_create_and_never_rewritten() {
    let mut world = device_world(3);
    // Someone in Halo gave the first asset two other people by hand.
    let others: Vec<i64> = world
        .halo
        .users
        .iter()
        .rev()
        .take(2)
        .map(|u| u.id)
        .collect();
    world.halo.assets[0].users = others.clone();
    let first = world.halo.assets[0].id;
    new_device(&mut world, 50);
    let sim = start(world).await;
    let out = run(&env_for_devices(&sim), &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let w = sim.world();
    assert_eq!(
        w.halo_asset(first).unwrap().users,
        others,
        "Device_List does not carry people: unknown is not different"
    );
    let created = &assets_by_intune_id(&w)[&device_id(1, 50)];
    let upn = w
        .tenant(T1)
        .unwrap()
        .devices
        .iter()
        .find(|d| d.id == device_id(1, 50))
        .unwrap()
        .user_principal_name
        .clone();
    let expected: Vec<i64> = w
        .halo
        .users
        .iter()
        .filter(|u| Some(u.emailaddress.as_str()) == upn.as_deref())
        .map(|u| u.id)
        .collect();
    assert_eq!(created.users, expected, "users: [{{id}}] on create");
    assert_eq!(expected.len(), 1);
}

// --- The mapping file (`INTEGRATOR_CONFIG_FILE`): asset-type rules and field mappings.

/// Writes a mapping file (kept alive by the returned guard) and points `env` at it.
fn with_mapping(env: &mut Vec<(String, String)>, yaml: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    set(
        env,
        "INTEGRATOR_CONFIG_FILE",
        &file.path().display().to_string(),
    );
    file
}

/// A new iPhone of tenant `t` (device number `n`), with an IMEI and a phone number.
fn iphone(t: usize, n: usize) -> ManagedDevice {
    let mut d = ManagedDevice::laptop(
        &device_id(t, n),
        &format!("PH-{t}-{n:03}"),
        &format!("SN-PH-{t}-{n:04}"),
        Some(&upn(1)),
    );
    d.operating_system = "iOS".into();
    d.os_version = "18.1".into();
    d.manufacturer = Some("Apple".into());
    d.model = Some("iPhone 15".into());
    d.imei = Some(format!("35000000000{t}{n:03}"));
    d.phone_number = Some(format!("+44 20 7946 {n:04}"));
    d
}

fn asset_of(w: &World, tenant: usize, n: usize) -> &HaloAsset {
    let id = device_id(tenant, n);
    w.halo
        .assets
        .iter()
        .find(|a| a.intune_id.as_deref() == Some(id.as_str()))
        .unwrap_or_else(|| panic!("no asset for device {id}"))
}

const MAPPING: &str = r#"
imports:
  intune-devices:
    asset_types:
      - when: {operatingSystem: iOS}
        type: Mobile Phone
    fields:
      - {from: phoneNumber, to: {field: 907}}
      - {from: imei, to: {custom_field: CFIMEI}}
      - {from: model, to: inventory_number, "on": create}
clients:
  "Client 2":
    intune-devices:
      asset_types:
        - when: {operatingSystem: {in: [Windows, macOS]}}
          type: Server
"#;

#[tokio::test]
async fn the_mapping_file_types_new_devices_and_writes_mapped_properties_then_nothing() {
    let mut w = device_world(3);
    add_tenant_with_devices(&mut w, T2, 2, 1);
    // A renamed device: its name would be written, but `on: create` owns inventory_number.
    device_mut(&mut w, 1).device_name = "RENAMED".into();
    w.tenant_mut(T1).unwrap().devices.push(iphone(1, 50));
    new_device(&mut w, 51);
    let laptop = ManagedDevice::laptop(&device_id(2, 60), "NEW-2", "SN-2-NEW", Some(&upn(2)));
    w.tenant_mut(T2).unwrap().devices.push(laptop);
    let sim = start(w).await;
    let mut env = env_for_devices(&sim);
    let _file = with_mapping(&mut env, MAPPING);

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let world = sim.world();
    let phone = asset_of(&world, 1, 50);
    assert_eq!(
        Some(phone.assettype_id),
        world.asset_type_id("Mobile Phone"),
        "typed by rule"
    );
    assert_eq!(
        phone.inventory_number, "iPhone 15",
        "on: create, from model"
    );
    assert_eq!(phone.field(ASSET_FIELD_RAM), Some("+44 20 7946 0050"));
    let imei: Vec<(i64, &str)> = phone
        .customfields
        .iter()
        .map(|f| (f.id, f.value.as_str()))
        .collect();
    assert_eq!(imei, [(ASSET_CF_IMEI, "350000000001050")]);
    let new_laptop = asset_of(&world, 1, 51);
    assert_eq!(
        Some(new_laptop.assettype_id),
        world.asset_type_id("Workstation"),
        "no rule matches: INTUNE_ASSET_TYPE"
    );
    assert_eq!(new_laptop.field(ASSET_FIELD_RAM), None, "no phone number");
    assert_eq!(
        asset_of(&world, 1, 1).inventory_number,
        "PC-1-001",
        "on: create is left alone on update"
    );
    assert_eq!(
        Some(asset_of(&world, 2, 60).assettype_id),
        world.asset_type_id("Server"),
        "the client's own rules"
    );
    assert_eq!(
        Some(asset_of(&world, 2, 0).assettype_id),
        world.asset_type_id("Workstation"),
        "an existing asset's type is never changed"
    );

    let writes = asset_writes(&sim.requests());
    let again = run(&env, &["run"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        asset_writes(&sim.requests()),
        writes,
        "a second run writes nothing: {again:?}"
    );
}

/// A new device the mapping places on no site is withheld right after planning, before the
/// creates are completed: its primary user is never looked up.
#[tokio::test]
async fn an_unplaced_new_device_is_skipped_without_reading_the_users() {
    let mut world = device_world(3);
    device_mut(&mut world, 0).os_version = "10.0.99999".into();
    new_device(&mut world, 50);
    let sim = start(world).await;
    sim.inject(
        Fault::halo_api(
            "GET",
            "/api/Users",
            FaultKind::Status {
                status: 500,
                body: "down".into(),
                content_type: "text/plain".into(),
            },
        )
        .always(),
    );
    let mut env = env_for_devices(&sim);
    set(&mut env, "INTEGRATOR_RETRY_MAX_ATTEMPTS", "1");
    let _file = with_mapping(
        &mut env,
        "imports:\n  intune-devices:\n    default_site: skip\n",
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("created=0 updated=1"), "{out:?}");
    assert!(
        out.all_output()
            .contains("no site rule of the mapping file matches"),
        "{out:?}"
    );
    assert_eq!(
        count(&sim.requests(), Service::HaloApi, "GET", "/api/Users"),
        0,
        "{out:?}"
    );
}

#[tokio::test]
async fn an_unknown_type_name_fails_that_client_naming_it_and_the_others_sync() {
    let mut w = device_world(1);
    add_tenant_with_devices(&mut w, T2, 2, 1);
    w.tenant_mut(T1).unwrap().devices.push(iphone(1, 50));
    w.tenant_mut(T2).unwrap().devices.push(iphone(2, 50));
    let sim = start(w).await;
    let mut env = env_for_devices(&sim);
    let _file = with_mapping(
        &mut env,
        "imports:\n  intune-devices:\n    asset_types: [{when: {operatingSystem: iOS}, type: Mobile Phone}]\n\
         clients:\n  Client 2:\n    intune-devices:\n      asset_types: [{when: {operatingSystem: iOS}, type: Toaster}]\n",
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.all_output()
            .contains("asset type \"Toaster\" not found for client Client 2"),
        "{out:?}"
    );
    let world = sim.world();
    assert_eq!(
        Some(asset_of(&world, 1, 50).assettype_id),
        world.asset_type_id("Mobile Phone"),
        "the other client still synced"
    );
    assert!(
        !world
            .halo
            .assets
            .iter()
            .any(|a| a.intune_id.as_deref() == Some(device_id(2, 50).as_str())),
        "nothing of the failed client is written"
    );
    let check = run(&env, &["check"]).await;
    assert_ne!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("\"Toaster\" not found"), "{check:?}");
}
