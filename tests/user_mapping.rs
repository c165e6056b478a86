//! End-to-end tests of the mapping file on `entra-users`: the compiled binary against the
//! simulated Halo + Graph's demo world (clients with a branch site, Entra users with
//! `officeLocation`, user custom fields). Users placed by site rules (with a per-client
//! override), custom fields written while the values the integrator does not own are kept,
//! `on: create` mappings left alone on update, old → new in the plan file, unknown names
//! failing only their client, and a second run that writes nothing.

mod common;

use common::*;
use halo_integrator::sim::{
    HaloCustomFieldValue, HaloUser, USER_CF_DEPARTMENT, USER_CF_EMPLOYEE_ID, USER_CF_OFFICE, World,
};

/// Site names are per client: the import's rule names Contoso's branch, and the other
/// clients override it with their own (Northwind by client id and site id: `DENVER`).
const MAPPING: &str = r#"
imports:
  entra-users:
    sites:
      - when: {officeLocation: Leeds}
        site: Leeds Office
    fields:
      - {from: department, to: {custom_field: CFDepartment}}
      - {from: employeeId, to: {custom_field: 144}, on: create}
clients:
  "Fabrikam Inc":
    entra-users:
      sites: [{when: {officeLocation: {in: [Portland, Salem]}}, site: Portland Office}]
  "211":
    entra-users:
      sites: [{when: {city: {regex: "^Den"}}, site: {id: DENVER}}]
"#;

fn site_id(world: &World, client: i64, name: &str) -> i64 {
    world
        .halo
        .sites
        .iter()
        .find(|s| s.client_id == client && s.name == name)
        .unwrap_or_else(|| panic!("site {name} of client {client}"))
        .id
}

fn custom(user: &HaloUser, id: i64) -> Option<&str> {
    user.customfields
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.value.as_str())
}

fn with_mapping(sim: &Sim, yaml: &str) -> (Vec<(String, String)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mapping.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut env = env_for(sim);
    set(&mut env, "INTEGRATOR_CONFIG_FILE", path.to_str().unwrap());
    (env, dir)
}

#[tokio::test]
async fn users_are_placed_by_site_rules_and_custom_fields_are_written_and_kept() {
    let mut world = World::demo();
    // A value the integrator does not own, and a create-only one set by hand: both kept.
    let hand = world
        .halo
        .users
        .iter()
        .position(|u| u.azureoid.is_some() && u.client_id == world.halo.clients[0].id)
        .expect("a linked user");
    let values = &mut world.halo.users[hand].customfields;
    values.retain(|f| f.id != USER_CF_OFFICE && f.id != USER_CF_EMPLOYEE_ID);
    for (id, value) in [(USER_CF_OFFICE, "Desk 4"), (USER_CF_EMPLOYEE_ID, "HAND-1")] {
        values.push(HaloCustomFieldValue {
            id,
            value: value.into(),
        });
    }
    let hand_id = world.halo.users[hand].id;
    let northwind = world
        .halo
        .clients
        .iter()
        .find(|c| c.name == "Northwind Traders")
        .unwrap()
        .id;
    let denver = site_id(&world, northwind, "Denver Office");
    let mapping = MAPPING
        .replace("DENVER", &denver.to_string())
        .replace("\"211\"", &format!("\"{northwind}\""));
    let sim = start(world).await;
    let (mut env, dir) = with_mapping(&sim, &mapping);
    let plan_file = dir.path().join("plan.json");

    let first = run(&env, &["run", "--plan-file", plan_file.to_str().unwrap()]).await;
    assert_eq!(first.code, 0, "{first:?}");
    let world = sim.world();
    assert_no_duplicates(&world);
    let by_oid = users_by_oid(&world);
    let mut placed = 0;
    for tenant in &world.entra.tenants {
        let Some(client) = world.halo.clients.iter().find(|c| {
            !c.inactive
                && c.azure_tenants
                    .iter()
                    .any(|t| t.azure_tenant_id == tenant.id)
        }) else {
            continue;
        };
        for u in tenant
            .users
            .iter()
            .filter(|u| u.user_type == "Member" && u.account_enabled)
        {
            let h = &by_oid[&u.id.to_lowercase()];
            let branch = match u.office_location.as_deref() {
                Some("Leeds") => Some("Leeds Office"),
                Some("Portland") => Some("Portland Office"),
                Some("Denver") => Some("Denver Office"),
                _ => None,
            };
            if let Some(branch) = branch {
                assert_eq!(
                    h.site_id,
                    site_id(&world, client.id, branch),
                    "{} placed on {branch}",
                    u.user_principal_name
                );
                placed += 1;
            }
            assert_eq!(
                custom(h, USER_CF_DEPARTMENT),
                u.department.as_deref(),
                "CFDepartment of {}",
                u.user_principal_name
            );
        }
    }
    assert!(placed > 6, "{placed} users on branch sites");
    let hand = world.halo.users.iter().find(|u| u.id == hand_id).unwrap();
    assert_eq!(
        custom(hand, USER_CF_OFFICE),
        Some("Desk 4"),
        "not owned: kept"
    );
    assert_eq!(
        custom(hand, USER_CF_EMPLOYEE_ID),
        Some("HAND-1"),
        "on: create is never rewritten"
    );
    // New users get the create-only value.
    let created = world
        .halo
        .users
        .iter()
        .filter(|u| custom(u, USER_CF_EMPLOYEE_ID).is_some_and(|v| v != "HAND-1"))
        .count();
    assert!(created > 0, "new users carry their employee id");

    // The plan file shows each move as old → new.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let moves: Vec<&serde_json::Value> = plan["imports"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["tenants"].as_array().unwrap())
        .flat_map(|t| t["plan"]["updates"].as_array().into_iter().flatten())
        .filter(|u| u["changes"].get("site_id").is_some())
        .collect();
    assert!(!moves.is_empty(), "site moves planned: {plan}");
    for m in &moves {
        assert!(m["previous"]["site_id"].is_number(), "old site shown: {m}");
        assert_ne!(m["previous"]["site_id"], m["changes"]["site_id"]);
    }

    sim.clear_requests();
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(user_writes(&sim.requests()), 0, "second run must not write");

    // Without the file, nothing moves back: the built-in mapping compares neither.
    unset(&mut env, "INTEGRATOR_CONFIG_FILE");
    sim.clear_requests();
    let third = run(&env, &["run"]).await;
    assert_eq!(third.code, 0, "{third:?}");
    assert_eq!(user_writes(&sim.requests()), 0, "{third:?}");
}

#[tokio::test]
async fn an_unknown_site_fails_only_its_client_and_skip_creates_nobody_unplaced() {
    let sim = start(World::demo()).await;
    let mapping = r#"
imports:
  entra-users:
    default_site: skip
    sites: [{when: {officeLocation: Leeds}, site: Leeds Office}]
clients:
  "Fabrikam Inc":
    entra-users:
      sites: [{when: {officeLocation: Portland}, site: Portland Branch}]
"#;
    let (env, _dir) = with_mapping(&sim, mapping);
    let before = sim.world();
    let out = run(&env, &["run", "--dry-run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    let all = out.all_output();
    assert!(
        all.contains("Portland Branch") && all.contains("Fabrikam"),
        "names the site and the client: {all}"
    );
    assert!(
        all.contains("no site rule of the mapping file matches"),
        "unplaced users are skipped with the reason: {all}"
    );
    // Contoso still planned: its Leeds users move.
    assert!(all.contains("Contoso"), "{all}");
    assert_eq!(sim.world(), before, "a dry run writes nothing");

    let check = run(&env, &["check"]).await;
    assert_eq!(check.code, 2, "{check:?}");
    assert!(
        check
            .stdout
            .contains("FAIL entra-users mapping, Fabrikam Inc")
            && check.stdout.contains("Portland Branch"),
        "{check:?}"
    );
    assert!(
        check
            .stdout
            .contains("ok   entra-users mapping, Contoso Ltd"),
        "{check:?}"
    );
}

#[tokio::test]
async fn an_invalid_mapping_file_is_a_config_error_naming_the_key() {
    let sim = start(World::demo()).await;
    let (env, _dir) = with_mapping(
        &sim,
        "imports:\n  entra-users:\n    sites:\n      - {when: {city: {regex: '(['}}, site: X}\n",
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    let all = out.all_output();
    assert!(all.contains("INTEGRATOR_CONFIG_FILE"), "{all}");
    assert!(
        all.contains("imports.entra-users.sites[0].when.city"),
        "{all}"
    );
    assert!(
        sim.requests().is_empty(),
        "nothing sent before the config is valid"
    );
}
