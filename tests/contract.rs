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

/// Custom fields (read and written, by id and by name), asset statuses and site lists as the
/// simulator answers them stay inside the contract: every property it emits for them is one
/// of the fixture's models (`Users`/`Users_List`, `Device`/`Device_List`, `CustomField`,
/// `Site_List`, `Site`), and so is every body property a client sends.
#[tokio::test]
async fn custom_fields_statuses_and_sites_stay_inside_the_contract() {
    use halo_integrator::sim::{
        ASSET_CF_IMEI, ASSET_STATUS_RETIRED, DEMO_INACTIVE_SITE, USER_CF_DEPARTMENT,
    };
    use serde_json::{Value, json};

    let world = World::demo();
    let contoso = world
        .halo
        .clients
        .iter()
        .find(|c| c.name == "Contoso Ltd")
        .expect("Contoso")
        .clone();
    let user = world
        .halo
        .users
        .iter()
        .find(|u| u.client_id == contoso.id && !u.customfields.is_empty())
        .expect("a user with custom fields")
        .id;
    let asset = world
        .halo
        .assets
        .iter()
        .find(|a| a.client_id == contoso.id && !a.customfields.is_empty())
        .expect("an asset with custom fields")
        .id;
    let sim = start(world).await;
    let env = sim.env();
    let var = |key: &str| {
        env.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .expect(key)
    };
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/auth/token", var("HALO_URL")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", var("HALO_CLIENT_ID").as_str()),
            ("client_secret", var("HALO_CLIENT_SECRET").as_str()),
            ("scope", "all"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("token").to_string();
    let base = sim.base_url();
    let get = |path: String| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&token);
        async move {
            let response = request.send().await.expect("get");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("json")
        }
    };
    let post = |path: &'static str, body: Value| {
        let request = http
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = request.send().await.expect("post");
            assert_eq!(response.status(), 200);
        }
    };
    let c = contoso.id;
    let users = get(format!(
        "/api/Users?client_id={c}&pageinate=true&page_size=100"
    ))
    .await;
    assert!(
        users["users"]
            .as_array()
            .expect("users")
            .iter()
            .any(|u| u["customfields"].as_array().is_some_and(|f| !f.is_empty()))
    );
    get(format!("/api/Users/{user}")).await;
    get(format!(
        "/api/Asset?client_id={c}&includeassetfields=true&pageinate=true"
    ))
    .await;
    get(format!("/api/Asset/{asset}")).await;
    let sites = get(format!("/api/Site?client_id={c}&includeinactive=true")).await;
    assert!(
        sites["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .any(|s| s["name"] == DEMO_INACTIVE_SITE)
    );
    get(format!("/api/Site/{}", contoso.main_site_id)).await;
    post(
        "/api/Users",
        json!([{"id": user, "customfields": [
            {"id": USER_CF_DEPARTMENT, "value": "IT"},
            {"name": "CFEmployeeId", "value": "CON-9999"},
        ]}]),
    )
    .await;
    post(
        "/api/Asset",
        json!([{"id": asset, "status_id": ASSET_STATUS_RETIRED,
            "customfields": [{"id": ASSET_CF_IMEI, "value": "350000000000009"}]}]),
    )
    .await;
    let violations = contract().violations(&sim.requests());
    assert!(violations.is_empty(), "{violations:#?}");
}
