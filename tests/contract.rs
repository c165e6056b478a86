//! The contract test: every request the product sends to Halo and every record the
//! simulator answers is held against Halo's published OpenAPI contract
//! (`tests/fixtures/halo-openapi-subset.json`). Every end-to-end test does this when its
//! simulator is dropped ([`common::Sim`]); here the checker itself is tested (a name Halo
//! does not have fails, naming it), and the demo's three imports, with writes of every
//! kind, are run and must stay inside the contract.

mod common;

use std::time::Duration;

use common::contract::contract;
use common::*;
use halo_integrator::sim::{RequestRecord, Service, World};

fn request(method: &str, path: &str, query: &str, body: Option<&str>) -> RequestRecord {
    RequestRecord {
        seq: 0,
        service: Service::HaloApi,
        method: method.into(),
        path: path.into(),
        query: query.into(),
        status: Some(200),
        fault: None,
        request_id: String::new(),
        tenant: None,
        body: body.map(str::to_string),
        response_properties: Vec::new(),
        at: std::time::Instant::now(),
        elapsed: Duration::ZERO,
        duration: Duration::ZERO,
    }
}

#[test]
fn names_halo_does_not_have_are_violations_naming_them() {
    let c = contract();
    let table: [(RequestRecord, &str); 7] = [
        (
            request("GET", "/api/Client", "includedetails=true", None),
            "Halo's /Client has no query parameter 'includedetails'",
        ),
        (
            request("POST", "/api/Asset", "", Some(r#"[{"id":1,"user_id":7}]"#)),
            "Device has no property 'user_id'",
        ),
        (
            request(
                "POST",
                "/api/Users",
                "",
                Some(r#"[{"id":1,"ldap_id":"x"}]"#),
            ),
            "Users has no property 'ldap_id'",
        ),
        (
            request(
                "POST",
                "/api/Asset",
                "",
                Some(r#"[{"id":1,"fields":[{"id":9,"colour":"red"}]}]"#),
            ),
            "FieldHelper (in Device.fields) has no property 'colour'",
        ),
        (
            request("GET", "/api/Gadgets", "", None),
            "no such path in Halo's API",
        ),
        (request("DELETE", "/api/Users/12", "", None), ""),
        (
            {
                let mut r = request("GET", "/api/Users", "pageinate=true", None);
                r.response_properties = vec!["id".into(), "azureoid".into()];
                r
            },
            "GET /api/Users answer: Users_List has no property 'azureoid'",
        ),
    ];
    for (r, expected) in table {
        let violations = c.check(&r);
        if expected.is_empty() {
            assert!(violations.is_empty(), "{violations:?}");
        } else {
            assert!(
                violations.iter().any(|v| v.contains(expected)),
                "{} {}: expected '{expected}' in {violations:?}",
                r.method,
                r.path
            );
        }
    }
    // And what the product really sends is fine.
    for r in [
        request(
            "GET",
            "/api/Client",
            "includeazuretenants=true&pageinate=true&page_size=1000&page_no=1",
            None,
        ),
        request(
            "POST",
            "/api/Asset",
            "",
            Some(
                r#"[{"client_id":1,"site_id":2,"assettype_id":3,"users":[{"id":7}],"fields":[{"id":9,"value":"x"}]}]"#,
            ),
        ),
        request(
            "POST",
            "/api/Report",
            "",
            Some(r#"[{"id":0,"sql":"SELECT 1","_loadreportonly":true}]"#),
        ),
    ] {
        assert!(c.check(&r).is_empty(), "{:?}", c.check(&r));
    }
}

#[tokio::test]
async fn the_demo_imports_stay_inside_the_contract() {
    let sim = start(World::demo()).await;
    let mut env = env_for_devices(&sim);
    set(
        &mut env,
        "INTEGRATOR_IMPORTS",
        "entra-users,intune-devices,csv-assets",
    );
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/assets.csv");
    set(&mut env, "CSV_ASSETS_PATH", &csv.display().to_string());
    set(
        &mut env,
        "CSV_ASSETS_COLUMNS",
        &format!(
            "inventory_number=Asset Tag,serial=Serial,field:{}=Serial,client=Customer,type=Type,field:{}=RAM",
            halo_integrator::sim::ASSET_FIELD_TAG,
            halo_integrator::sim::ASSET_FIELD_RAM
        ),
    );
    set(
        &mut env,
        "CSV_ASSETS_LINK_FIELD",
        &halo_integrator::sim::ASSET_FIELD_CSV_KEY.to_string(),
    );
    for args in [&["check"][..], &["run"][..], &["run"][..]] {
        let out = run(&env, args).await;
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
    let requests = sim.requests();
    let violations = contract().violations(&requests);
    assert!(violations.is_empty(), "{violations:#?}");
    // The check covered every kind of request the product makes: reads, the link report,
    // single reads, creates and updates of users and assets.
    for (method, path) in [
        ("GET", "/api/Client"),
        ("GET", "/api/Users"),
        ("GET", "/api/Asset"),
        ("GET", "/api/AssetType"),
        ("POST", "/api/Report"),
        ("POST", "/api/Users"),
        ("POST", "/api/Asset"),
    ] {
        assert!(
            count(&requests, Service::HaloApi, method, path) > 0,
            "no {method} {path} was checked"
        );
    }
    let answered: usize = requests.iter().map(|r| r.response_properties.len()).sum();
    assert!(
        answered > 100,
        "answers were checked too ({answered} properties)"
    );
}
