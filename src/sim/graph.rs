//! The simulated Microsoft Entra token endpoint (`POST /entra/{tenant}/oauth2/v2.0/token`)
//! and Microsoft Graph (`/graph/v1.0/users`, `/graph/v1.0/deviceManagement/managedDevices`).
//!
//! Awkward parts reproduced on purpose: tokens are per tenant; errors come as AADSTS OAuth
//! bodies from Entra and in Graph's error envelope from Graph (with the `request-id` of the
//! response header); without `$select`, `accountEnabled`, `userType` and `department` are
//! not returned; `$top` above the cap is a 400; user filters are `and`s of `eq`, `ne`,
//! `endsWith(...)` and `not(...)` clauses, the last three "advanced queries" answered 400
//! without `ConsistencyLevel: eventual` and `$count=true`; `$count=true` adds
//! `@odata.count` to the first page; `@odata.nextLink` is absolute and carries an opaque
//! `$skiptoken`; a tenant without the needed permission answers 403
//! `Authorization_RequestDenied`; a tenant without an Intune licence answers the Intune
//! route 400 `BadRequest` "Request not applicable to target tenant.".

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::world::{EntraTenant, EntraUser, ManagedDevice};
use super::{
    Ctx, IssuedToken, Issuer, RequestIds, State, TenantTag, TokenError, json_response, utc_now,
};

/// `$top` when none is given.
const DEFAULT_TOP: usize = 100;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Graph's user properties, in canonical spelling.
const USER_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "accountEnabled",
    "jobTitle",
    "businessPhones",
    "mobilePhone",
    "department",
    "userType",
    "officeLocation",
    "preferredLanguage",
    "companyName",
    "employeeId",
    "city",
    "country",
];

/// What Graph returns without `$select`.
const DEFAULT_SELECT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Graph's managed-device properties the simulator models, in canonical spelling.
const DEVICE_PROPERTIES: &[&str] = &[
    "id",
    "deviceName",
    "serialNumber",
    "manufacturer",
    "model",
    "operatingSystem",
    "osVersion",
    "userPrincipalName",
    "emailAddress",
    "azureADDeviceId",
    "lastSyncDateTime",
    "complianceState",
    "imei",
    "phoneNumber",
];

/// One Graph collection the simulator serves: its records' properties and paging rules.
struct Collection<'a, T> {
    /// The path after `/v1.0/`, for next links and `@odata.context`.
    path: &'static str,
    /// The entity type named in `$select` errors.
    type_name: &'static str,
    properties: &'static [&'static str],
    /// What is returned without `$select`.
    default_select: &'static [&'static str],
    /// Properties `$filter` supports (with whether their value is a boolean).
    filterable: &'static [(&'static str, bool)],
    property: fn(&T, &str) -> Value,
    records: &'a [T],
}

/// Properties `$filter` supports, with whether their value is a boolean.
const FILTERABLE: &[(&str, bool)] = &[
    ("id", false),
    ("displayName", false),
    ("givenName", false),
    ("surname", false),
    ("mail", false),
    ("userPrincipalName", false),
    ("jobTitle", false),
    ("department", false),
    ("officeLocation", false),
    ("city", false),
    ("country", false),
    ("companyName", false),
    ("employeeId", false),
    ("userType", false),
    ("accountEnabled", true),
];

/// Graph's error envelope, with the request ids of the response headers.
pub(crate) fn error(status: StatusCode, code: &str, message: &str, ids: &RequestIds) -> Response {
    json_response(
        status,
        &json!({
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": utc_now(),
                    "request-id": ids.request_id,
                    "client-request-id": ids.client_request_id,
                }
            }
        }),
    )
}

/// An Entra OAuth error (`AADSTS…`).
pub(crate) fn oauth_error(
    status: StatusCode,
    error: &str,
    code: u32,
    message: &str,
    ids: &RequestIds,
) -> Response {
    let timestamp = format!("{}Z", utc_now());
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message} Trace ID: {} Correlation ID: {} Timestamp: {timestamp}",
                ids.request_id, ids.client_request_id
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": ids.request_id,
            "correlation_id": ids.client_request_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn tagged(mut response: Response, tenant: &str) -> Response {
    response
        .extensions_mut()
        .insert(TenantTag(tenant.to_string()));
    response
}

/// `POST /entra/{tenant}/oauth2/v2.0/token`
pub(crate) fn token(ctx: &Ctx<'_>, st: &mut State) -> Response {
    let segments: Vec<&str> = ctx.path.split('/').filter(|s| !s.is_empty()).collect();
    let tenant_ref = match segments.as_slice() {
        ["entra", tenant, "oauth2", "v2.0", "token"] => *tenant,
        _ => return (StatusCode::NOT_FOUND, "Not Found").into_response(),
    };
    let response = token_inner(ctx, st, tenant_ref);
    tagged(response, tenant_ref)
}

fn token_inner(ctx: &Ctx<'_>, st: &mut State, tenant_ref: &str) -> Response {
    let bad = |error: &str, code: u32, message: &str| {
        oauth_error(StatusCode::BAD_REQUEST, error, code, message, ctx.ids)
    };
    if ctx.method != Method::POST {
        return bad(
            "invalid_request",
            900_561,
            "The endpoint only accepts POST requests.",
        );
    }
    let creds = st.world.credentials.clone();
    let Some(tenant) = st.world.tenant(tenant_ref) else {
        return bad(
            "invalid_request",
            90_002,
            &format!(
                "Tenant '{tenant_ref}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    };
    let (tenant_id, tenant_name, consented) =
        (tenant.id.clone(), tenant.name.clone(), tenant.consented);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(ctx.body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let missing = |name: &str| {
        bad(
            "invalid_request",
            900_144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return bad(
                "unsupported_grant_type",
                70_003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
        None => return missing("grant_type"),
    }
    let Some(client_id) = field("client_id") else {
        return missing("client_id");
    };
    if !client_id.eq_ignore_ascii_case(&creds.entra_client_id) || !consented {
        return bad(
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let Some(scope) = field("scope") else {
        return missing("scope");
    };
    if !scope.ends_with("/.default") {
        return bad(
            "invalid_scope",
            1_002_012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let unauthorized = |code: u32, message: &str| {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            message,
            ctx.ids,
        )
    };
    if let Some(secret) = field("client_secret") {
        if secret != creds.entra_client_secret {
            return unauthorized(
                7_000_215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
    } else if let Some(assertion) = field("client_assertion") {
        if field("client_assertion_type") != Some(JWT_BEARER) {
            return bad(
                "invalid_request",
                50_027,
                "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        if creds.federated_token.as_deref() != Some(assertion) {
            return unauthorized(
                700_213,
                "No matching federated identity record found for presented assertion subject. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
            );
        }
    } else {
        return missing("client_assertion' or 'client_secret");
    }
    let token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}.{}",
        st.random_hex(24),
        st.random_hex(16)
    );
    st.issue_token(
        token.clone(),
        IssuedToken {
            issuer: Issuer::Entra,
            tenant: Some(tenant_id),
            expires: ctx.now + ctx.opts.graph_token_ttl,
            revoked: false,
        },
    );
    let ttl = ctx.opts.graph_token_ttl.as_secs();
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "access_token": token,
        }),
    )
}

/// `/graph/...`
pub(crate) fn api(ctx: &Ctx<'_>, st: &mut State) -> Response {
    let tenant_id = match st.check_bearer(ctx.headers, Issuer::Entra, ctx.now) {
        Ok(token) => token.tenant.clone().unwrap_or_default(),
        Err(reason) => {
            let message = match reason {
                TokenError::Missing => "Access token is empty.",
                TokenError::Invalid => "Access token validation failure. Invalid audience.",
                TokenError::Expired => "Lifetime validation failed, the token is expired.",
            };
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                message,
                ctx.ids,
            );
            if let Ok(value) = "Bearer realm=\"\", error=\"invalid_token\"".parse() {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            return response;
        }
    };
    let response = match st.world.tenant(&tenant_id) {
        Some(tenant) => route(ctx, tenant),
        None => error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure. The tenant no longer exists.",
            ctx.ids,
        ),
    };
    tagged(response, &tenant_id)
}

fn route(ctx: &Ctx<'_>, tenant: &EntraTenant) -> Response {
    let rest = ctx.path.get("/graph".len()..).unwrap_or("");
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["v1.0", dm, devices]
            if dm.eq_ignore_ascii_case("deviceManagement")
                && devices.eq_ignore_ascii_case("managedDevices") =>
        {
            match *ctx.method {
                Method::GET if !tenant.can_read_devices => forbidden(ctx),
                Method::GET if !tenant.intune_licensed => error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Request not applicable to target tenant.",
                    ctx.ids,
                ),
                Method::GET => list(
                    ctx,
                    tenant,
                    &Collection {
                        path: "deviceManagement/managedDevices",
                        type_name: "microsoft.graph.managedDevice",
                        properties: DEVICE_PROPERTIES,
                        default_select: DEVICE_PROPERTIES,
                        filterable: &[],
                        property: device_property,
                        records: &tenant.devices,
                    },
                ),
                _ => error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Request_BadRequest",
                    "Specified HTTP method is not allowed for the request target.",
                    ctx.ids,
                ),
            }
        }
        ["v1.0", users] if users.eq_ignore_ascii_case("users") => match *ctx.method {
            Method::GET if tenant.can_read_users => list(
                ctx,
                tenant,
                &Collection {
                    path: "users",
                    type_name: "microsoft.graph.user",
                    properties: USER_PROPERTIES,
                    default_select: DEFAULT_SELECT,
                    filterable: FILTERABLE,
                    property,
                    records: &tenant.users,
                },
            ),
            Method::GET => forbidden(ctx),
            Method::POST => error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
                ctx.ids,
            ),
            _ => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
                ctx.ids,
            ),
        },
        [version, ..] if *version != "v1.0" && *version != "beta" => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Invalid version: {version}"),
            ctx.ids,
        ),
        [_, segment, ..] => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{segment}'."),
            ctx.ids,
        ),
        _ => error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid request.",
            ctx.ids,
        ),
    }
}

fn forbidden(ctx: &Ctx<'_>) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        ctx.ids,
    )
}

/// How a clause compares a property with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    /// `endsWith(<prop>,'<text>')`, strings only.
    EndsWith,
}

/// One `<prop> eq|ne <value>` or `endsWith(<prop>,'<text>')` clause, possibly inside
/// `not(...)`.
struct Clause {
    property: &'static str,
    op: Op,
    value: Value,
    negated: bool,
}

impl Clause {
    /// Whether Graph counts it as an advanced query (`ne`, `not`, `endsWith`), which needs
    /// `ConsistencyLevel: eventual` and `$count=true`.
    fn advanced(&self) -> bool {
        self.negated || self.op != Op::Eq
    }
}

fn parse_filter(filter: &str, filterable: &[(&'static str, bool)]) -> Option<Vec<Clause>> {
    let clauses = split_and(filter)
        .iter()
        .map(|part| parse_clause(part.trim(), filterable))
        .collect::<Option<Vec<_>>>()?;
    (!clauses.is_empty()).then_some(clauses)
}

/// `s` without the case-insensitive `prefix`.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn parse_clause(part: &str, filterable: &[(&'static str, bool)]) -> Option<Clause> {
    if let Some(inner) = strip_prefix_ci(part, "not")
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('(')?.strip_suffix(')'))
    {
        let clause = parse_clause(inner.trim(), filterable)?;
        return (!clause.negated).then_some(Clause {
            negated: true,
            ..clause
        });
    }
    let find = |name: &str| {
        filterable
            .iter()
            .find(|(p, _)| p.eq_ignore_ascii_case(name))
    };
    if let Some(args) = strip_prefix_ci(part, "endsWith(").and_then(|rest| rest.strip_suffix(')')) {
        let (name, literal) = args.split_once(',')?;
        let (property, boolean) = find(name.trim())?;
        if *boolean {
            return None;
        }
        return Some(Clause {
            property,
            op: Op::EndsWith,
            value: parse_literal(literal.trim(), false)?,
            negated: false,
        });
    }
    let (name, rest) = part.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let op = match rest.get(..2)? {
        o if o.eq_ignore_ascii_case("eq") => Op::Eq,
        o if o.eq_ignore_ascii_case("ne") => Op::Ne,
        _ => return None,
    };
    let literal = rest.get(2..)?;
    if !literal.starts_with(char::is_whitespace) {
        return None;
    }
    let (property, boolean) = find(name)?;
    Some(Clause {
        property,
        op,
        value: parse_literal(literal.trim(), *boolean)?,
        negated: false,
    })
}

/// `true`/`false` for a boolean property, else a quoted string (a quote inside is written
/// twice).
fn parse_literal(literal: &str, boolean: bool) -> Option<Value> {
    if boolean {
        return match literal {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        };
    }
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut text = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        text.push(c);
    }
    Some(Value::String(text))
}

/// Splits on ` and ` (any case) outside quoted strings.
fn split_and(filter: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let chars: Vec<char> = filter.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            quoted = !quoted;
        }
        if !quoted && c == ' ' && i + 5 <= chars.len() {
            let word: String = chars[i..i + 5].iter().collect();
            if word.eq_ignore_ascii_case(" and ") {
                parts.push(std::mem::take(&mut current));
                i += 5;
                continue;
            }
        }
        current.push(c);
        i += 1;
    }
    parts.push(current);
    parts
}

fn matches<T>(record: &T, property: fn(&T, &str) -> Value, clauses: &[Clause]) -> bool {
    clauses.iter().all(|clause| {
        let have = property(record, clause.property);
        let hit = match (clause.op, &have, &clause.value) {
            (Op::EndsWith, Value::String(have), Value::String(want)) => have
                .to_ascii_lowercase()
                .ends_with(&want.to_ascii_lowercase()),
            (Op::EndsWith, ..) => false,
            (op, Value::String(have), Value::String(want)) => {
                have.eq_ignore_ascii_case(want) == (op == Op::Eq)
            }
            (op, have, want) => (have == want) == (op == Op::Eq),
        };
        hit != clause.negated
    })
}

/// One Graph property of a user (`null` for properties the simulator does not model).
fn property(user: &EntraUser, name: &str) -> Value {
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
    match name {
        "id" => Value::String(user.id.clone()),
        "displayName" => Value::String(user.display_name.clone()),
        "givenName" => text(&user.given_name),
        "surname" => text(&user.surname),
        "mail" => text(&user.mail),
        "userPrincipalName" => Value::String(user.user_principal_name.clone()),
        "accountEnabled" => Value::Bool(user.account_enabled),
        "jobTitle" => text(&user.job_title),
        "businessPhones" => json!(user.business_phones),
        "mobilePhone" => text(&user.mobile_phone),
        "department" => text(&user.department),
        "userType" => Value::String(user.user_type.clone()),
        "officeLocation" => text(&user.office_location),
        "city" => text(&user.city),
        "country" => text(&user.country),
        "companyName" => text(&user.company_name),
        "employeeId" => text(&user.employee_id),
        _ => Value::Null,
    }
}

/// One Graph property of a managed device.
fn device_property(device: &ManagedDevice, name: &str) -> Value {
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
    match name {
        "id" => Value::String(device.id.clone()),
        "deviceName" => Value::String(device.device_name.clone()),
        "serialNumber" => text(&device.serial_number),
        "manufacturer" => text(&device.manufacturer),
        "model" => text(&device.model),
        "operatingSystem" => Value::String(device.operating_system.clone()),
        "osVersion" => Value::String(device.os_version.clone()),
        "userPrincipalName" => text(&device.user_principal_name),
        "emailAddress" => text(&device.email_address),
        "azureADDeviceId" => text(&device.azure_ad_device_id),
        "lastSyncDateTime" => Value::String(device.last_sync_date_time.clone()),
        "complianceState" => Value::String(device.compliance_state.clone()),
        "imei" => text(&device.imei),
        "phoneNumber" => text(&device.phone_number),
        _ => Value::Null,
    }
}

/// FNV-1a, for binding skip tokens to a tenant and query.
fn fnv(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

const SKIP_MASK: u64 = 0x5A17_C0DE_D15E_A5E5;
const SKIP_PREFIX: &str = "RFNwdAIAAQAAAC";

fn encode_skiptoken(offset: usize, binding: &[&str]) -> String {
    let offset = offset as u64;
    let check = fnv(binding) ^ offset.rotate_left(17);
    format!("{SKIP_PREFIX}{:016x}{:016x}", offset ^ SKIP_MASK, check)
}

fn decode_skiptoken(token: &str, binding: &[&str]) -> Option<usize> {
    let hex = token.strip_prefix(SKIP_PREFIX)?;
    if hex.len() != 32 {
        return None;
    }
    let offset = u64::from_str_radix(hex.get(..16)?, 16).ok()? ^ SKIP_MASK;
    let check = u64::from_str_radix(hex.get(16..)?, 16).ok()?;
    (check == fnv(binding) ^ offset.rotate_left(17)).then_some(usize::try_from(offset).ok()?)
}

/// Percent-encodes a query value the way Graph writes its next links.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~,'$".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET` of a collection: `$select`, `$top`, `$filter`, `$count`, `$skiptoken` paging. An
/// advanced filter (`ne`, `not(...)`, `endsWith(...)`) needs `ConsistencyLevel: eventual`
/// and `$count=true`, else 400 `Request_UnsupportedQuery`.
fn list<T>(ctx: &Ctx<'_>, tenant: &EntraTenant, c: &Collection<'_, T>) -> Response {
    let bad = |code: &str, message: String| error(StatusCode::BAD_REQUEST, code, &message, ctx.ids);
    for (key, _) in &ctx.query {
        let known = ["$select", "$top", "$filter", "$skiptoken", "$count"];
        if key.starts_with('$') && !known.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return bad(
                "Request_UnsupportedQuery",
                format!("Query option '{key}' is not supported for this request."),
            );
        }
    }
    let select_raw = ctx.param("$select").filter(|s| !s.trim().is_empty());
    let select: Vec<&'static str> = match select_raw {
        None => c.default_select.to_vec(),
        Some(raw) => {
            let mut selected = vec!["id"];
            for name in raw.split(',').map(str::trim) {
                let Some(property) = c.properties.iter().find(|p| p.eq_ignore_ascii_case(name))
                else {
                    return bad(
                        "Request_BadRequest",
                        format!(
                            "Parsing OData Select and Expand failed: Could not find a property named '{name}' on type '{}'.",
                            c.type_name
                        ),
                    );
                };
                if !selected.contains(property) {
                    selected.push(property);
                }
            }
            selected
        }
    };
    let top_raw = ctx.param("$top");
    let top = match top_raw {
        None => DEFAULT_TOP,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=ctx.opts.graph_page_cap).contains(&n) => n,
            _ => {
                return bad(
                    "Request_BadRequest",
                    format!(
                        "Invalid page size specified: '{raw}'. Must be between 1 and {} inclusive.",
                        ctx.opts.graph_page_cap
                    ),
                );
            }
        },
    };
    let filter_raw = ctx.param("$filter");
    let clauses = match filter_raw {
        None => Vec::new(),
        Some(raw) => match parse_filter(raw, c.filterable) {
            Some(clauses) => clauses,
            None => {
                return bad(
                    "Request_UnsupportedQuery",
                    format!("Unsupported or invalid query filter clause specified: '{raw}'."),
                );
            }
        },
    };
    let count_raw = ctx.param("$count");
    let count = match count_raw.map(str::trim) {
        None => false,
        Some(raw) if raw.eq_ignore_ascii_case("true") => true,
        Some(raw) if raw.eq_ignore_ascii_case("false") => false,
        Some(raw) => {
            return bad(
                "Request_BadRequest",
                format!("Invalid value '{raw}' for query option '$count'."),
            );
        }
    };
    let eventual = ctx
        .headers
        .get("ConsistencyLevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
    if clauses.iter().any(Clause::advanced) && !(count && eventual) {
        return bad("Request_UnsupportedQuery", "Unsupported query.".to_string());
    }
    let binding = [
        tenant.id.as_str(),
        c.path,
        select_raw.unwrap_or(""),
        filter_raw.unwrap_or(""),
    ];
    let offset = match ctx.param("$skiptoken") {
        None => 0,
        Some(token) => match decode_skiptoken(token, &binding) {
            Some(offset) => offset,
            None => {
                return bad(
                    "Directory_ExpiredPageToken",
                    "The specified page token value has expired or is invalid.".to_string(),
                );
            }
        },
    };
    let matching: Vec<&T> = c
        .records
        .iter()
        .filter(|r| matches(*r, c.property, &clauses))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(top)
        .map(|record| {
            let mut out = Map::new();
            for name in &select {
                out.insert((*name).to_string(), (c.property)(record, name));
            }
            Value::Object(out)
        })
        .collect();
    let context = match select_raw {
        None => format!("{}/graph/v1.0/$metadata#{}", ctx.base, c.path),
        Some(_) => format!(
            "{}/graph/v1.0/$metadata#{}({})",
            ctx.base,
            c.path,
            select[1..].join(",")
        ),
    };
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    if count && offset == 0 {
        body.insert("@odata.count".into(), Value::from(matching.len()));
    }
    let next = offset.saturating_add(top);
    if next < matching.len() {
        let mut query = Vec::new();
        if let Some(raw) = select_raw {
            query.push(format!("$select={}", encode(raw)));
        }
        if let Some(raw) = filter_raw {
            query.push(format!("$filter={}", encode(raw)));
        }
        if let Some(raw) = top_raw {
            query.push(format!("$top={}", encode(raw)));
        }
        if let Some(raw) = count_raw {
            query.push(format!("$count={}", encode(raw)));
        }
        query.push(format!("$skiptoken={}", encode_skiptoken(next, &binding)));
        body.insert(
            "@odata.nextLink".into(),
            Value::String(format!(
                "{}/graph/v1.0/{}?{}",
                ctx.base,
                c.path,
                query.join("&")
            )),
        );
    }
    body.insert("value".into(), Value::Array(page));
    let mut response = json_response(StatusCode::OK, &Value::Object(body));
    if let Ok(value) =
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
            .parse()
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
