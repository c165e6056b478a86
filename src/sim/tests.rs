//! Tests of the simulator through HTTP, with reqwest as the client.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::*;

const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn no_rate_limit() -> SimOptions {
    SimOptions {
        halo_rate_limit: None,
        ..SimOptions::default()
    }
}

/// One active client (tenant A) with `users` active users, 3 inactive users, an inactive
/// client (tenant B) and a second active client without tenant.
fn halo_world(users: usize) -> World {
    let mut world = World::empty();
    world.add_tenant(TENANT_A, "Tenant A");
    world.add_tenant(TENANT_B, "Tenant B");
    let client = world.add_client("Alpha", &[TENANT_A]);
    let site = world.client(client).map_or(0, |c| c.main_site_id);
    for i in 0..users + 3 {
        let mut user = HaloUser::from_entra(
            &EntraUser::member(
                &format!("0000000{i}-oid"),
                &format!("First{i}"),
                &format!("Last{i}"),
                &format!("user{i}@alpha.example"),
            ),
            client,
            site,
        );
        user.inactive = i >= users;
        world.add_halo_user(user);
    }
    let inactive = world.add_client("Dormant", &[TENANT_B]);
    if let Some(c) = world.halo.clients.iter_mut().find(|c| c.id == inactive) {
        c.inactive = true;
    }
    world.add_client("NoTenant", &[]);
    world
}

/// Tenant A with `n` members (every 4th disabled) and one guest; tenant B unconsented.
fn graph_world(n: usize) -> World {
    let mut world = World::empty();
    let tenant = world.add_tenant(TENANT_A, "Tenant A");
    for i in 0..n {
        let mut user = EntraUser::member(
            &format!("00000000-0000-4000-8000-{i:012}"),
            &format!("Given{i}"),
            &format!("Sur{i}"),
            &format!("u{i}@a.example"),
        );
        user.account_enabled = i % 4 != 0;
        user.department = Some(if i % 2 == 0 { "Sales" } else { "IT" }.to_string());
        user.job_title = Some("Engineer".to_string());
        tenant.users.push(user);
    }
    let mut guest = EntraUser::member("guest-oid", "Gus", "Guest", "gus_x.example#EXT#@a.example");
    guest.user_type = "Guest".to_string();
    tenant.users.push(guest);
    world.add_tenant(TENANT_B, "Tenant B").consented = false;
    world
}

async fn start(world: World, opts: SimOptions) -> Simulator {
    Simulator::start(loopback(), world, opts)
        .await
        .expect("simulator starts")
}

fn env(sim: &Simulator, key: &str) -> String {
    sim.env()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{key} missing from env"))
}

async fn halo_token(sim: &Simulator, http: &Client) -> String {
    let response = http
        .post(format!("{}/auth/token", env(sim, "HALO_URL")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &env(sim, "HALO_CLIENT_ID")),
            ("client_secret", &env(sim, "HALO_CLIENT_SECRET")),
            ("scope", "all"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token json");
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().expect("token").to_string()
}

async fn halo_get(sim: &Simulator, http: &Client, token: &str, path: &str) -> (StatusCode, Value) {
    let response = http
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    assert!(response.headers().contains_key("x-request-id"));
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn halo_post(
    sim: &Simulator,
    http: &Client,
    token: &str,
    path: &str,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
}

async fn entra_token_request(
    sim: &Simulator,
    http: &Client,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = http
        .post(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            env(sim, "ENTRA_AUTHORITY_HOST")
        ))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status();
    (status, response.json().await.expect("json body"))
}

async fn graph_token(sim: &Simulator, http: &Client, tenant: &str) -> String {
    let (status, body) = entra_token_request(
        sim,
        http,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &env(sim, "ENTRA_CLIENT_ID")),
            ("client_secret", &env(sim, "ENTRA_CLIENT_SECRET")),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_string()
}

async fn graph_get(http: &Client, token: &str, url: &str) -> (StatusCode, Value) {
    graph_get_with(http, token, url, &[]).await
}

/// [`graph_get`] with extra request headers.
async fn graph_get_with(
    http: &Client,
    token: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = http.get(url).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let request_id = response
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .expect("request-id header")
        .to_string();
    assert!(response.headers().contains_key("client-request-id"));
    let body: Value = response.json().await.expect("json");
    if let Some(inner) = body.get("error").and_then(|e| e.get("innerError")) {
        assert_eq!(inner["request-id"], request_id.as_str());
    }
    (status, body)
}

#[tokio::test]
async fn halo_paging_caps_page_size_silently_and_truncates_unpaged_lists() {
    let sim = start(halo_world(250), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    let (status, page) = halo_get(
        &sim,
        &http,
        &token,
        "/api/Users?pageinate=true&page_size=500&page_no=1",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["page_size"], 500);
    assert_eq!(page["page_no"], 1);
    assert_eq!(page["record_count"], 250);
    assert_eq!(page["users"].as_array().map(Vec::len), Some(100));

    let mut ids = HashSet::new();
    for page_no in 1..=4 {
        // Case-insensitive path and parameter names, unknown parameters ignored.
        let (_, page) = halo_get(
            &sim,
            &http,
            &token,
            &format!("/api/users?Pageinate=TRUE&page_size=500&page_no={page_no}&bogus=1"),
        )
        .await;
        let users = page["users"].as_array().cloned().unwrap_or_default();
        assert_eq!(users.len(), [100, 100, 50, 0][page_no - 1]);
        ids.extend(users.iter().filter_map(|u| u["id"].as_i64()));
    }
    assert_eq!(ids.len(), 250);

    let (_, unpaged) = halo_get(&sim, &http, &token, "/api/Users").await;
    assert_eq!(unpaged["users"].as_array().map(Vec::len), Some(50));
    assert_eq!(unpaged["record_count"], 250);
    assert!(unpaged.get("page_no").is_none());

    let (status, _) = halo_get(&sim, &http, &token, "/api/Users?client_id=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn halo_hides_inactive_records_and_search_ignores_azureoid() {
    let sim = start(halo_world(5), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    let (_, active) = halo_get(&sim, &http, &token, "/api/Users?pageinate=true").await;
    assert_eq!(active["record_count"], 5);
    let (_, all) = halo_get(
        &sim,
        &http,
        &token,
        "/api/Users?pageinate=true&includeinactive=true",
    )
    .await;
    assert_eq!(all["record_count"], 8);
    let user = &all["users"][0];
    assert!(user["id"].is_i64(), "reads have integer ids: {user}");
    assert!(
        user.get("azureoid").is_none(),
        "Users_List has no azureoid: {user}"
    );
    let first = user["id"].as_i64().expect("id");
    let (_, full) = halo_get(&sim, &http, &token, &format!("/api/Users/{first}")).await;
    assert_eq!(
        full["azureoid"], "00000000-oid",
        "the full Users model has it"
    );

    let (_, found) = halo_get(&sim, &http, &token, "/api/Users?search=USER3@ALPHA").await;
    assert_eq!(found["record_count"], 1);
    let (_, by_oid) = halo_get(&sim, &http, &token, "/api/Users?search=00000003-oid").await;
    assert_eq!(by_oid["record_count"], 0);

    // Single reads show inactive records too; unknown ids are 404.
    let inactive_id = all["users"][7]["id"].as_i64().expect("id");
    let (status, single) =
        halo_get(&sim, &http, &token, &format!("/api/Users/{inactive_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(single["inactive"], true);
    let (status, _) = halo_get(&sim, &http, &token, "/api/Users/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, clients) = halo_get(&sim, &http, &token, "/api/Client").await;
    assert_eq!(clients["record_count"], 2);
    let (_, clients) = halo_get(&sim, &http, &token, "/api/Client?includeinactive=true").await;
    assert_eq!(clients["record_count"], 3);
}

#[tokio::test]
async fn halo_client_lists_carry_azure_tenants_only_with_includeazuretenants() {
    let sim = start(halo_world(1), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    let (_, plain) = halo_get(&sim, &http, &token, "/api/Client").await;
    assert!(plain["clients"][0].get("azure_tenants").is_none());
    // `includedetails` exists only on the single GET: the list ignores it.
    let (_, ignored) = halo_get(&sim, &http, &token, "/api/Client?includedetails=true").await;
    assert!(ignored["clients"][0].get("azure_tenants").is_none());
    let (_, detailed) = halo_get(&sim, &http, &token, "/api/Client?includeazuretenants=true").await;
    assert_eq!(
        detailed["clients"][0]["azure_tenants"][0]["azure_tenant_id"],
        TENANT_A
    );
    let client_id = detailed["clients"][0]["id"].as_i64().expect("id");
    let (_, sites) = halo_get(
        &sim,
        &http,
        &token,
        &format!("/api/Site?client_id={client_id}"),
    )
    .await;
    assert_eq!(sites["record_count"], 1);
    assert_eq!(
        sites["sites"][0]["id"],
        detailed["clients"][0]["main_site_id"]
    );
    let (_, single) = halo_get(
        &sim,
        &http,
        &token,
        &format!("/api/Client/{client_id}?includedetails=true"),
    )
    .await;
    assert_eq!(single["azure_tenants"][0]["azure_tenant_id"], TENANT_A);

    let (status, types) = halo_get(&sim, &http, &token, "/api/AssetType").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = types
        .as_array()
        .expect("bare array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"Laptop") && names.contains(&"Server"));

    let (_, authinfo) = halo_get(&sim, &http, &token, "/api/authinfo").await;
    assert_eq!(authinfo["auth_url"], format!("{}/auth", sim.base_url()));
}

#[tokio::test]
async fn halo_writes_answer_objects_or_arrays_with_float_ids() {
    let sim = start(halo_world(2), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let world = sim.world();
    let client = world.halo.clients[0].clone();

    let created = halo_post(
        &sim,
        &http,
        &token,
        "/api/Users",
        &json!([{"name": "New Person", "emailaddress": "new@alpha.example",
                 "client_id": client.id, "site_id": client.main_site_id,
                 "azureoid": "new-oid", "title": "Engineer"}]),
    )
    .await
    .expect("post");
    assert_eq!(created.status(), StatusCode::OK);
    let text = created.text().await.expect("body");
    let saved: Value = serde_json::from_str(&text).expect("json");
    assert!(saved.is_object(), "one item → object: {text}");
    let new_id = saved["id"].as_f64().expect("id") as i64;
    assert!(text.contains(&format!("\"id\":{new_id}.0")), "{text}");
    assert!(
        text.contains(&format!("\"client_id\":{}.0", client.id)),
        "{text}"
    );

    // Partial update by float id, plus a create, in one array.
    let existing = world.halo.users[0].clone();
    let response = halo_post(
        &sim,
        &http,
        &token,
        "/api/users",
        &json!([
            {"id": existing.id as f64, "title": "Boss"},
            {"name": "Second", "client_id": client.id, "site_id": client.main_site_id}
        ]),
    )
    .await
    .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved.as_array().map(Vec::len), Some(2));
    let after = sim.world();
    let updated = after.halo_user(existing.id).expect("still there");
    assert_eq!(updated.title.as_deref(), Some("Boss"));
    assert_eq!(updated.name, existing.name, "fields not sent are kept");
    assert_eq!(after.halo.users.len(), world.halo.users.len() + 2);

    // Child arrays sent in an update replace the stored ones.
    let response = halo_post(
        &sim,
        &http,
        &token,
        "/api/Client",
        &json!({"id": client.id, "azure_tenants": [{"azure_tenant_id": TENANT_B, "azure_tenant_name": "B"}]}),
    )
    .await
    .expect("post");
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved["azure_tenants"].as_array().map(Vec::len), Some(1));
    let stored = sim
        .world()
        .client(client.id)
        .expect("client")
        .azure_tenants
        .clone();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].azure_tenant_id, TENANT_B);
}

#[tokio::test]
async fn halo_validation_rejects_the_whole_batch() {
    let sim = start(halo_world(2), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let before = sim.world();
    let client = before.halo.clients[0].clone();
    let other_site = before.halo.clients[2].main_site_id;
    let ok = json!({"name": "Fine", "client_id": client.id, "site_id": client.main_site_id});
    let existing = before.halo.users[0].id;

    let cases = [
        (
            json!([{"id": existing, "title": "changed"}, ok, ok, {"name": "Bad", "emailaddress": "x", "client_id": client.id, "site_id": client.main_site_id}]),
            "Item 3: emailaddress 'x'",
        ),
        (json!([ok, {"id": 424242, "name": "Ghost"}]), "424242"),
        (
            json!([ok, {"name": "", "client_id": client.id, "site_id": client.main_site_id}]),
            "Item 1: name",
        ),
        (
            json!([{"name": "x".repeat(256), "client_id": client.id, "site_id": client.main_site_id}]),
            "Item 0: name",
        ),
        (
            json!([{"name": "Wrong site", "client_id": client.id, "site_id": other_site}]),
            "site_id",
        ),
        (
            json!([{"name": "No client", "site_id": client.main_site_id}]),
            "client_id",
        ),
        (
            json!([{"name": "Ghost client", "client_id": 9999, "site_id": 1}]),
            "client_id 9999",
        ),
        (
            json!([{"name": "Two at", "emailaddress": "a@b@c", "client_id": client.id, "site_id": client.main_site_id}]),
            "emailaddress",
        ),
        (json!("not an array"), "array"),
    ];
    for (body, expected) in cases {
        let response = halo_post(&sim, &http, &token, "/api/Users", &body)
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = response.text().await.expect("text");
        assert!(
            text.contains(expected),
            "{text:?} should contain {expected:?}"
        );
    }
    let response = http
        .post(format!("{}/api/Users", sim.base_url()))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.world(), before, "nothing committed");
}

#[tokio::test]
async fn halo_rate_limit_is_a_429_without_retry_after() {
    let opts = SimOptions {
        halo_rate_limit: Some((3, Duration::from_millis(400))),
        ..SimOptions::default()
    };
    let sim = start(halo_world(1), opts).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await; // 1
    for _ in 0..2 {
        let (status, _) = halo_get(&sim, &http, &token, "/api/Client").await;
        assert_eq!(status, StatusCode::OK);
    }
    for _ in 0..3 {
        let response = http
            .get(format!("{}/api/Client", sim.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().get("retry-after").is_none());
        assert_eq!(
            response.text().await.expect("text"),
            "Rate Limit Reached - 3 Requests per rolling 400 millisecond window"
        );
    }
    // Graph is not limited by Halo's window.
    graph_token(&sim, &http, TENANT_A).await;
    // Rejected requests did not count: once the window has passed, requests succeed again.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (status, _) = halo_get(&sim, &http, &token, "/api/Client").await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<Option<u16>> = sim
        .requests()
        .iter()
        .filter(|r| r.service.is_halo())
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429, 429, 200].map(Some).to_vec()
    );
}

#[tokio::test]
async fn halo_token_errors_expiry_and_revocation() {
    let mut world = halo_world(1);
    world.credentials.halo_tenant = Some("acme".to_string());
    let opts = SimOptions {
        halo_token_ttl: Duration::from_millis(150),
        ..no_rate_limit()
    };
    let sim = start(world, opts).await;
    let http = Client::new();
    assert_eq!(env(&sim, "HALO_TENANT"), "acme");
    let url = format!("{}/auth/token", sim.base_url());
    let form = |secret: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", env(&sim, "HALO_CLIENT_ID")),
            ("client_secret", secret.to_string()),
            ("scope", "all".to_string()),
        ]
    };
    let secret = env(&sim, "HALO_CLIENT_SECRET");

    let response = http
        .post(&url)
        .form(&form(&secret))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("tenant")
    );

    let response = http
        .post(format!("{url}?tenant=acme"))
        .form(&form("wrong"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");

    let response = http
        .post(format!("{url}?tenant=acme"))
        .form(&form(&secret))
        .send()
        .await
        .expect("post");
    let body: Value = response.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token").to_string();
    assert_eq!(body["scope"], "all");
    let (status, _) = halo_get(&sim, &http, &token, "/api/Client").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = halo_get(&sim, &http, "made-up", "/api/Client").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = halo_get(&sim, &http, &token, "/api/Client").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");

    let response = http
        .post(format!("{url}?tenant=acme"))
        .form(&form(&secret))
        .send()
        .await
        .expect("post");
    let body: Value = response.json().await.expect("json");
    let token = body["access_token"].as_str().expect("token").to_string();
    sim.inject(Fault::halo_api(
        "GET",
        "/api/client",
        FaultKind::RevokeTokens,
    ));
    let (status, _) = halo_get(&sim, &http, &token, "/api/Client").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (status, _) = halo_get(&sim, &http, &token, "/api/Site").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "stays revoked");
}

#[tokio::test]
async fn commit_then_drop_commits_but_the_client_sees_an_error() {
    let sim = start(halo_world(1), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let client = sim.world().halo.clients[0].clone();
    let before = sim.world().halo.users.len();
    let new_user =
        json!([{"name": "Dropped", "client_id": client.id, "site_id": client.main_site_id}]);

    sim.inject(Fault::halo_api(
        "POST",
        "/api/Users",
        FaultKind::CommitThenDrop,
    ));
    let result = halo_post(&sim, &http, &token, "/api/Users", &new_user).await;
    assert!(
        result.is_err(),
        "client must not see a response: {result:?}"
    );
    assert_eq!(sim.world().halo.users.len(), before + 1, "write committed");

    sim.inject(Fault::halo_api(
        "POST",
        "/api/Users",
        FaultKind::DropBeforeCommit,
    ));
    let result = halo_post(&sim, &http, &token, "/api/Users", &new_user).await;
    assert!(
        result.is_err(),
        "client must not see a response: {result:?}"
    );
    assert_eq!(sim.world().halo.users.len(), before + 1, "not committed");

    sim.inject(Fault::halo_api(
        "POST",
        "",
        FaultKind::CommitThenHtml { status: 502 },
    ));
    let response = halo_post(&sim, &http, &token, "/api/Users", &new_user)
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert_eq!(sim.world().halo.users.len(), before + 2, "committed");

    // Faults are one-shot by default: the next write goes through normally.
    let response = halo_post(&sim, &http, &token, "/api/Users", &new_user)
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);

    let log: Vec<(Option<u16>, Option<String>)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.service == Service::HaloApi)
        .map(|r| (r.status, r.fault))
        .collect();
    assert_eq!(
        log,
        vec![
            (None, Some("CommitThenDrop".to_string())),
            (None, Some("DropBeforeCommit".to_string())),
            (Some(502), Some("CommitThenHtml".to_string())),
            (Some(200), None),
        ]
    );
    let bodies = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.service == Service::HaloApi)
        .filter_map(|r| r.body)
        .count();
    assert_eq!(bodies, 4, "write bodies are logged");
}

#[tokio::test]
async fn unprocessed_faults_skip_times_and_delay() {
    let sim = start(halo_world(1), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let client = sim.world().halo.clients[0].clone();
    let before = sim.world().halo.users.len();
    let new_user = json!({"name": "X", "client_id": client.id, "site_id": client.main_site_id});

    // skip 1, then twice.
    sim.inject(
        Fault::halo_api("GET", "page_no=2", FaultKind::Html { status: 503 })
            .skip(1)
            .times(2),
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _) =
            halo_get(&sim, &http, &token, "/api/Users?pageinate=true&page_no=2").await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [200, 503, 503, 200]);

    sim.inject(Fault::halo_api(
        "POST",
        "",
        FaultKind::Status {
            status: 500,
            body: "{\"message\":\"boom\"}".to_string(),
            content_type: "application/json".to_string(),
        },
    ));
    let response = halo_post(&sim, &http, &token, "/api/Users", &new_user)
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.text().await.expect("text"),
        "{\"message\":\"boom\"}"
    );

    sim.inject(Fault::halo_api(
        "POST",
        "",
        FaultKind::TooManyRequests {
            retry_after: Some(7),
        },
    ));
    let response = halo_post(&sim, &http, &token, "/api/Users", &new_user)
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(sim.world().halo.users.len(), before, "nothing processed");

    sim.inject(Fault::halo_api(
        "",
        "/api/site",
        FaultKind::Delay { ms: 150 },
    ));
    let started = Instant::now();
    let (status, _) = halo_get(&sim, &http, &token, "/api/Site").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    // A client timeout shorter than the delay sees an error.
    sim.inject(Fault::halo_api(
        "",
        "/api/site",
        FaultKind::Delay { ms: 300 },
    ));
    let result = http
        .get(format!("{}/api/Site", sim.base_url()))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));

    sim.inject(Fault::halo_api("", "", FaultKind::Html { status: 502 }).always());
    sim.clear_faults();
    let (status, _) = halo_get(&sim, &http, &token, "/api/Site").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn graph_select_default_properties_and_filters() {
    let sim = start(graph_world(10), SimOptions::default()).await;
    let http = Client::new();
    let token = graph_token(&sim, &http, TENANT_A).await;
    let users = format!("{}/v1.0/users", env(&sim, "GRAPH_URL"));

    let (status, body) = graph_get(&http, &token, &users).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["@odata.context"].is_string());
    let first = &body["value"][0];
    assert!(first.get("id").is_some() && first.get("displayName").is_some());
    for hidden in ["accountEnabled", "userType", "department"] {
        assert!(
            first.get(hidden).is_none(),
            "{hidden} not in the default set"
        );
    }
    assert_eq!(body["value"].as_array().map(Vec::len), Some(11));
    assert!(body.get("@odata.nextLink").is_none());

    let (_, body) = graph_get(
        &http,
        &token,
        &format!("{users}?$select=displayName,accountEnabled"),
    )
    .await;
    let first = body["value"][0].as_object().expect("object");
    let keys: HashSet<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(keys, HashSet::from(["id", "displayName", "accountEnabled"]));
    assert_eq!(first["accountEnabled"], false);

    let (_, body) = graph_get(
        &http,
        &token,
        &format!("{users}?$filter=userType eq 'Member' and accountEnabled eq true&$select=id"),
    )
    .await;
    assert_eq!(body["value"].as_array().map(Vec::len), Some(7));
    let (_, body) = graph_get(
        &http,
        &token,
        &format!("{users}?$filter=department eq 'Sales'"),
    )
    .await;
    assert_eq!(body["value"].as_array().map(Vec::len), Some(5));

    for (query, code) in [
        (
            "$filter=startswith(displayName,'G')",
            "Request_UnsupportedQuery",
        ),
        (
            "$filter=accountEnabled eq 'yes'",
            "Request_UnsupportedQuery",
        ),
        ("$filter=userType ne 'Guest'", "Request_UnsupportedQuery"),
        ("$top=1000", "Request_BadRequest"),
        ("$top=abc", "Request_BadRequest"),
        ("$select=nonsense", "Request_BadRequest"),
        ("$orderby=displayName", "Request_UnsupportedQuery"),
        ("$skiptoken=5", "Directory_ExpiredPageToken"),
    ] {
        let (status, body) = graph_get(&http, &token, &format!("{users}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"]["code"], code, "{query}");
    }
}

#[tokio::test]
async fn graph_advanced_queries_need_consistency_level_and_count() {
    let sim = start(graph_world(50), SimOptions::default()).await;
    let http = Client::new();
    let token = graph_token(&sim, &http, TENANT_A).await;
    let users = format!("{}/v1.0/users", env(&sim, "GRAPH_URL"));
    let eventual = [("ConsistencyLevel", "eventual")];

    // 25 in IT, 25 in Sales, the guest in none.
    for (filter, expected) in [
        ("department ne 'Sales'", 26),
        ("NOT(department eq 'Sales')", 26),
        ("endsWith(userPrincipalName,'%23EXT%23@a.example')", 1),
        ("department ne 'Sales' and userType eq 'Member'", 25),
        (
            "not(endsWith(mail,'0@a.example')) and userType Ne 'Guest'",
            45,
        ),
    ] {
        let url = format!("{users}?$filter={filter}&$select=id,department");
        for (what, url, headers) in [
            ("without header nor $count", url.clone(), &[][..]),
            ("without $count", url.clone(), &eventual[..]),
            ("without header", format!("{url}&$count=true"), &[][..]),
        ] {
            let (status, body) = graph_get_with(&http, &token, &url, headers).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{filter} {what}");
            assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
        }
        let (status, body) =
            graph_get_with(&http, &token, &format!("{url}&$count=true"), &eventual).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
        assert_eq!(body["@odata.count"], expected, "{filter}");
        assert_eq!(body["value"].as_array().map(Vec::len), Some(expected));
    }

    // Every page needs the header; the next links carry `$count=true`, the count is on
    // the first page only.
    let first = format!("{users}?$filter=department ne 'Sales'&$top=10&$count=true");
    let (_, body) = graph_get_with(&http, &token, &first, &eventual).await;
    let mut next = body["@odata.nextLink"].as_str().map(str::to_string);
    let mut seen = body["value"].as_array().map_or(0, Vec::len);
    let second = next.clone().expect("a second page");
    assert!(second.contains("$count=true"), "{second}");
    let (status, _) = graph_get(&http, &token, &second).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "page 2 without the header");
    while let Some(url) = next.take() {
        let (status, body) = graph_get_with(&http, &token, &url, &eventual).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("@odata.count").is_none(), "first page only");
        seen += body["value"].as_array().map_or(0, Vec::len);
        next = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 26);

    // A plain `eq` filter needs neither; a bad `$count` is a 400.
    let (status, body) = graph_get(
        &http,
        &token,
        &format!("{users}?$filter=department eq 'Sales'&$count=true"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["@odata.count"], 25);
    let (status, _) = graph_get(&http, &token, &format!("{users}?$count=maybe")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn graph_next_links_are_absolute_and_lead_to_the_end() {
    let sim = start(graph_world(50), SimOptions::default()).await;
    let http = Client::new();
    let token = graph_token(&sim, &http, TENANT_A).await;
    let mut url = format!(
        "{}/v1.0/users?$select=id,accountEnabled&$top=7",
        env(&sim, "GRAPH_URL")
    );
    let mut seen = HashSet::new();
    let mut pages = 0;
    loop {
        let (status, body) = graph_get(&http, &token, &url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        for user in body["value"].as_array().expect("value") {
            assert!(user.get("accountEnabled").is_some(), "$select is kept");
            seen.insert(user["id"].as_str().expect("id").to_string());
        }
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&sim.base_url()), "absolute: {next}");
                let token_part = next.split("$skiptoken=").nth(1).expect("skiptoken");
                assert!(token_part.parse::<u64>().is_err(), "opaque: {token_part}");
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 8);
    assert_eq!(seen.len(), 51);
    let graph_requests = sim
        .requests()
        .into_iter()
        .filter(|r| r.service == Service::Graph)
        .collect::<Vec<_>>();
    assert_eq!(graph_requests.len(), 8);
    assert!(
        graph_requests
            .iter()
            .all(|r| r.tenant.as_deref() == Some(TENANT_A))
    );
    assert!(graph_requests[1].query_param("$skiptoken").is_some());
}

#[tokio::test]
async fn graph_and_entra_errors() {
    let mut world = graph_world(3);
    world.tenant_mut(TENANT_A).expect("tenant").can_read_users = true;
    let no_read = "cccccccc-0000-4000-8000-000000000003";
    world.add_tenant(no_read, "No Read").can_read_users = false;
    let sim = start(world, SimOptions::default()).await;
    let http = Client::new();
    let users = format!("{}/v1.0/users", env(&sim, "GRAPH_URL"));
    let client_id = env(&sim, "ENTRA_CLIENT_ID");
    let secret = env(&sim, "ENTRA_CLIENT_SECRET");
    let scope = "https://graph.microsoft.com/.default";
    let base_form = |id: &str, secret: &str| {
        vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".to_string(), id.to_string()),
            ("client_secret".to_string(), secret.to_string()),
            ("scope".to_string(), scope.to_string()),
        ]
    };
    let request = |tenant: &str, form: Vec<(String, String)>| {
        let http = http.clone();
        let url = format!(
            "{}/{tenant}/oauth2/v2.0/token",
            env(&sim, "ENTRA_AUTHORITY_HOST")
        );
        async move {
            let response = http.post(url).form(&form).send().await.expect("post");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        }
    };

    let (status, body) = request(TENANT_B, base_form(&client_id, &secret)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(body["error_codes"][0], 700016);
    let (status, body) = request(
        "dddddddd-0000-4000-8000-000000000009",
        base_form(&client_id, &secret),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"][0], 90002);
    let (status, body) = request(TENANT_A, base_form("someone-else", &secret)).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("unauthorized_client"))
    );
    let (status, body) = request(TENANT_A, base_form(&client_id, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);

    // Workload identity: a client assertion instead of a secret.
    let federated = sim
        .world()
        .credentials
        .federated_token
        .expect("federated token");
    let assertion = |jwt: &str| {
        vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".to_string(), client_id.clone()),
            (
                "client_assertion_type".to_string(),
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion".to_string(), jwt.to_string()),
            ("scope".to_string(), scope.to_string()),
        ]
    };
    let (status, body) = request(TENANT_A, assertion(&federated)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token_a = body["access_token"].as_str().expect("token").to_string();
    let (status, body) = request(TENANT_A, assertion("other.jwt.value")).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );

    let (status, body) = graph_get(&http, &token_a, &users).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().map(Vec::len), Some(4));

    let token_no_read = graph_token(&sim, &http, no_read).await;
    let (status, body) = graph_get(&http, &token_no_read, &users).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");

    let (status, body) = graph_get(&http, "not-a-token", &users).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let halo_token = halo_token(&sim, &http).await;
    let (status, _) = graph_get(&http, &halo_token, &users).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a Halo token is no Graph token"
    );

    sim.expire_tokens(Service::Graph);
    let (status, body) = graph_get(&http, &token_a, &users).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("expired")
    );

    let token_a = graph_token(&sim, &http, TENANT_A).await;
    sim.inject(Fault::graph(
        "GET",
        "/users",
        FaultKind::TooManyRequests {
            retry_after: Some(3),
        },
    ));
    let response = http
        .get(&users)
        .bearer_auth(&token_a)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "3");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "TooManyRequests");

    sim.inject(Fault::graph("", "", FaultKind::RevokeTokens));
    let (status, _) = graph_get(&http, &token_a, &users).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token_requests = sim
        .requests()
        .into_iter()
        .filter(|r| r.service == Service::EntraAuth)
        .count();
    assert!(token_requests >= 8);
}

#[tokio::test]
async fn control_endpoints_and_shutdown() {
    let sim = start(halo_world(1), no_rate_limit()).await;
    let http = Client::new();
    let base = sim.base_url();
    let world: Value = http
        .get(format!("{base}/_sim/world"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(world["halo"]["clients"].as_array().map(Vec::len), Some(3));

    let fault = Fault::halo_auth(FaultKind::Html { status: 504 });
    let response = http
        .post(format!("{base}/_sim/faults"))
        .json(&fault)
        .send()
        .await
        .expect("post");
    assert!(response.status().is_success());
    let response = http
        .post(format!("{base}/_sim/faults"))
        .body("{\"target\":1}")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = http
        .post(format!("{base}/auth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);

    let requests: Value = http
        .get(format!("{base}/_sim/requests"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        requests.as_array().map(Vec::len),
        Some(1),
        "control requests are not logged"
    );
    assert_eq!(requests[0]["service"], "HaloAuth");
    assert_eq!(requests[0]["fault"], "Html");

    let response = http
        .delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .expect("delete");
    assert!(response.status().is_success());

    sim.shutdown();
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(sim.addr()).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the port is closed after shutdown");
}

/// Classifies the demo's Halo users of one client against its tenant.
#[derive(Debug, Default, PartialEq)]
struct Composition {
    members: usize,
    guests: usize,
    in_sync: usize,
    changed: usize,
    new: usize,
    email_only: usize,
    leavers: usize,
    deleted: usize,
    reactivation: usize,
    hand_made: usize,
    linked_active: usize,
}

fn composition(world: &World, client: &HaloClient) -> Composition {
    let tenant = world
        .tenant(&client.azure_tenants[0].azure_tenant_id)
        .expect("tenant");
    let halo: Vec<&HaloUser> = world
        .halo
        .users
        .iter()
        .filter(|u| u.client_id == client.id)
        .collect();
    let email = |u: &EntraUser| u.mail.clone().unwrap_or(u.user_principal_name.clone());
    let mut c = Composition::default();
    for entra in &tenant.users {
        if entra.user_type == "Guest" {
            c.guests += 1;
            assert!(entra.user_principal_name.contains("#EXT#"));
            assert!(
                !halo
                    .iter()
                    .any(|h| h.azureoid.as_deref() == Some(entra.id.as_str()))
            );
            continue;
        }
        c.members += 1;
        let linked = halo
            .iter()
            .find(|h| h.azureoid.as_deref() == Some(entra.id.as_str()));
        let by_mail = halo
            .iter()
            .find(|h| h.azureoid.is_none() && h.emailaddress.eq_ignore_ascii_case(&email(entra)));
        match (linked, by_mail) {
            (Some(h), _) => {
                let mut expected = HaloUser::from_entra(entra, client.id, client.main_site_id);
                expected.id = h.id;
                // Sites other than the main one and custom fields are no part of the default
                // mapping (see `demo_msp`).
                expected.site_id = h.site_id;
                expected.customfields = h.customfields.clone();
                if !entra.account_enabled && !h.inactive {
                    c.leavers += 1;
                } else if entra.account_enabled && h.inactive {
                    c.reactivation += 1;
                } else if **h == expected {
                    c.in_sync += 1;
                } else {
                    c.changed += 1;
                }
            }
            (None, Some(h)) => {
                assert_ne!(h.emailaddress, email(entra), "case differs");
                c.email_only += 1;
            }
            (None, None) => c.new += 1,
        }
    }
    let entra_ids: HashSet<&str> = tenant.users.iter().map(|u| u.id.as_str()).collect();
    let entra_mails: HashSet<String> = tenant
        .users
        .iter()
        .map(|u| email(u).to_lowercase())
        .collect();
    for h in &halo {
        match &h.azureoid {
            Some(oid) if !entra_ids.contains(oid.as_str()) => c.deleted += 1,
            Some(_) if !h.inactive => c.linked_active += 1,
            Some(_) => {}
            None if !entra_mails.contains(&h.emailaddress.to_lowercase()) => c.hand_made += 1,
            None => {}
        }
    }
    c
}

#[test]
fn demo_seed_composition() {
    let world = World::demo();
    assert_eq!(world, World::demo(), "deterministic");
    let active: Vec<&HaloClient> = world
        .halo
        .clients
        .iter()
        .filter(|c| !c.inactive && !c.azure_tenants.is_empty())
        .collect();
    assert_eq!(active.len(), 3);
    for client in active {
        let c = composition(&world, client);
        assert!((80..=150).contains(&c.members), "{}: {c:?}", client.name);
        assert!(c.guests >= 1);
        assert_eq!(
            (
                c.changed,
                c.new,
                c.email_only,
                c.leavers,
                c.deleted,
                c.reactivation,
                c.hand_made
            ),
            (5, 8, 3, 3, 2, 1, 2),
            "{}: {c:?}",
            client.name
        );
        assert_eq!(c.in_sync, c.members - 20);
        assert!(c.leavers * 10 < c.linked_active, "{c:?}");
        let tenant = world
            .tenant(&client.azure_tenants[0].azure_tenant_id)
            .expect("tenant");
        let upns: HashSet<String> = tenant
            .users
            .iter()
            .map(|u| u.user_principal_name.to_lowercase())
            .collect();
        assert_eq!(upns.len(), tenant.users.len(), "unique UPNs");
    }
    let no_tenant = world
        .halo
        .clients
        .iter()
        .find(|c| c.azure_tenants.is_empty())
        .expect("client without tenant");
    let hand_made = world
        .halo
        .users
        .iter()
        .filter(|u| u.client_id == no_tenant.id);
    assert!(hand_made.clone().count() >= 2);
    assert!(hand_made.into_iter().all(|u| u.azureoid.is_none()));
    let inactive = world
        .halo
        .clients
        .iter()
        .find(|c| c.inactive)
        .expect("inactive client");
    let tenant = world
        .tenant(&inactive.azure_tenants[0].azure_tenant_id)
        .expect("its tenant");
    assert!(!tenant.users.is_empty());
    assert_eq!(world.entra.tenants.len(), 4);
    assert!(world.halo.asset_types.len() >= 3);
}

#[test]
fn synthetic_seed_mirrors_the_field_mapping() {
    let world = World::synthetic(3, 40, 4, 6);
    assert_eq!(world.entra.tenants.len(), 3);
    assert_eq!(world.halo.clients.len(), 3);
    for client in &world.halo.clients {
        let tenant = world
            .tenant(&client.azure_tenants[0].azure_tenant_id)
            .expect("tenant");
        assert_eq!(tenant.users.len(), 40);
        let mut equal = 0;
        let mut differ = 0;
        let mut missing = 0;
        for entra in &tenant.users {
            match world
                .halo
                .users
                .iter()
                .find(|h| h.azureoid.as_deref() == Some(entra.id.as_str()))
            {
                Some(h) => {
                    let mut expected = HaloUser::from_entra(entra, client.id, client.main_site_id);
                    expected.id = h.id;
                    if *h == expected {
                        equal += 1;
                    } else {
                        differ += 1;
                    }
                }
                None => missing += 1,
            }
        }
        assert_eq!((equal, differ, missing), (30, 4, 6));
    }
    assert_eq!(
        World::synthetic(1, 5, 10, 10).halo.users.len(),
        0,
        "clamped"
    );
}

#[test]
fn serves_from_its_own_thread_for_blocking_callers() {
    use std::io::{Read, Write};
    let sim = Simulator::start_on_thread(loopback(), World::empty(), SimOptions::default())
        .expect("simulator starts");
    let mut stream = std::net::TcpStream::connect(sim.addr()).expect("connect");
    stream
        .write_all(b"GET /api/authinfo HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("x-request-id"), "{response}");
    assert_eq!(sim.requests().len(), 1);
    sim.shutdown();
}

/// Client Alpha (tenant A) with one user and two assets: one with a serial and a warranty
/// field, one inactive; tenant A has 5 managed devices.
fn asset_world() -> (World, i64, i64, i64) {
    let mut world = halo_world(1);
    let client = world.halo.clients[0].id;
    let site = world.halo.clients[0].main_site_id;
    let user = world.halo.users[0].id;
    let workstation = world.asset_type_id("Workstation").expect("type");
    let devices: Vec<ManagedDevice> = (0..5)
        .map(|i| {
            ManagedDevice::laptop(
                &format!("dev-{i}"),
                &format!("PC-{i}"),
                &format!("SN{i}"),
                Some("user0@alpha.example"),
            )
        })
        .collect();
    let mut asset = HaloAsset::from_device(&devices[0], client, site, workstation);
    asset.fields.push(HaloAssetFieldValue {
        id: ASSET_FIELD_WARRANTY,
        value: "2028-01-01".into(),
    });
    world.add_halo_asset(asset);
    let mut old = HaloAsset::from_device(&devices[1], client, site, workstation);
    old.inactive = true;
    world.add_halo_asset(old);
    world.tenant_mut(TENANT_A).expect("tenant").devices = devices;
    (world, client, site, user)
}

#[tokio::test]
async fn halo_assets_hide_fields_and_inactive_records_unless_asked() {
    let (world, client, _, _) = asset_world();
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let path = format!("/api/Asset?client_id={client}&pageinate=true&page_size=10&page_no=1");
    let (status, body) = halo_get(&sim, &http, &token, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["record_count"], 1, "inactive hidden");
    assert!(body["assets"][0].get("fields").is_none(), "{body}");
    let (_, body) = halo_get(
        &sim,
        &http,
        &token,
        &format!("{path}&includeinactive=true&includeassetfields=true"),
    )
    .await;
    assert_eq!(body["record_count"], 2);
    let fields = body["assets"][0]["fields"].as_array().expect("fields");
    assert!(fields.iter().any(|f| f["id"] == ASSET_FIELD_WARRANTY));
    assert_eq!(body["assets"][0]["intune_id"], "dev-0");
    assert!(
        body["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .all(|a| a.get("users").is_none() && a.get("user_id").is_none()),
        "Device_List carries no people: {body}"
    );
    let id = body["assets"][0]["id"].as_i64().expect("id");
    let (_, full) = halo_get(&sim, &http, &token, &format!("/api/Asset/{id}")).await;
    assert!(
        full["users"].is_array(),
        "the full Device model has them: {full}"
    );
}

#[tokio::test]
async fn halo_asset_writes_replace_fields_wholesale_and_validate() {
    let (world, client, site, user) = asset_world();
    let asset = world.halo.assets[0].id;
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    // An update with `fields` replaces the array: the warranty value is gone.
    // `users` replaces the people; `user_id` is no Device property and is ignored; the
    // read-only key_field is echoed but not stored.
    let update = json!([{"id": asset, "user_id": 424_242, "users": [{"id": user}], "key_field": "TAG-1",
        "fields": [{"id": ASSET_FIELD_OS, "value": "Linux"}]}]);
    let response = halo_post(&sim, &http, &token, "/api/Asset", &update)
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved["id"], json!(asset as f64), "one object, float id");
    assert_eq!(saved["key_field"], "TAG-1", "echoed");
    let stored = sim.world().halo_asset(asset).cloned().expect("asset");
    assert_eq!(stored.users, vec![user]);
    let (_, read) = halo_get(&sim, &http, &token, &format!("/api/Asset/{asset}")).await;
    assert!(read.get("key_field").is_none(), "not stored: {read}");
    assert_eq!(
        stored.fields,
        vec![HaloAssetFieldValue {
            id: ASSET_FIELD_OS,
            value: "Linux".into()
        }]
    );
    // An update without `fields` keeps them.
    let response = halo_post(
        &sim,
        &http,
        &token,
        "/api/Asset",
        &json!([{"id": asset, "inactive": true}]),
    )
    .await
    .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        sim.world().halo_asset(asset).expect("asset").fields.len(),
        1
    );

    // Creates as an object, and one bad item rejects the whole batch.
    let good = json!({"inventory_number": "NEW", "assettype_id": 1, "client_id": client, "site_id": site, "intune_id": "dev-9"});
    let response = halo_post(&sim, &http, &token, "/api/Asset", &good)
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let before = sim.world().halo.assets.len();
    for bad in [
        json!({"inventory_number": "X", "client_id": client, "site_id": site}),
        json!({"inventory_number": "X", "assettype_id": 1, "client_id": client, "site_id": site, "fields": [{"id": 4242, "value": "x"}]}),
        json!({"inventory_number": "X", "assettype_id": 1, "client_id": client, "site_id": site, "users": [{"id": 999_999}]}),
    ] {
        let response = halo_post(
            &sim,
            &http,
            &token,
            "/api/Asset",
            &json!([good.clone(), bad]),
        )
        .await
        .expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.expect("text").starts_with("Item 1:"));
    }
    assert_eq!(sim.world().halo.assets.len(), before, "nothing committed");
}

#[tokio::test]
async fn graph_managed_devices_page_select_and_need_their_permission() {
    let (mut world, _, _, _) = asset_world();
    world.tenant_mut(TENANT_B).expect("tenant").can_read_devices = false;
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = graph_token(&sim, &http, TENANT_A).await;
    let graph = env(&sim, "GRAPH_URL");
    let mut url = Some(format!(
        "{graph}/v1.0/deviceManagement/managedDevices?$select=id,serialNumber&$top=2"
    ));
    let mut seen = Vec::new();
    while let Some(next) = url.take() {
        let (status, body) = graph_get(&http, &token, &next).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for d in body["value"].as_array().expect("value") {
            assert!(d.get("deviceName").is_none(), "only what was selected");
            seen.push(d["serialNumber"].as_str().expect("serial").to_string());
        }
        url = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, ["SN0", "SN1", "SN2", "SN3", "SN4"]);

    let token_b = graph_token(&sim, &http, TENANT_B).await;
    let (status, body) = graph_get(
        &http,
        &token_b,
        &format!("{graph}/v1.0/deviceManagement/managedDevices"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
}

#[tokio::test]
async fn graph_managed_devices_of_a_tenant_without_intune_licence_are_not_applicable() {
    let (mut world, _, _, _) = asset_world();
    world.tenant_mut(TENANT_A).expect("tenant").intune_licensed = false;
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = graph_token(&sim, &http, TENANT_A).await;
    let graph = env(&sim, "GRAPH_URL");
    let (status, body) = graph_get(
        &http,
        &token,
        &format!("{graph}/v1.0/deviceManagement/managedDevices?$select=id&$top=999"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(
        body["error"]["message"],
        "Request not applicable to target tenant."
    );
    assert!(body["error"]["innerError"]["date"].is_string(), "{body}");
    // Users are not an Intune route: still readable.
    let (status, _) = graph_get(&http, &token, &format!("{graph}/v1.0/users")).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn device_seeds_mirror_the_field_mapping() {
    let world = World::synthetic_devices(2, 30, 3, 4);
    for client in &world.halo.clients {
        let tenant = world
            .tenant(&client.azure_tenants[0].azure_tenant_id)
            .expect("tenant");
        assert_eq!(tenant.devices.len(), 30);
        let assets: Vec<&HaloAsset> = world
            .halo
            .assets
            .iter()
            .filter(|a| a.client_id == client.id)
            .collect();
        assert_eq!(assets.len(), 26);
        let differ = assets
            .iter()
            .filter(|a| {
                let d = tenant
                    .devices
                    .iter()
                    .find(|d| Some(&d.id) == a.intune_id.as_ref())
                    .expect("device");
                a.field(ASSET_FIELD_OS) != Some(d.os().as_str())
            })
            .count();
        assert_eq!(differ, 3);
        assert!(assets.iter().all(|a| !a.users.is_empty()), "users linked");
    }
    let demo = World::demo();
    for client in demo
        .halo
        .clients
        .iter()
        .filter(|c| !c.inactive && !c.azure_tenants.is_empty())
    {
        let tenant = demo
            .tenant(&client.azure_tenants[0].azure_tenant_id)
            .expect("tenant");
        let linked = demo
            .halo
            .assets
            .iter()
            .filter(|a| a.client_id == client.id && a.intune_id.is_some())
            .count();
        let gone = demo
            .halo
            .assets
            .iter()
            .filter(|a| a.client_id == client.id)
            .filter(|a| {
                a.intune_id
                    .as_ref()
                    .is_some_and(|id| !tenant.devices.iter().any(|d| &d.id == id))
            })
            .count();
        assert_eq!(
            (tenant.devices.len(), linked, gone),
            (28, 24, 1),
            "{}",
            client.name
        );
        assert!((gone as f64) < linked as f64 * 0.1);
    }
}

/// `SELECT` of every user's link, as a public production contact sync reads it.
const REPORT_USERS_SQL: &str = "SELECT UAzureOID AS azureoid, uemail, usite AS site_id, uusername, uid AS id, uextn, umobile, uinactive AS inactive, aarea AS client_id FROM USERS LEFT JOIN SITE ON usite = ssitenum LEFT JOIN AREA ON sarea = aarea";

async fn halo_report(sim: &Simulator, http: &Client, token: &str, body: &Value) -> Value {
    let response = halo_post(sim, http, token, "/api/Report", body)
        .await
        .expect("report request");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("report json")
}

#[tokio::test]
async fn halo_ad_hoc_reports_run_sql_and_answer_failures_with_load_error() {
    let world = halo_world(2);
    let sim = start(world.clone(), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    let one = json!([{"id": 0, "sql": REPORT_USERS_SQL, "_loadreportonly": true}]);
    let answer = halo_report(&sim, &http, &token, &one).await;
    assert_eq!(answer["report"]["loaded"], true, "{answer}");
    let rows = answer["report"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 5, "every user, inactive ones too");
    let first = world.halo.users[0].clone();
    let row = rows
        .iter()
        .find(|r| r["id"] == json!(first.id))
        .expect("first user");
    assert_eq!(
        row,
        &json!({"azureoid": first.azureoid, "uemail": first.emailaddress,
                "site_id": first.site_id, "uusername": first.name, "id": first.id,
                "uextn": first.phonenumber, "umobile": first.mobilenumber, "inactive": 0,
                "client_id": first.client_id})
    );

    // Two items answer an array; a failing statement is a 200 with load_error, and a write
    // changes nothing.
    let two = json!([
        {"id": 0, "sql": "DELETE FROM USERS", "_loadreportonly": true},
        {"id": 0, "sql": "SELECT count(*) AS n FROM AREA;", "_loadreportonly": true},
    ]);
    let answer = halo_report(&sim, &http, &token, &two).await;
    let answers = answer.as_array().expect("array for two items");
    for answer in answers {
        assert_eq!(answer["report"]["loaded"], false, "{answer}");
        assert!(answer["report"]["load_error"].is_string(), "{answer}");
    }
    assert_eq!(
        sim.world(),
        world,
        "ad hoc reports save nothing and change nothing"
    );
}

#[tokio::test]
async fn halo_saved_reports_load_only_when_asked() {
    let sim = start(halo_world(1), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let sql = "SELECT aarea AS id, aareadesc AS name, ssitenum AS main_site_id FROM AREA LEFT JOIN SITE ON aarea = sarea WHERE SIsInvoiceSite = 1";
    let create = json!([{"name": "Clients", "sql": sql, "type": 0, "datasource_id": 0}]);
    let saved = halo_report(&sim, &http, &token, &create).await;
    assert!(
        saved.get("report").is_none(),
        "saving does not run: {saved}"
    );
    assert_eq!(saved["name"], "Clients");
    let id = saved["id"].as_f64().expect("id") as i64;
    assert_eq!(sim.world().halo.reports.len(), 1);

    let (status, loaded) = halo_get(
        &sim,
        &http,
        &token,
        &format!("/api/report/{id}?LoadReport=TRUE&unknown=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(loaded["id"], json!(id));
    assert_eq!(loaded["report"]["loaded"], true, "{loaded}");
    let clients = sim.world().halo.clients;
    let rows = loaded["report"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), clients.len());
    for client in &clients {
        assert!(rows.contains(
            &json!({"id": client.id, "name": client.name, "main_site_id": client.main_site_id})
        ));
    }

    let (status, record) = halo_get(&sim, &http, &token, &format!("/api/Report/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (record["name"].clone(), record.get("report")),
        (json!("Clients"), None)
    );
    let (status, _) = halo_get(&sim, &http, &token, "/api/Report/999999?loadreport=true").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let response = halo_post(
        &sim,
        &http,
        &token,
        "/api/Report",
        &json!([{"name": "No SQL"}]),
    )
    .await
    .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = http
        .delete(format!("{}/api/Report/{id}", sim.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(sim.world().halo.reports.len(), 1);
}

#[tokio::test]
async fn halo_reports_need_the_reporting_permission() {
    let mut world = halo_world(1);
    world.halo.reports.push(HaloReport {
        id: 4242,
        name: "Users".to_string(),
        sql: REPORT_USERS_SQL.to_string(),
    });
    world.credentials.halo_reporting = false;
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;
    let body = json!([{"id": 0, "sql": REPORT_USERS_SQL, "_loadreportonly": true}]);
    let response = halo_post(&sim, &http, &token, "/api/Report", &body)
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("edit:reporting")
    );
    let (status, _) = halo_get(&sim, &http, &token, "/api/Report/4242?loadreport=true").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    sim.update_world(|w| w.credentials.halo_reporting = true);
    let (status, loaded) = halo_get(&sim, &http, &token, "/api/Report/4242?loadreport=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(loaded["report"]["rows"].as_array().map(Vec::len), Some(4));
}

/// The user custom field values of user `id` as stored.
fn stored_user_cf(sim: &Simulator, id: i64) -> Vec<HaloCustomFieldValue> {
    sim.world()
        .halo_user(id)
        .expect("user")
        .customfields
        .clone()
}

#[tokio::test]
async fn halo_user_custom_fields_are_listed_read_and_replaced_wholesale() {
    let mut world = halo_world(2);
    let (with, without) = (world.halo.users[0].id, world.halo.users[1].id);
    world.halo.users[0].customfields = vec![
        HaloCustomFieldValue {
            id: USER_CF_DEPARTMENT,
            value: "Finance".into(),
        },
        HaloCustomFieldValue {
            id: USER_CF_OFFICE,
            value: "Leeds".into(),
        },
    ];
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    // The list model (`Users_List`) carries the fields with a value, with id/name/label.
    let (_, list) = halo_get(&sim, &http, &token, "/api/Users?pageinate=true").await;
    let listed = |id: i64| {
        list["users"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["id"] == id)
            .expect("listed")["customfields"]
            .clone()
    };
    assert_eq!(
        listed(with),
        json!([
            {"id": USER_CF_DEPARTMENT, "name": "CFDepartment", "label": "Department", "value": "Finance"},
            {"id": USER_CF_OFFICE, "name": "CFOffice", "label": "Office", "value": "Leeds"},
        ])
    );
    assert_eq!(listed(without), json!([]), "none with a value");
    // The full model lists every defined field, `value` omitted where there is none.
    let (_, full) = halo_get(&sim, &http, &token, &format!("/api/Users/{without}")).await;
    let fields = full["customfields"].as_array().expect("customfields");
    assert_eq!(fields.len(), 3, "{full}");
    assert_eq!(
        fields[0],
        json!({"id": USER_CF_DEPARTMENT, "name": "CFDepartment", "label": "Department"})
    );

    // A write replaces the values wholesale: the office, not sent, is cleared. Items name
    // their field by id or (without an id) by name, case-insensitively.
    let update = json!([{"id": with, "customfields": [
        {"id": USER_CF_DEPARTMENT, "value": "IT"},
        {"name": "cfemployeeid", "value": 4711},
    ]}]);
    let response = halo_post(&sim, &http, &token, "/api/Users", &update)
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved["customfields"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        stored_user_cf(&sim, with),
        vec![
            HaloCustomFieldValue {
                id: USER_CF_DEPARTMENT,
                value: "IT".into()
            },
            HaloCustomFieldValue {
                id: USER_CF_EMPLOYEE_ID,
                value: "4711".into()
            },
        ]
    );
    // An update without `customfields` keeps them; an empty value or `null` clears.
    let keep = json!([{"id": with, "title": "Boss"}]);
    let response = halo_post(&sim, &http, &token, "/api/Users", &keep)
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(stored_user_cf(&sim, with).len(), 2);
    let clear = json!([{"id": with, "customfields": [{"id": USER_CF_DEPARTMENT, "value": ""}]}]);
    let response = halo_post(&sim, &http, &token, "/api/Users", &clear)
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(stored_user_cf(&sim, with).is_empty());

    // An unknown id or name, a value of the wrong type: 400 naming it, nothing stored.
    let before = stored_user_cf(&sim, without);
    for (bad, named) in [
        (
            json!([{"id": 999_999}]),
            "custom field id 999999 does not exist",
        ),
        (
            json!([{"name": "CFNope", "value": "x"}]),
            "custom field name 'CFNope' does not exist",
        ),
        (json!([{"value": "x"}]), "id (or name) is required"),
        (
            json!([{"id": USER_CF_DEPARTMENT, "value": true}]),
            "value true of custom field 142 is not a string",
        ),
        (
            json!([{"id": USER_CF_DEPARTMENT, "value": {"id": 1}}]),
            "is not a string",
        ),
        (json!({"id": USER_CF_DEPARTMENT}), "is not an array"),
    ] {
        let body = json!([{"id": without, "customfields": [{"id": USER_CF_OFFICE, "value": "x"}]},
            {"id": without, "customfields": bad}]);
        let response = halo_post(&sim, &http, &token, "/api/Users", &body)
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let text = response.text().await.expect("text");
        assert!(
            text.starts_with("Item 1: customfields") && text.contains(named),
            "{bad}: {text}"
        );
    }
    assert_eq!(stored_user_cf(&sim, without), before, "nothing committed");
}

#[tokio::test]
async fn halo_asset_custom_fields_and_status_round_trip() {
    let (mut world, client, site, _) = asset_world();
    let asset = world.halo.assets[0].id;
    world.halo.assets[0].customfields = vec![HaloCustomFieldValue {
        id: ASSET_CF_IMEI,
        value: "350000000000001".into(),
    }];
    let sim = start(world, no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    // `Device_List` carries status and the custom fields with a value (no query needed);
    // user custom fields are a set apart.
    let (_, list) = halo_get(
        &sim,
        &http,
        &token,
        &format!("/api/Asset?client_id={client}"),
    )
    .await;
    let listed = &list["assets"][0];
    assert_eq!(listed["status_id"], ASSET_STATUS_ACTIVE);
    assert_eq!(listed["status_name"], "Active");
    assert_eq!(
        listed["customfields"],
        json!([{"id": ASSET_CF_IMEI, "name": "CFIMEI", "label": "IMEI", "value": "350000000000001"}])
    );
    let (_, full) = halo_get(&sim, &http, &token, &format!("/api/Asset/{asset}")).await;
    assert_eq!(full["customfields"].as_array().map(Vec::len), Some(2));

    // A status and custom fields written; the IMEI, not sent, is cleared.
    let update = json!([{"id": asset, "status_id": ASSET_STATUS_IN_REPAIR,
        "customfields": [{"id": ASSET_CF_PHONE_NUMBER, "value": "+1 206 555 0100"}]}]);
    let response = halo_post(&sim, &http, &token, "/api/Asset", &update)
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved["status_id"], json!(ASSET_STATUS_IN_REPAIR as f64));
    assert_eq!(saved["status_name"], "In Repair");
    let stored = sim.world().halo_asset(asset).cloned().expect("asset");
    assert_eq!(stored.status_id, ASSET_STATUS_IN_REPAIR);
    assert_eq!(
        stored.customfields,
        vec![HaloCustomFieldValue {
            id: ASSET_CF_PHONE_NUMBER,
            value: "+1 206 555 0100".into()
        }]
    );
    let (_, read) = halo_get(&sim, &http, &token, &format!("/api/Asset/{asset}")).await;
    assert_eq!(read["status_id"], ASSET_STATUS_IN_REPAIR);

    // A new asset without `status_id` is Active.
    let create =
        json!({"inventory_number": "NEW", "assettype_id": 1, "client_id": client, "site_id": site});
    let response = halo_post(&sim, &http, &token, "/api/Asset", &create)
        .await
        .expect("post");
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved["status_id"], json!(ASSET_STATUS_ACTIVE as f64));

    // Unknown status, a user custom field id on an asset: 400 naming it.
    for (bad, named) in [
        (
            json!({"id": asset, "status_id": 3}),
            "status_id 3 does not exist",
        ),
        (
            json!({"id": asset, "customfields": [{"id": USER_CF_DEPARTMENT, "value": "x"}]}),
            "custom field id 142 does not exist",
        ),
    ] {
        let response = halo_post(&sim, &http, &token, "/api/Asset", &bad)
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let text = response.text().await.expect("text");
        assert!(text.contains(named), "{bad}: {text}");
    }
    assert_eq!(
        sim.world().halo_asset(asset).expect("asset").status_id,
        ASSET_STATUS_IN_REPAIR
    );
}

#[tokio::test]
async fn halo_sites_filter_by_client_hide_inactive_and_take_nobody() {
    let mut world = halo_world(1);
    let alpha = world.halo.clients[0].id;
    let main = world.halo.clients[0].main_site_id;
    let user = world.halo.users[0].id;
    let closed = world.next_halo_id();
    world.halo.sites.push(HaloSite {
        id: closed,
        name: "Closed Office".into(),
        client_id: alpha,
        inactive: true,
    });
    let sim = start(world.clone(), no_rate_limit()).await;
    let http = Client::new();
    let token = halo_token(&sim, &http).await;

    let ids = |body: &Value| -> Vec<i64> {
        body["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .filter_map(|s| s["id"].as_i64())
            .collect()
    };
    let (status, body) =
        halo_get(&sim, &http, &token, &format!("/api/Site?client_id={alpha}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), vec![main], "inactive hidden: {body}");
    assert_eq!(body["sites"][0]["client_id"], alpha);
    assert_eq!(body["sites"][0]["name"], "Main");
    assert_eq!(body["sites"][0]["inactive"], false);
    let (_, body) = halo_get(
        &sim,
        &http,
        &token,
        &format!("/api/Site?client_id={alpha}&includeinactive=true"),
    )
    .await;
    assert_eq!(ids(&body), vec![main, closed]);
    assert_eq!(body["sites"][1]["inactive"], true);
    let (_, all) = halo_get(&sim, &http, &token, "/api/Site?includeinactive=true").await;
    assert_eq!(all["record_count"], world.halo.sites.len());
    let (_, found) = halo_get(
        &sim,
        &http,
        &token,
        "/api/Site?search=closed&includeinactive=true",
    )
    .await;
    assert_eq!(ids(&found), vec![closed]);
    let (_, one) = halo_get(&sim, &http, &token, &format!("/api/Site/{closed}")).await;
    assert_eq!(one["inactive"], true);

    // Nobody is placed on an inactive site; the existing "belongs to client" check stays.
    for (path, bad, named) in [
        (
            "/api/Users",
            json!({"id": user, "site_id": closed}),
            format!("site_id {closed} is inactive"),
        ),
        (
            "/api/Users",
            json!({"name": "New", "client_id": alpha, "site_id": closed}),
            format!("site_id {closed} is inactive"),
        ),
        (
            "/api/Asset",
            json!({"inventory_number": "X", "assettype_id": 1, "client_id": alpha, "site_id": closed}),
            format!("site_id {closed} is inactive"),
        ),
        (
            "/api/Users",
            json!({"name": "Elsewhere", "client_id": alpha, "site_id": 424_242}),
            format!("site_id 424242 does not belong to client {alpha}"),
        ),
    ] {
        let response = halo_post(&sim, &http, &token, path, &bad)
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let text = response.text().await.expect("text");
        assert!(text.contains(&named), "{bad}: {text}");
    }
    assert_eq!(sim.world().halo_user(user).expect("user").site_id, main);
}

#[test]
fn demo_msp_seed_sites_profiles_phones_and_custom_fields() {
    let world = World::demo();
    let contoso = world
        .halo
        .clients
        .iter()
        .find(|c| c.name == "Contoso Ltd")
        .expect("Contoso");
    let sites: Vec<(&str, bool)> = world
        .halo
        .sites
        .iter()
        .filter(|s| s.client_id == contoso.id)
        .map(|s| (s.name.as_str(), s.inactive))
        .collect();
    assert_eq!(
        sites,
        vec![
            ("Main", false),
            ("Leeds Office", false),
            (DEMO_INACTIVE_SITE, true)
        ]
    );
    let leeds = world
        .halo
        .sites
        .iter()
        .find(|s| s.name == "Leeds Office")
        .expect("Leeds")
        .id;
    let tenant = world
        .tenant(&contoso.azure_tenants[0].azure_tenant_id)
        .expect("tenant");
    let members: Vec<&EntraUser> = tenant
        .users
        .iter()
        .filter(|u| u.user_type == "Member")
        .collect();
    let at_leeds: Vec<&&EntraUser> = members
        .iter()
        .filter(|u| u.office_location.as_deref() == Some("Leeds"))
        .collect();
    assert!(at_leeds.len() > 20 && at_leeds.len() < members.len() / 2);
    assert!(
        members
            .iter()
            .all(|u| u.company_name.as_deref() == Some("Contoso Ltd"))
    );
    assert_eq!(members[0].employee_id.as_deref(), Some("CON-0001"));
    // Halo users of Leeds members are at Leeds but for two (a site rule moves them).
    let halo_of = |u: &EntraUser| {
        world
            .halo
            .users
            .iter()
            .find(|h| h.azureoid.as_deref() == Some(u.id.as_str()))
    };
    let on_main = at_leeds
        .iter()
        .filter_map(|u| halo_of(u))
        .filter(|h| h.site_id == contoso.main_site_id && !h.inactive)
        .count();
    assert_eq!(on_main, 2);
    assert!(
        at_leeds
            .iter()
            .filter_map(|u| halo_of(u))
            .filter(|h| h.site_id == leeds)
            .count()
            > 10
    );
    // CFDepartment mirrors the Entra department, except two stale values.
    let stale = members
        .iter()
        .filter_map(|u| Some((u, halo_of(u)?)))
        .filter(|(u, h)| {
            let value = h
                .customfields
                .iter()
                .find(|v| v.id == USER_CF_DEPARTMENT)
                .map(|v| v.value.as_str());
            value != u.department.as_deref()
        })
        .count();
    assert_eq!(stale, 2);
    // Phones: iOS and Android devices, their Halo assets Mobile Phones with custom fields.
    let phones: Vec<&ManagedDevice> = tenant
        .devices
        .iter()
        .filter(|d| d.operating_system == "iOS" || d.operating_system == "Android")
        .collect();
    assert_eq!(phones.len(), 9);
    assert!(
        phones
            .iter()
            .all(|d| d.imei.is_some() && d.phone_number.is_some())
    );
    let mobile = world.asset_type_id("Mobile Phone").expect("type");
    let phone_assets: Vec<&HaloAsset> = world
        .halo
        .assets
        .iter()
        .filter(|a| a.client_id == contoso.id && a.assettype_id == mobile)
        .collect();
    assert_eq!(phone_assets.len(), 7, "two phones are new");
    assert!(phone_assets.iter().all(|a| a.customfields.len() == 2));
    assert!(
        world
            .halo
            .assets
            .iter()
            .any(|a| a.client_id == contoso.id && a.status_id == ASSET_STATUS_IN_REPAIR)
    );
}
