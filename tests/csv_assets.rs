//! End-to-end tests of the `csv-assets` import: the compiled binary reads a real file
//! (CSV or XLSX) and writes to the simulated Halo. Each test asserts what a user would
//! check: exit code, Halo's final assets, the requests made, and what the output says.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use halo_integrator::sim::{
    ASSET_CF_IMEI, ASSET_FIELD_CSV_KEY, ASSET_FIELD_RAM, ASSET_FIELD_TAG, ASSET_FIELD_WARRANTY,
    EntraUser, HaloAsset, HaloAssetFieldValue, HaloSite, HaloUser, World,
};

/// Clients "Contoso Ltd" and "Fabrikam Inc" (no Entra tenants), no assets; returns the ids.
fn world() -> (World, i64, i64) {
    let mut w = World::empty();
    let contoso = w.add_client("Contoso Ltd", &[]);
    let fabrikam = w.add_client("Fabrikam Inc", &[]);
    (w, contoso, fabrikam)
}

/// An asset of `client` with `serial` in the asset type's key field (what Halo shows as its
/// read-only `key_field`), linked to the import when `linked`.
fn add_asset(w: &mut World, client: i64, tag: &str, serial: &str, linked: bool) -> i64 {
    let site = w.client(client).unwrap().main_site_id;
    let mut fields = vec![
        HaloAssetFieldValue {
            id: ASSET_FIELD_WARRANTY,
            value: "2029-01-31".into(),
        },
        HaloAssetFieldValue {
            id: ASSET_FIELD_TAG,
            value: serial.into(),
        },
    ];
    if linked {
        fields.push(HaloAssetFieldValue {
            id: ASSET_FIELD_CSV_KEY,
            value: serial.to_lowercase(),
        });
    }
    w.add_halo_asset(HaloAsset {
        id: 0,
        inventory_number: tag.into(),
        assettype_id: w.asset_type_id("Workstation").unwrap(),
        client_id: client,
        site_id: site,
        intune_id: None,
        inactive: false,
        users: Vec::new(),
        fields,
        status_id: 1, // Active
        customfields: Vec::new(),
    })
}

/// Writes `content` as `name` in a fresh temp dir (kept alive by the returned guard).
fn file(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

fn env_for_csv(sim: &Sim, path: &Path) -> Vec<(String, String)> {
    let mut env = env_for(sim);
    set(&mut env, "INTEGRATOR_IMPORTS", "csv-assets");
    set(&mut env, "CSV_ASSETS_PATH", &path.display().to_string());
    set(
        &mut env,
        "CSV_ASSETS_COLUMNS",
        &format!(
            "inventory_number=Asset Tag,serial=Serial,field:{ASSET_FIELD_TAG}=Serial,client=Customer,type=Type,field:{ASSET_FIELD_RAM}=RAM"
        ),
    );
    set(
        &mut env,
        "CSV_ASSETS_LINK_FIELD",
        &ASSET_FIELD_CSV_KEY.to_string(),
    );
    env
}

fn by_serial<'a>(w: &'a World, serial: &str) -> Vec<&'a HaloAsset> {
    w.halo
        .assets
        .iter()
        .filter(|a| a.field(ASSET_FIELD_TAG) == Some(serial))
        .collect()
}

fn one<'a>(w: &'a World, serial: &str) -> &'a HaloAsset {
    match by_serial(w, serial).as_slice() {
        [a] => a,
        other => panic!("{} assets with serial {serial}", other.len()),
    }
}

/// BOM, `;`, a quoted field over two lines, an empty row, a client by id.
fn awkward_file(fabrikam: i64) -> Vec<u8> {
    format!(
        "\u{feff}Asset Tag;Serial;Customer;Type;RAM;Notes\r\n\
         LT-1;SN-1;contoso ltd;Laptop;16 GB;\"two\r\nlines\"\r\n\
         ;;;;;\r\n\
         PC-2 renamed;SN-2;Contoso Ltd;;8 GB;\r\n\
         WS-3;SN-3;{fabrikam};;;\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn first_sync_links_hand_made_assets_then_a_second_run_writes_nothing() {
    let (mut w, contoso, fabrikam) = world();
    let hand_made = add_asset(&mut w, contoso, "PC-2", "SN-2", false);
    let sim = start(w).await;
    let (_dir, path) = file("assets.csv", &awkward_file(fabrikam));
    let env = env_for_csv(&sim, &path);

    let first = run(&env, &["run"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    let w = sim.world();
    assert_eq!(
        w.halo.assets.len(),
        3,
        "no duplicate of the hand-made asset"
    );
    let laptop = one(&w, "SN-1");
    assert_eq!(
        (laptop.client_id, laptop.inventory_number.as_str()),
        (contoso, "LT-1")
    );
    assert_eq!(laptop.assettype_id, w.asset_type_id("Laptop").unwrap());
    assert_eq!(laptop.field(ASSET_FIELD_RAM), Some("16 GB"));
    assert_eq!(laptop.field(ASSET_FIELD_CSV_KEY), Some("sn-1"));
    let pc = one(&w, "SN-2");
    assert_eq!(pc.id, hand_made, "matched by serial, not duplicated");
    assert_eq!(pc.inventory_number, "PC-2 renamed");
    assert_eq!(pc.field(ASSET_FIELD_CSV_KEY), Some("sn-2"), "now linked");
    assert_eq!(pc.field(ASSET_FIELD_WARRANTY), Some("2029-01-31"), "kept");
    assert_eq!(
        pc.assettype_id,
        w.asset_type_id("Workstation").unwrap(),
        "empty type changes nothing"
    );
    let ws = one(&w, "SN-3");
    assert_eq!(ws.client_id, fabrikam, "client by id");
    assert_eq!(ws.assettype_id, w.asset_type_id("Workstation").unwrap());
    assert!(first.stdout.contains("→ Contoso Ltd"), "{first:?}");

    sim.clear_requests();
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        asset_writes(&sim.requests()),
        0,
        "second run must not write"
    );
    assert!(
        second.stdout.contains(
            "total: created=0 updated=0 deactivated=0 reactivated=0 unchanged=3 skipped=0 failed=0"
        ),
        "{second:?}"
    );
}

#[tokio::test]
async fn rejected_rows_are_reported_by_line_counted_failed_and_exit_3() {
    let (mut w, contoso, _) = world();
    let linked_dup = add_asset(&mut w, contoso, "DUP", "SN-DUP", true);
    let linked_bad_type = add_asset(&mut w, contoso, "T", "SN-T", true);
    let sim = start(w).await;
    let (_dir, path) = file(
        "assets.csv",
        b"Asset Tag,Serial,Customer,Type,RAM\n\
          OK-1,SN-OK,Contoso Ltd,,\n\
          X-1,SN-X,Nobody Inc,,\n\
          T,SN-T,Contoso Ltd,Toaster,\n\
          D-1,SN-DUP,Contoso Ltd,,\n\
          D-2,sn-dup,Contoso Ltd,,\n\
          E,,Contoso Ltd,,\n",
    );
    let mut env = env_for_csv(&sim, &path);
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    set(&mut env, "INTEGRATOR_MAX_DEACTIVATION_PERCENT", "100");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    let w = sim.world();
    assert_eq!(w.halo.assets.len(), 3, "only the good row was created");
    assert!(!by_serial(&w, "SN-OK").is_empty());
    for id in [linked_dup, linked_bad_type] {
        let a = w.halo_asset(id).unwrap();
        assert!(
            !a.inactive,
            "asset {id} of a rejected row must not be deactivated"
        );
    }
    let log = out.all_output();
    for (line, reason) in [
        (3, "no Halo client is named or has the id 'Nobody Inc'"),
        (4, "unknown asset type 'Toaster'"),
        (5, "also on line(s) 6"),
        (6, "also on line(s) 5"),
        (7, "match column 'Serial' (key_field) is empty"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(&format!("\"line\":{line}"))
                && l.contains(reason)
                && l.contains("\"action\":\"failed\"")),
            "line {line} ({reason}) not reported: {out:?}"
        );
    }
    assert!(
        out.stdout
            .contains("5 row(s) rejected (lines 3, 4, 5, 6, 7)"),
        "{out:?}"
    );
    assert!(out.stdout.contains("failed=5"), "{out:?}");
}

#[tokio::test]
async fn leavers_are_deactivated_only_when_enabled_and_only_if_linked() {
    let (mut w, contoso, fabrikam) = world();
    for n in 0..20 {
        add_asset(
            &mut w,
            contoso,
            &format!("PC-{n}"),
            &format!("SN-{n}"),
            true,
        );
    }
    let gone = add_asset(&mut w, contoso, "GONE", "SN-GONE", true);
    let gone_client = add_asset(&mut w, fabrikam, "F-GONE", "SN-F", true);
    let hand_made = add_asset(&mut w, contoso, "HAND", "SN-HAND", false);
    let sim = start(w).await;
    let mut csv = String::from("Asset Tag,Serial,Customer,Type,RAM\n");
    for n in 0..20 {
        csv.push_str(&format!("PC-{n},SN-{n},Contoso Ltd,,\n"));
    }
    let (_dir, path) = file("assets.csv", csv.as_bytes());
    let mut env = env_for_csv(&sim, &path);

    let off = run(&env, &["run"]).await;
    assert_eq!(off.code, 0, "{off:?}");
    assert_eq!(asset_writes(&sim.requests()), 0, "{off:?}");

    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    set(&mut env, "INTEGRATOR_MAX_DEACTIVATIONS", "0");
    let tripped = run(&env, &["run"]).await;
    assert_eq!(tripped.code, 4, "{tripped:?}");
    assert!(sim.world().halo.assets.iter().all(|a| !a.inactive));

    set(&mut env, "INTEGRATOR_MAX_DEACTIVATIONS", "50");
    set(&mut env, "INTEGRATOR_MAX_DEACTIVATION_PERCENT", "100");
    let on = run(&env, &["run"]).await;
    assert_eq!(on.code, 0, "{on:?}");
    let w = sim.world();
    assert!(w.halo_asset(gone).unwrap().inactive);
    assert!(
        w.halo_asset(gone_client).unwrap().inactive,
        "a client no longer in the file still has its leavers found"
    );
    assert!(!w.halo_asset(hand_made).unwrap().inactive, "never linked");
    let inactive = w.halo.assets.iter().filter(|a| a.inactive).count();
    assert_eq!(inactive, 2);
}

#[tokio::test]
async fn file_and_mapping_errors_exit_2_naming_the_variable() {
    let (w, _, _) = world();
    let sim = start(w).await;
    let missing = Path::new("/nonexistent/assets.csv");
    let out = run(&env_for_csv(&sim, missing), &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.all_output()
            .contains("CSV_ASSETS_PATH: /nonexistent/assets.csv"),
        "{out:?}"
    );

    let (_dir, path) = file("assets.csv", b"Tag;Serial;Customer\nA;1;Contoso Ltd\n");
    let out = run(&env_for_csv(&sim, &path), &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.all_output()
            .contains("CSV_ASSETS_COLUMNS: inventory_number is mapped to the column 'Asset Tag'"),
        "{out:?}"
    );
    let mut env = env_for_csv(&sim, &path);
    unset(&mut env, "CSV_ASSETS_LINK_FIELD");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.all_output().contains("CSV_ASSETS_LINK_FIELD"),
        "{out:?}"
    );
    assert_eq!(asset_writes(&sim.requests()), 0);
}

#[tokio::test]
async fn xlsx_workbooks_import_like_csv() {
    let (w, contoso, _) = world();
    let sim = start(w).await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assets.xlsx");
    let mut env = env_for_csv(&sim, &path);
    set(
        &mut env,
        "CSV_ASSETS_COLUMNS",
        &format!(
            "inventory_number=Asset Tag,serial=Serial,field:{ASSET_FIELD_TAG}=Serial,client=Customer,field:{ASSET_FIELD_RAM}=RAM"
        ),
    );
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let w = sim.world();
    assert_eq!(w.halo.assets.len(), 3);
    let a = one(&w, "12345");
    assert_eq!(
        (a.client_id, a.inventory_number.as_str()),
        (contoso, "XL-003")
    );
    assert_eq!(a.field(ASSET_FIELD_RAM), Some("8"));
    let check = run(&env, &["check"]).await;
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check.stdout.contains("3 row(s) for 1 client(s)"),
        "{check:?}"
    );
}

// --- The mapping file (`INTEGRATOR_CONFIG_FILE`): site, user and status columns, rules.

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

const CSV_MAPPING: &str = r#"
imports:
  csv-assets:
    columns: {site: Location, user: Owner, status: State}
    statuses: {Active: 1, In Repair: 2, Retired: 4}
    asset_types:
      - when: {Model: {regex: "^iPhone"}}
        type: Mobile Phone
    fields:
      - {from: IMEI, to: {custom_field: CFIMEI}}
"#;

#[tokio::test]
async fn site_user_and_status_columns_are_applied_unknown_statuses_rejected_then_nothing() {
    let (mut w, contoso, _) = world();
    let leeds = w.next_halo_id();
    w.halo.sites.push(HaloSite {
        id: leeds,
        name: "Leeds Office".into(),
        client_id: contoso,
        inactive: false,
    });
    let main = w.client(contoso).unwrap().main_site_id;
    let ann = w.add_halo_user(HaloUser::from_entra(
        &EntraUser::member("a1", "Ann", "Lee", "ann@contoso.example"),
        contoso,
        main,
    ));
    let existing = add_asset(&mut w, contoso, "PC-4", "SN-4", true);
    let sim = start(w).await;
    let (_dir, path) = file(
        "assets.csv",
        b"Asset Tag;Serial;Customer;Type;RAM;State;Owner;Location;Model;IMEI\n\
          LT-1;SN-1;Contoso Ltd;;;in repair;ANN@contoso.example;leeds office;;\n\
          LT-2;SN-2;Contoso Ltd;;;Active;nobody@contoso.example;;iPhone 15;350000000000002\n\
          LT-3;SN-3;Contoso Ltd;;;Lost;;;;\n\
          PC-4;SN-4;Contoso Ltd;;;Retired;ann@contoso.example;Leeds Office;;\n",
    );
    let mut env = env_for_csv(&sim, &path);
    let _mapping = with_mapping(&mut env, CSV_MAPPING);

    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 3, "a rejected row: {out:?}");
    let log = out.all_output();
    assert!(
        log.contains("the status 'Lost' is not in the mapping file's statuses"),
        "{out:?}"
    );
    assert!(log.contains("rejected (lines 4)"), "{out:?}");
    assert!(
        log.contains("no single active user") && log.contains("nobody@contoso.example"),
        "the user not found is named: {out:?}"
    );
    let w = sim.world();
    assert!(by_serial(&w, "SN-3").is_empty(), "the rejected row");
    let lt1 = one(&w, "SN-1");
    assert_eq!(
        (lt1.status_id, lt1.site_id, lt1.users.clone()),
        (2, leeds, vec![ann]),
        "status mapped, site by name, user by e-mail on create"
    );
    let lt2 = one(&w, "SN-2");
    assert_eq!((lt2.status_id, lt2.site_id), (1, main));
    assert!(lt2.users.is_empty(), "no user found: none");
    assert_eq!(lt2.assettype_id, w.asset_type_id("Mobile Phone").unwrap());
    assert_eq!(
        lt2.customfields
            .iter()
            .map(|f| (f.id, f.value.as_str()))
            .collect::<Vec<_>>(),
        [(ASSET_CF_IMEI, "350000000000002")]
    );
    assert_eq!(
        one(&w, "SN-1").assettype_id,
        w.asset_type_id("Workstation").unwrap(),
        "no rule matches: CSV_ASSETS_TYPE"
    );
    let pc4 = w.halo_asset(existing).unwrap();
    assert_eq!(
        (pc4.status_id, pc4.site_id),
        (4, leeds),
        "an existing asset's status and site follow the file"
    );
    assert!(pc4.users.is_empty(), "its people are never rewritten");

    sim.clear_requests();
    let again = run(&env, &["run"]).await;
    assert_eq!(again.code, 3, "{again:?}");
    assert_eq!(asset_writes(&sim.requests()), 0, "{again:?}");
}
