//! The simulated HaloPSA: the OAuth token endpoint (`POST /auth/token`) and the REST API
//! (`/api/...`: Users, Client, Site, Asset, AssetType, Report, Tickets, Actions, authinfo;
//! SQL reports run in [`super::report`], tickets in [`super::tickets`]).
//!
//! It conforms to Halo's published OpenAPI contract (`tests/fixtures/halo-openapi-subset.json`,
//! which a test holds every response against), including its awkward parts: lists answer with
//! the `*_List` models (`Users_List` without `azureoid`, `Device_List` without `users`), a
//! single GET and write answers with the full model; properties whose value is null are
//! omitted; paths and query parameter names are case-insensitive and unknown parameters and
//! body properties are ignored silently; `page_size` is silently capped while the envelope
//! echoes the requested size; unpaged lists are silently truncated to 50 records; inactive
//! records are hidden unless `includeinactive=true`; a client list carries `azure_tenants`
//! only with `includeazuretenants=true` (`includedetails` works on `GET /api/Client/{id}`
//! only); `search` does not look at `azureoid`; an asset's `fields` appear in lists only with
//! `includeassetfields=true` (and not even then for an asset without field values), and
//! `fields`/`users`/`customfields` sent in an update replace the stored array
//! wholesale (custom fields and asset statuses: [`super::custom_fields`]); inactive sites are
//! hidden from site lists without `includeinactive=true` and take no users or assets;
//! `key_field` is a read-only projection of the field the asset type marks as key
//! (a value sent is echoed, not stored); writes answer with float ids, an object for one item
//! and an array otherwise; a batch with one invalid item is rejected as a whole with a
//! plain-text 400; `/api/Report` answers a plain-text 403 when the agent lacks reporting
//! permission, and a report whose SQL fails is still a 200.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::custom_fields::{customfields_json, default_asset_status, parse_customfields};
use super::world::{
    AzureTenant, HaloAsset, HaloAssetFieldValue, HaloAssetType, HaloClient, HaloSite, HaloUser,
    HaloWorld, World,
};
use super::{
    Ctx, IssuedToken, Issuer, ResponseProperties, State, TokenError, json_response, report, tickets,
};

/// Records returned by a list request without `pageinate=true`.
const UNPAGED_LIMIT: usize = 50;
/// `page_size` when paging without one.
const DEFAULT_PAGE_SIZE: usize = 50;

/// A plain-text error answer, Halo style.
#[derive(Debug)]
pub(super) struct Reject {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        text(self.status, self.message)
    }
}

pub(super) type Reply = Result<Response, Reject>;

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

pub(super) fn reject(status: StatusCode, message: impl Into<String>) -> Reject {
    Reject {
        status,
        message: message.into(),
    }
}

fn bad_request(message: impl Into<String>) -> Reject {
    reject(StatusCode::BAD_REQUEST, message)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// `POST /auth/token[?tenant=…]`
pub(crate) fn token(ctx: &Ctx<'_>, st: &mut State) -> Response {
    if !ctx.path.eq_ignore_ascii_case("/auth/token") {
        return text(StatusCode::NOT_FOUND, "Not Found");
    }
    if ctx.method != Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let creds = &st.world.credentials;
    if let Some(expected) = &creds.halo_tenant {
        match ctx.param("tenant") {
            Some(tenant) if tenant.eq_ignore_ascii_case(expected) => {}
            Some(tenant) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    &format!("Unknown tenant '{tenant}'"),
                );
            }
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The tenant parameter is required for this instance",
                );
            }
        }
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(ctx.body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The grant type is not supported",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The grant_type parameter is missing",
            );
        }
    }
    if field("client_id") != Some(creds.halo_client_id.as_str())
        || field("client_secret") != Some(creds.halo_client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client credentials are invalid",
        );
    }
    if field("scope").is_some_and(|scope| !scope.split(' ').all(|s| s == "all" || s.is_empty())) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is invalid",
        );
    }
    let token = st.random_hex(32);
    st.issue_token(
        token.clone(),
        IssuedToken {
            issuer: Issuer::Halo,
            tenant: None,
            expires: ctx.now + ctx.opts.halo_token_ttl,
            revoked: false,
        },
    );
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ctx.opts.halo_token_ttl.as_secs(),
            "scope": "all",
        }),
    )
}

/// `/api/...`
pub(crate) fn api(ctx: &Ctx<'_>, st: &mut State) -> Response {
    api_inner(ctx, st).unwrap_or_else(IntoResponse::into_response)
}

fn api_inner(ctx: &Ctx<'_>, st: &mut State) -> Reply {
    let rest = ctx.path.get(4..).unwrap_or("");
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if segments == ["authinfo"] && ctx.method == Method::GET {
        return Ok(authinfo(ctx, st));
    }
    if let Err(error) = st.check_bearer(ctx.headers, Issuer::Halo, ctx.now) {
        let description = match error {
            TokenError::Missing => "",
            TokenError::Invalid => ", error=\"invalid_token\"",
            TokenError::Expired => {
                ", error=\"invalid_token\", error_description=\"The token is expired\""
            }
        };
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, format!("Bearer{description}"))],
        )
            .into_response());
    }
    let get = ctx.method == Method::GET;
    let post = ctx.method == Method::POST;
    match segments.as_slice() {
        ["users"] if get => list_users(ctx, &st.world),
        ["users"] if post => write_users(ctx, &mut st.world),
        ["users", id] if get => {
            let id = parse_id(id)?;
            let user = st.world.halo_user(id).ok_or_else(|| not_found(id))?;
            Ok(ok_json(user_json(&st.world, user, Model::Full, false)))
        }
        ["client"] if get => list_clients(ctx, &st.world),
        ["client"] if post => write_clients(ctx, &mut st.world),
        ["client", id] if get => {
            let id = parse_id(id)?;
            let client = st.world.client(id).ok_or_else(|| not_found(id))?;
            Ok(ok_json(client_json(
                client,
                flag(ctx, "includedetails"),
                false,
            )))
        }
        ["site"] if get => list_sites(ctx, &st.world),
        ["site", id] if get => {
            let id = parse_id(id)?;
            let site = st
                .world
                .halo
                .sites
                .iter()
                .find(|s| s.id == id)
                .ok_or_else(|| not_found(id))?;
            Ok(ok_json(site_json(&st.world, site)))
        }
        ["asset"] if get => list_assets(ctx, &st.world),
        ["asset"] if post => write_assets(ctx, &mut st.world),
        ["asset", id] if get => {
            let id = parse_id(id)?;
            let asset = st.world.halo_asset(id).ok_or_else(|| not_found(id))?;
            Ok(ok_json(asset_json(
                &st.world,
                asset,
                Model::Full,
                true,
                false,
            )))
        }
        ["assettype"] if get => Ok(ok_json(Value::Array(
            st.world
                .halo
                .asset_types
                .iter()
                .map(|t| asset_type_json(&st.world, t, false))
                .collect(),
        ))),
        ["assettype", id] if get => {
            let id = parse_id(id)?;
            let t = st
                .world
                .halo
                .asset_types
                .iter()
                .find(|t| t.id == id)
                .ok_or_else(|| not_found(id))?;
            Ok(ok_json(asset_type_json(
                &st.world,
                t,
                flag(ctx, "includedetails"),
            )))
        }
        ["tickets" | "actions", ..] => tickets::route(ctx, st, segments.as_slice(), post),
        ["report", ..] if !st.world.credentials.halo_reporting => Err(report::forbidden()),
        ["report"] if post => report::post(ctx, &mut st.world),
        ["report", id] if get => report::get(ctx, &st.world, id),
        [
            "users" | "client" | "site" | "asset" | "assettype" | "report",
            ..,
        ] => Err(reject(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")),
        _ => Err(reject(StatusCode::NOT_FOUND, "Not Found")),
    }
}

/// A 200 answer carrying `value`, with the property names of the records it holds attached
/// for the request log ([`super::RequestRecord::response_properties`]).
pub(super) fn ok_json(value: Value) -> Response {
    let mut response = json_response(StatusCode::OK, &value);
    response
        .extensions_mut()
        .insert(ResponseProperties(record_properties(&value)));
    response
}

/// The property names of the records in an answer: the items of a list envelope (the
/// array beside `record_count`), of a bare array, or the one object; child arrays of
/// objects as `name[].child`.
fn record_properties(value: &Value) -> Vec<String> {
    fn object(prefix: &str, map: &Map<String, Value>, out: &mut BTreeSet<String>) {
        for (key, value) in map {
            out.insert(format!("{prefix}{key}"));
            if let Value::Array(items) = value {
                for item in items {
                    if let Value::Object(child) = item {
                        object(&format!("{prefix}{key}[]."), child, out);
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    let records: Vec<&Value> = match value {
        Value::Object(map) if map.contains_key("record_count") => {
            map.values().filter_map(Value::as_array).flatten().collect()
        }
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for record in records {
        if let Value::Object(map) = record {
            object("", map, &mut out);
        }
    }
    out.into_iter().collect()
}

pub(super) fn not_found(id: i64) -> Reject {
    reject(StatusCode::NOT_FOUND, format!("Record {id} not found"))
}

pub(super) fn parse_id(raw: &str) -> Result<i64, Reject> {
    raw.parse()
        .map_err(|_| bad_request(format!("The value '{raw}' is not valid.")))
}

/// `GET /api/authinfo` (unauthenticated): where to get tokens.
fn authinfo(ctx: &Ctx<'_>, st: &State) -> Response {
    ok_json(json!({
        "auth_url": format!("{}/auth", ctx.base),
        "tenant": st.world.credentials.halo_tenant.clone().unwrap_or_default(),
    }))
}

/// A query flag: `true` in any case.
pub(super) fn flag(ctx: &Ctx<'_>, name: &str) -> bool {
    ctx.param(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// An optional numeric query parameter; garbage is a 400 like ASP.NET's model binding.
pub(super) fn number(ctx: &Ctx<'_>, name: &str) -> Result<Option<i64>, Reject> {
    match ctx.param(name) {
        None | Some("") => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| bad_request(format!("The value '{raw}' is not valid for {name}."))),
    }
}

/// Wraps matching records in Halo's list envelope, paged or silently truncated; only the
/// records returned are rendered.
pub(super) fn envelope<T>(
    ctx: &Ctx<'_>,
    key: &str,
    items: Vec<T>,
    render: impl Fn(T) -> Value,
) -> Reply {
    let total = items.len();
    let mut out = Map::new();
    let page: Vec<Value> = if flag(ctx, "pageinate") {
        let requested = number(ctx, "page_size")?
            .filter(|n| *n > 0)
            .map_or(DEFAULT_PAGE_SIZE, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            });
        let page_no = number(ctx, "page_no")?.filter(|n| *n > 0).unwrap_or(1);
        let size = requested.min(ctx.opts.halo_page_cap.max(1));
        let start = usize::try_from(page_no - 1)
            .unwrap_or(usize::MAX)
            .saturating_mul(size);
        out.insert("page_no".into(), json!(page_no));
        out.insert("page_size".into(), json!(requested));
        items
            .into_iter()
            .skip(start)
            .take(size)
            .map(render)
            .collect()
    } else {
        items.into_iter().take(UNPAGED_LIMIT).map(render).collect()
    };
    out.insert("record_count".into(), json!(total));
    out.insert(key.into(), Value::Array(page));
    Ok(ok_json(Value::Object(out)))
}

/// An id as Halo sends it: an integer when reading, a float in write responses.
pub(super) fn id_value(id: i64, float: bool) -> Value {
    if float { json!(id as f64) } else { json!(id) }
}

/// Which model of Halo's contract a record is rendered as: list endpoints answer with the
/// `*_List` models (`Users_List` has no `azureoid`, `Device_List` no `users`), a single GET
/// and write responses with the full model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Model {
    List,
    Full,
}

/// A JSON object of `pairs`, without the null ones: captured Halo responses omit properties
/// whose value is null.
pub(super) fn record(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

fn site_name(world: &World, id: i64) -> Value {
    json!(
        world
            .halo
            .sites
            .iter()
            .find(|s| s.id == id)
            .map(|s| &s.name)
    )
}

fn client_name(world: &World, id: i64) -> Value {
    json!(world.client(id).map(|c| &c.name))
}

/// The free-text properties a user record carries (`other1` .. `other5`).
pub(crate) const USER_OTHER_FIELDS: [&str; 5] = ["other1", "other2", "other3", "other4", "other5"];

fn user_json(world: &World, user: &HaloUser, model: Model, float: bool) -> Value {
    let mut pairs = vec![
        ("id", id_value(user.id, float)),
        ("name", json!(user.name)),
        ("firstname", json!(user.firstname)),
        ("surname", json!(user.surname)),
        ("emailaddress", json!(user.emailaddress)),
        ("site_id", id_value(user.site_id, float)),
        ("site_name", site_name(world, user.site_id)),
        ("client_id", id_value(user.client_id, float)),
        ("client_name", client_name(world, user.client_id)),
        ("inactive", json!(user.inactive)),
        ("title", json!(user.title)),
        ("phonenumber", json!(user.phonenumber)),
        ("mobilenumber", json!(user.mobilenumber)),
    ];
    pairs.extend(USER_OTHER_FIELDS.map(|name| (name, json!(user.other.get(name)))));
    pairs.push((
        "customfields",
        customfields_json(
            &world.halo.user_custom_fields,
            &user.customfields,
            model == Model::Full,
        ),
    ));
    if model == Model::Full {
        pairs.push(("azureoid", json!(user.azureoid)));
    }
    record(pairs)
}

/// A client (`Area`); its `azure_tenants` (`AreaAzureTenant`) only when asked for.
fn client_json(client: &HaloClient, tenants: bool, float: bool) -> Value {
    let mut pairs = vec![
        ("id", id_value(client.id, float)),
        ("name", json!(client.name)),
        ("inactive", json!(client.inactive)),
        ("main_site_id", id_value(client.main_site_id, float)),
    ];
    if tenants {
        let tenants = client
            .azure_tenants
            .iter()
            .map(|t| {
                record([
                    ("azure_tenant_id", json!(t.azure_tenant_id)),
                    ("azure_tenant_name", json!(t.azure_tenant_name)),
                    ("client_id", id_value(client.id, float)),
                    ("client_name", json!(client.name)),
                ])
            })
            .collect();
        pairs.push(("azure_tenants", Value::Array(tenants)));
    }
    record(pairs)
}

/// An asset type (`Xtype`); with `details`, its fields as `TypeInfo` items. `TypeInfo` is
/// not in the contract fixture: its properties (`typeinfo_id`, `id`, `field_id`,
/// `field_name`) are those of a client generated from Halo's OpenAPI document and of a
/// public Halo tool's captured rows (`{"typeinfo_id":120,"id":4,"field_id":132,
/// "field_name":"IMEI Number"}`).
fn asset_type_json(world: &World, t: &HaloAssetType, details: bool) -> Value {
    let mut pairs = vec![
        ("id", json!(t.id)),
        ("name", json!(t.name)),
        ("keyfield_id", json!(t.keyfield_id)),
    ];
    if details {
        let fields = t
            .fields
            .iter()
            .enumerate()
            .map(|(seq, field)| {
                record([
                    ("typeinfo_id", json!(t.id)),
                    ("id", json!(seq + 1)),
                    ("field_id", json!(field)),
                    (
                        "field_name",
                        json!(
                            world
                                .halo
                                .asset_fields
                                .iter()
                                .find(|d| d.id == *field)
                                .map(|d| &d.name)
                        ),
                    ),
                ])
            })
            .collect();
        pairs.push(("fields", Value::Array(fields)));
    }
    record(pairs)
}

/// A site (`Site_List` in lists, `Site` on a single GET: both carry these properties).
fn site_json(world: &World, site: &HaloSite) -> Value {
    record([
        ("id", json!(site.id)),
        ("name", json!(site.name)),
        ("client_id", json!(site.client_id)),
        ("client_name", client_name(world, site.client_id)),
        ("inactive", json!(site.inactive)),
    ])
}

/// An asset (`Device_List` or `Device`); `fields` only when asked for (lists need
/// `includeassetfields=true`), the people (`users`) only on the full model.
fn asset_json(world: &World, asset: &HaloAsset, model: Model, fields: bool, float: bool) -> Value {
    let mut pairs = vec![
        ("id", id_value(asset.id, float)),
        ("inventory_number", json!(asset.inventory_number)),
        ("key_field", json!(world.asset_key_field(asset))),
        ("assettype_id", id_value(asset.assettype_id, float)),
        (
            "assettype_name",
            json!(
                world
                    .halo
                    .asset_types
                    .iter()
                    .find(|t| t.id == asset.assettype_id)
                    .map(|t| &t.name)
            ),
        ),
        ("client_id", id_value(asset.client_id, float)),
        ("client_name", client_name(world, asset.client_id)),
        ("site_id", id_value(asset.site_id, float)),
        ("site_name", site_name(world, asset.site_id)),
        ("intune_id", json!(asset.intune_id)),
        ("inactive", json!(asset.inactive)),
        ("status_id", id_value(asset.status_id, float)),
        (
            "status_name",
            json!(
                world
                    .halo
                    .asset_statuses
                    .iter()
                    .find(|s| s.id == asset.status_id)
                    .map(|s| &s.name)
            ),
        ),
        (
            "customfields",
            customfields_json(
                &world.halo.asset_custom_fields,
                &asset.customfields,
                model == Model::Full,
            ),
        ),
    ];
    // A list item of an asset without any field value comes without `fields` even with
    // `includeassetfields=true` (seen against a real Halo: such an item failed a whole
    // tenant); the single GET always has them.
    let listed_bare = model == Model::List && asset.fields.is_empty();
    if (fields && !listed_bare) || model == Model::Full {
        let fields = asset
            .fields
            .iter()
            .map(|f| {
                let name = world
                    .halo
                    .asset_fields
                    .iter()
                    .find(|d| d.id == f.id)
                    .map(|d| d.name.clone());
                record([
                    ("id", json!(f.id)),
                    ("name", json!(name)),
                    ("value", json!(f.value)),
                ])
            })
            .collect();
        pairs.push(("fields", Value::Array(fields)));
    }
    if model == Model::Full {
        let users = asset
            .users
            .iter()
            .map(|id| {
                record([
                    ("id", id_value(*id, float)),
                    ("name", json!(world.halo_user(*id).map(|u| &u.name))),
                ])
            })
            .collect();
        pairs.push(("users", Value::Array(users)));
    }
    record(pairs)
}

fn list_assets(ctx: &Ctx<'_>, world: &World) -> Reply {
    let client_id = number(ctx, "client_id")?;
    let site_id = number(ctx, "site_id")?;
    let assettype_id = number(ctx, "assettype_id")?;
    let inactive = flag(ctx, "includeinactive");
    let fields = flag(ctx, "includeassetfields");
    let mut assets: Vec<&HaloAsset> = world
        .halo
        .assets
        .iter()
        .filter(|a| inactive || !a.inactive)
        .filter(|a| client_id.is_none_or(|c| a.client_id == c))
        .filter(|a| site_id.is_none_or(|s| a.site_id == s))
        .filter(|a| assettype_id.is_none_or(|t| a.assettype_id == t))
        .collect();
    assets.sort_by_key(|a| a.id);
    envelope(ctx, "assets", assets, |a| {
        asset_json(world, a, Model::List, fields, false)
    })
}

fn list_users(ctx: &Ctx<'_>, world: &World) -> Reply {
    let client_id = number(ctx, "client_id")?;
    let site_id = number(ctx, "site_id")?;
    let inactive = flag(ctx, "includeinactive");
    let search = ctx
        .param("search")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let mut users: Vec<&HaloUser> = world
        .halo
        .users
        .iter()
        .filter(|u| inactive || !u.inactive)
        .filter(|u| client_id.is_none_or(|c| u.client_id == c))
        .filter(|u| site_id.is_none_or(|s| u.site_id == s))
        .filter(|u| {
            search.as_deref().is_none_or(|s| {
                u.name.to_lowercase().contains(s) || u.emailaddress.to_lowercase().contains(s)
            })
        })
        .collect();
    users.sort_by_key(|u| u.id);
    envelope(ctx, "users", users, |u| {
        user_json(world, u, Model::List, false)
    })
}

fn list_clients(ctx: &Ctx<'_>, world: &World) -> Reply {
    let inactive = flag(ctx, "includeinactive");
    // The list carries `azure_tenants` only with `includeazuretenants=true`;
    // `includedetails` exists only on `GET /api/Client/{id}` and is ignored here.
    let tenants = flag(ctx, "includeazuretenants");
    let search = ctx
        .param("search")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let mut clients: Vec<&HaloClient> = world
        .halo
        .clients
        .iter()
        .filter(|c| inactive || !c.inactive)
        .filter(|c| {
            search
                .as_deref()
                .is_none_or(|s| c.name.to_lowercase().contains(s))
        })
        .collect();
    clients.sort_by_key(|c| c.id);
    envelope(ctx, "clients", clients, |c| client_json(c, tenants, false))
}

/// `GET /api/Site`: filters `client_id`, `search` (the name); inactive sites only with
/// `includeinactive=true`, as the other lists.
fn list_sites(ctx: &Ctx<'_>, world: &World) -> Reply {
    let client_id = number(ctx, "client_id")?;
    let inactive = flag(ctx, "includeinactive");
    let search = ctx
        .param("search")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let mut sites: Vec<&HaloSite> = world
        .halo
        .sites
        .iter()
        .filter(|s| inactive || !s.inactive)
        .filter(|s| client_id.is_none_or(|c| s.client_id == c))
        .filter(|s| {
            search
                .as_deref()
                .is_none_or(|q| s.name.to_lowercase().contains(q))
        })
        .collect();
    sites.sort_by_key(|s| s.id);
    envelope(ctx, "sites", sites, |s| site_json(world, s))
}

/// The items of a write: a JSON array, or a single object.
pub(super) fn write_items(ctx: &Ctx<'_>) -> Result<(Vec<Map<String, Value>>, bool), Reject> {
    let body: Value = serde_json::from_slice(ctx.body)
        .map_err(|error| bad_request(format!("The request body is not valid JSON: {error}")))?;
    let items = match body {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err(bad_request("The request body must be a JSON array")),
    };
    let single = items.len() == 1;
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => Ok(map),
            _ => Err(bad_request(format!("Item {i}: not a JSON object"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, single))
}

/// Stores one validated write item: a create (id 0) gets the next id and is appended, an
/// update replaces the stored record. Returns the record as stored.
pub(super) fn commit<T: Clone>(
    world: &mut World,
    records: fn(&mut HaloWorld) -> &mut Vec<T>,
    id: fn(&mut T) -> &mut i64,
    mut record: T,
) -> T {
    let wanted = *id(&mut record);
    if wanted == 0 {
        *id(&mut record) = world.next_halo_id();
        records(&mut world.halo).push(record.clone());
    } else if let Some(slot) = records(&mut world.halo)
        .iter_mut()
        .find_map(|r| (*id(r) == wanted).then_some(r))
    {
        *slot = record.clone();
    }
    record
}

/// The write response: one object for a one-item request, an array otherwise.
pub(super) fn write_response(mut saved: Vec<Value>, single: bool) -> Response {
    if single && let Some(only) = saved.pop() {
        return ok_json(only);
    }
    ok_json(Value::Array(saved))
}

/// Reads typed fields of one write item, naming the item and field on errors.
pub(super) struct Item<'a> {
    pub(super) index: usize,
    pub(super) map: &'a Map<String, Value>,
}

impl Item<'_> {
    pub(super) fn err(&self, message: String) -> Reject {
        bad_request(format!("Item {}: {message}", self.index))
    }

    /// An id-like number: an integer or an integral float (`12.0`); `None` when absent/null.
    pub(super) fn int(&self, key: &str) -> Result<Option<i64>, Reject> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
                .map(Some)
                .ok_or_else(|| self.err(format!("{key} {n} is not a valid id"))),
            Some(other) => Err(self.err(format!("{key} {other} is not a number"))),
        }
    }

    /// A string field: `Some(None)` when sent as null, `None` when absent.
    pub(super) fn string(&self, key: &str) -> Result<Option<Option<String>>, Reject> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(other) => Err(self.err(format!("{key} {other} is not a string"))),
        }
    }

    pub(super) fn bool(&self, key: &str) -> Result<Option<bool>, Reject> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(format!("{key} {other} is not a boolean"))),
        }
    }

    /// An item of the child array `name` (`fields`, `users`): an object with an `id`.
    pub(super) fn child<'v>(
        &self,
        name: &str,
        value: &'v Value,
    ) -> Result<(Item<'v>, i64), Reject> {
        let child = Item {
            index: self.index,
            map: value
                .as_object()
                .ok_or_else(|| self.err(format!("{name}: {value} is not an object")))?,
        };
        let id = child
            .int("id")?
            .ok_or_else(|| self.err(format!("{name}: id is required")))?;
        Ok((child, id))
    }

    /// The record id for an update; `None` (also for 0) means create.
    pub(super) fn id(&self) -> Result<Option<i64>, Reject> {
        Ok(self.int("id")?.filter(|id| *id != 0))
    }

    pub(super) fn check_name(&self, name: &str) -> Result<(), Reject> {
        if name.trim().is_empty() {
            Err(self.err("name must not be empty".to_string()))
        } else if name.chars().count() > 255 {
            Err(self.err("name is longer than 255 characters".to_string()))
        } else {
            Ok(())
        }
    }
}

fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// `POST /api/Users`: validate every item, then commit all of them. `customfields` sent
/// replace the stored values wholesale ([`parse_customfields`]).
fn write_users(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let (items, single) = write_items(ctx)?;
    // The full record each item results in; `id` 0 = create.
    let mut planned = Vec::with_capacity(items.len());
    for (index, map) in items.iter().enumerate() {
        let item = Item { index, map };
        let mut user = match item.id()? {
            Some(id) => world
                .halo_user(id)
                .cloned()
                .ok_or_else(|| item.err(format!("id {id} does not exist")))?,
            None => HaloUser {
                id: 0,
                name: String::new(),
                firstname: String::new(),
                surname: String::new(),
                emailaddress: String::new(),
                azureoid: None,
                other: Default::default(),
                site_id: 0,
                client_id: 0,
                inactive: false,
                title: None,
                phonenumber: None,
                mobilenumber: None,
                customfields: Vec::new(),
            },
        };
        let create = user.id == 0;
        match item.string("name")? {
            Some(Some(name)) => user.name = name,
            Some(None) => return Err(item.err("name must not be empty".to_string())),
            None if create => return Err(item.err("name is required".to_string())),
            None => {}
        }
        item.check_name(&user.name)?;
        for (key, slot) in [
            ("firstname", &mut user.firstname),
            ("surname", &mut user.surname),
            ("emailaddress", &mut user.emailaddress),
        ] {
            if let Some(value) = item.string(key)? {
                *slot = value.unwrap_or_default();
            }
        }
        if map.contains_key("emailaddress")
            && !user.emailaddress.is_empty()
            && !valid_email(&user.emailaddress)
        {
            return Err(item.err(format!(
                "emailaddress '{}' is not a valid e-mail address",
                user.emailaddress
            )));
        }
        for (key, slot) in [
            ("title", &mut user.title),
            ("phonenumber", &mut user.phonenumber),
            ("mobilenumber", &mut user.mobilenumber),
        ] {
            if let Some(value) = item.string(key)? {
                *slot = value;
            }
        }
        if let Some(oid) = item.string("azureoid")? {
            user.azureoid = oid.filter(|o| !o.is_empty());
        }
        for name in USER_OTHER_FIELDS {
            if let Some(value) = item.string(name)? {
                match value.filter(|v| !v.is_empty()) {
                    Some(value) => user.other.insert(name.to_string(), value),
                    None => user.other.remove(name),
                };
            }
        }
        if let Some(inactive) = item.bool("inactive")? {
            user.inactive = inactive;
        }
        match item.int("client_id")? {
            Some(id) => user.client_id = id,
            None if create => return Err(item.err("client_id is required".to_string())),
            None => {}
        }
        match item.int("site_id")? {
            Some(id) => user.site_id = id,
            None if create => return Err(item.err("site_id is required".to_string())),
            None => {}
        }
        if world.client(user.client_id).is_none() {
            return Err(item.err(format!("client_id {} does not exist", user.client_id)));
        }
        check_site(&item, world, user.site_id, user.client_id, create)?;
        if let Some(values) = parse_customfields(&item, &world.halo.user_custom_fields)? {
            user.customfields = values;
        }
        planned.push(user);
    }
    let mut saved = Vec::with_capacity(planned.len());
    for user in planned {
        let user = commit(world, |h| &mut h.users, |u| &mut u.id, user);
        saved.push(user_json(world, &user, Model::Full, true));
    }
    Ok(write_response(saved, single))
}

/// `POST /api/Asset`: validate every item, then commit all of them. `fields` sent replace
/// the stored array; each `fields[].id` must be a defined asset field; `users` (`[{id}]`)
/// replace the asset's people, each a user of the asset's client. `key_field` (a read-only
/// projection of the type's key field) is echoed in the answer but not stored; properties
/// the `Device` model does not have (e.g. `user_id`) are ignored, as Halo does.
/// `status_id` must name one of the world's asset statuses; `customfields` sent replace the
/// stored values wholesale ([`parse_customfields`]).
fn write_assets(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let (items, single) = write_items(ctx)?;
    let mut planned = Vec::with_capacity(items.len());
    for (index, map) in items.iter().enumerate() {
        let item = Item { index, map };
        let mut asset = match item.id()? {
            Some(id) => world
                .halo_asset(id)
                .cloned()
                .ok_or_else(|| item.err(format!("id {id} does not exist")))?,
            None => HaloAsset {
                id: 0,
                inventory_number: String::new(),
                assettype_id: 0,
                client_id: 0,
                site_id: 0,
                intune_id: None,
                inactive: false,
                users: Vec::new(),
                fields: Vec::new(),
                // The simulator's choice: a new asset without `status_id` is Active.
                status_id: default_asset_status(),
                customfields: Vec::new(),
            },
        };
        let create = asset.id == 0;
        if let Some(value) = item.string("inventory_number")? {
            asset.inventory_number = value.unwrap_or_default();
        }
        if asset.inventory_number.chars().count() > 255 {
            return Err(item.err("inventory_number is longer than 255 characters".to_string()));
        }
        if let Some(value) = item.string("intune_id")? {
            asset.intune_id = value.filter(|v| !v.is_empty());
        }
        if let Some(inactive) = item.bool("inactive")? {
            asset.inactive = inactive;
        }
        for (key, slot) in [
            ("assettype_id", &mut asset.assettype_id),
            ("client_id", &mut asset.client_id),
            ("site_id", &mut asset.site_id),
        ] {
            match item.int(key)? {
                Some(id) => *slot = id,
                None if create => return Err(item.err(format!("{key} is required"))),
                None => {}
            }
        }
        if !world
            .halo
            .asset_types
            .iter()
            .any(|t| t.id == asset.assettype_id)
        {
            return Err(item.err(format!(
                "assettype_id {} does not exist",
                asset.assettype_id
            )));
        }
        if world.client(asset.client_id).is_none() {
            return Err(item.err(format!("client_id {} does not exist", asset.client_id)));
        }
        check_site(&item, world, asset.site_id, asset.client_id, create)?;
        if let Some(status) = item.int("status_id")? {
            if !world.halo.asset_statuses.iter().any(|s| s.id == status) {
                return Err(item.err(format!("status_id {status} does not exist")));
            }
            asset.status_id = status;
        }
        if let Some(values) = parse_customfields(&item, &world.halo.asset_custom_fields)? {
            asset.customfields = values;
        }
        match map.get("users") {
            None => {}
            Some(Value::Null) => asset.users.clear(),
            Some(Value::Array(users)) => {
                asset.users = users
                    .iter()
                    .map(|u| parse_asset_user(&item, world, u, asset.client_id))
                    .collect::<Result<_, _>>()?;
            }
            Some(other) => return Err(item.err(format!("users {other} is not an array"))),
        }
        match map.get("fields") {
            None => {}
            Some(Value::Null) => asset.fields.clear(),
            Some(Value::Array(fields)) => {
                asset.fields = fields
                    .iter()
                    .map(|f| parse_asset_field(&item, world, f))
                    .collect::<Result<_, _>>()?;
            }
            Some(other) => return Err(item.err(format!("fields {other} is not an array"))),
        }
        planned.push((asset, item.string("key_field")?.flatten()));
    }
    let mut saved = Vec::with_capacity(planned.len());
    for (asset, echoed_key) in planned {
        let asset = commit(world, |h| &mut h.assets, |a| &mut a.id, asset);
        let mut json = asset_json(world, &asset, Model::Full, true, true);
        if let (Some(key), Value::Object(map)) = (echoed_key, &mut json) {
            // Echoed, not stored: the next read shows the key field's value again.
            map.insert("key_field".into(), Value::String(key));
        }
        saved.push(json);
    }
    Ok(write_response(saved, single))
}

/// The site a user or asset is on must belong to its client; a site sent (or a new record's)
/// must also be active. A record already on a site that became inactive can still be
/// updated without moving it (e.g. deactivated).
fn check_site(
    item: &Item<'_>,
    world: &World,
    site_id: i64,
    client_id: i64,
    create: bool,
) -> Result<(), Reject> {
    let Some(site) = world
        .halo
        .sites
        .iter()
        .find(|s| s.id == site_id && s.client_id == client_id)
    else {
        return Err(item.err(format!(
            "site_id {site_id} does not belong to client {client_id}"
        )));
    };
    if site.inactive && (create || item.map.contains_key("site_id")) {
        return Err(item.err(format!("site_id {site_id} is inactive")));
    }
    Ok(())
}

/// One `users[]` item of an asset write: `{id}` of a user of the asset's client.
fn parse_asset_user(
    item: &Item<'_>,
    world: &World,
    value: &Value,
    client_id: i64,
) -> Result<i64, Reject> {
    let (_, id) = item.child("users", value)?;
    if !world
        .halo
        .users
        .iter()
        .any(|u| u.id == id && u.client_id == client_id)
    {
        return Err(item.err(format!(
            "users: user {id} is not a user of client {client_id}"
        )));
    }
    Ok(id)
}

fn parse_asset_field(
    item: &Item<'_>,
    world: &World,
    value: &Value,
) -> Result<HaloAssetFieldValue, Reject> {
    let (field, id) = item.child("fields", value)?;
    if !world.halo.asset_fields.iter().any(|d| d.id == id) {
        return Err(item.err(format!("fields: field id {id} does not exist")));
    }
    let value = match field.map.get("value") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(item.err(format!("fields: value {other} is not a string"))),
    };
    Ok(HaloAssetFieldValue { id, value })
}

/// `POST /api/Client`: validate every item, then commit all of them. A new client gets a
/// main site named "Main"; `azure_tenants` sent in an update replace the stored ones.
fn write_clients(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let (items, single) = write_items(ctx)?;
    let mut planned = Vec::with_capacity(items.len());
    for (index, map) in items.iter().enumerate() {
        let item = Item { index, map };
        let mut client = match item.id()? {
            Some(id) => world
                .client(id)
                .cloned()
                .ok_or_else(|| item.err(format!("id {id} does not exist")))?,
            None => HaloClient {
                id: 0,
                name: String::new(),
                inactive: false,
                main_site_id: 0,
                azure_tenants: Vec::new(),
            },
        };
        let create = client.id == 0;
        match item.string("name")? {
            Some(Some(name)) => client.name = name,
            Some(None) => return Err(item.err("name must not be empty".to_string())),
            None if create => return Err(item.err("name is required".to_string())),
            None => {}
        }
        item.check_name(&client.name)?;
        if let Some(inactive) = item.bool("inactive")? {
            client.inactive = inactive;
        }
        if let Some(site_id) = item.int("main_site_id")? {
            if create
                || !world
                    .halo
                    .sites
                    .iter()
                    .any(|s| s.id == site_id && s.client_id == client.id)
            {
                return Err(item.err(format!(
                    "main_site_id {site_id} does not belong to this client"
                )));
            }
            client.main_site_id = site_id;
        }
        match map.get("azure_tenants") {
            None => {}
            Some(Value::Null) => client.azure_tenants.clear(),
            Some(Value::Array(tenants)) => {
                client.azure_tenants = tenants
                    .iter()
                    .map(|t| parse_azure_tenant(&item, t))
                    .collect::<Result<_, _>>()?;
            }
            Some(other) => {
                return Err(item.err(format!("azure_tenants {other} is not an array")));
            }
        }
        planned.push(client);
    }
    let mut saved = Vec::with_capacity(planned.len());
    for mut client in planned {
        if client.id == 0 {
            client.id = world.next_halo_id();
            client.main_site_id = world.next_halo_id();
            world.halo.sites.push(HaloSite {
                id: client.main_site_id,
                name: "Main".to_string(),
                client_id: client.id,
                inactive: false,
            });
            world.halo.clients.push(client.clone());
        } else if let Some(slot) = world.halo.clients.iter_mut().find(|c| c.id == client.id) {
            *slot = client.clone();
        }
        saved.push(client_json(&client, true, true));
    }
    Ok(write_response(saved, single))
}

fn parse_azure_tenant(item: &Item<'_>, value: &Value) -> Result<AzureTenant, Reject> {
    let id = value
        .get("azure_tenant_id")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| item.err("azure_tenants: azure_tenant_id is required".to_string()))?;
    let name = match value.get("azure_tenant_name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(item.err(format!(
                "azure_tenants: azure_tenant_name {other} is not a string"
            )));
        }
    };
    Ok(AzureTenant {
        azure_tenant_id: id.to_string(),
        azure_tenant_name: name,
    })
}
