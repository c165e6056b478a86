//! Microsoft Graph client (read-only): one token per tenant (client secret or workload
//! identity), `$select`ed user and managed-device reads at the largest page size, `@odata.nextLink` followed
//! verbatim (same origin only: the bearer token never leaves Graph), advanced user filters
//! sent with `ConsistencyLevel: eventual` and `$count=true`, Graph's error envelope turned
//! into errors carrying code and request id (a tenant's setup told apart from failures).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use url::Url;

use crate::config::{EntraConfig, EntraCredential, Secret, join};
use crate::http::{Body, ErrorDetail, HttpClient, HttpError, Request};
use crate::token::{AccessToken, TokenCache, TokenResponse};

/// Graph's largest page for users and devices.
const PAGE_SIZE: &str = "999";
/// A safety stop for a `nextLink` chain that never ends.
const MAX_PAGES: usize = 100_000;

/// The user properties the integrator reads (`accountEnabled` and `userType` only come
/// back when selected).
const USER_SELECT: &str = "id,displayName,givenName,surname,mail,userPrincipalName,accountEnabled,userType,jobTitle,businessPhones,mobilePhone,department";

/// The managed-device properties the `intune-devices` import reads.
const DEVICE_SELECT: &str = "id,deviceName,serialNumber,manufacturer,model,operatingSystem,osVersion,userPrincipalName,emailAddress,azureADDeviceId,lastSyncDateTime,complianceState";

const DEVICES_ROUTE: &str = "/v1.0/deviceManagement/managedDevices";

/// A collection as read: its route template (for metrics and errors) and the headers
/// every one of its pages is sent with.
#[derive(Clone, Copy)]
struct Route {
    template: &'static str,
    headers: &'static [(&'static str, &'static str)],
}

const USERS: Route = Route {
    template: "/v1.0/users",
    headers: &[],
};

/// Users read with an advanced `$filter` ([`needs_advanced_query`]): Graph wants this
/// header, and `$count=true` in the query, on every page.
const USERS_ADVANCED: Route = Route {
    headers: &[("ConsistencyLevel", "eventual")],
    ..USERS
};

const DEVICES: Route = Route {
    template: DEVICES_ROUTE,
    headers: &[],
};

/// An Intune managed device (`/deviceManagement/managedDevices`): the properties the import
/// maps itself, typed, and those the mapping file adds to the `$select` ([`Graph::devices`]),
/// as sent.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GraphDevice {
    pub id: String,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub operating_system: Option<String>,
    #[serde(default)]
    pub os_version: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub last_sync_date_time: Option<String>,
    /// The other selected properties the mapping file reads (only those: see
    /// [`Graph::devices`]), as sent; empty when it reads none.
    #[serde(skip)]
    pub other: Map<String, Value>,
}

impl GraphDevice {
    /// A property by its Graph name (case-insensitive), as text: what a mapping file's
    /// rules and field mappings read.
    pub fn property(&self, name: &str) -> Option<String> {
        let typed = match name.to_ascii_lowercase().as_str() {
            "id" => Some(self.id.as_str()),
            "devicename" => self.device_name.as_deref(),
            "serialnumber" => self.serial_number.as_deref(),
            "manufacturer" => self.manufacturer.as_deref(),
            "model" => self.model.as_deref(),
            "operatingsystem" => self.operating_system.as_deref(),
            "osversion" => self.os_version.as_deref(),
            "userprincipalname" => self.user_principal_name.as_deref(),
            "emailaddress" => self.email_address.as_deref(),
            "lastsyncdatetime" => self.last_sync_date_time.as_deref(),
            _ => return property_text(&self.other, name),
        };
        typed
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub business_phones: Vec<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// The other selected properties (those a mapping file reads), as sent; empty when it
    /// reads none.
    #[serde(skip)]
    pub other: Map<String, Value>,
}

/// A record with the properties its type does not name, for a read that selects extra
/// properties (a mapping file's). Only then: a flattened map makes serde buffer every
/// record before typing it, which costs a 100k-user read a noticeable share of its CPU.
#[derive(Deserialize)]
struct WithOther<T> {
    #[serde(flatten)]
    record: T,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// A Graph record type with room for the properties it does not name.
trait HasOther {
    fn set_other(&mut self, other: Map<String, Value>);
}

impl HasOther for GraphUser {
    fn set_other(&mut self, other: Map<String, Value>) {
        self.other = other;
    }
}

impl HasOther for GraphDevice {
    fn set_other(&mut self, other: Map<String, Value>) {
        self.other = other;
    }
}

impl GraphUser {
    /// A property by its Graph name (case-insensitive), as text: what a mapping file's
    /// rules and field mappings read.
    pub fn property(&self, name: &str) -> Option<String> {
        let typed = match name.to_ascii_lowercase().as_str() {
            "id" => Some(self.id.clone()),
            "displayname" => self.display_name.clone(),
            "givenname" => self.given_name.clone(),
            "surname" => self.surname.clone(),
            "mail" => self.mail.clone(),
            "userprincipalname" => self.user_principal_name.clone(),
            "accountenabled" => self.account_enabled.map(|b| b.to_string()),
            "usertype" => self.user_type.clone(),
            "jobtitle" => self.job_title.clone(),
            "businessphones" => self.business_phones.first().cloned(),
            "mobilephone" => self.mobile_phone.clone(),
            _ => return property_text(&self.other, name),
        };
        typed
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<Option<String>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The app's own credentials were refused (`invalid_client`): wrong for every tenant.
    #[error(
        "Entra rejected the application credentials for tenant {tenant} ({code}): {description}; \
         check ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET / workload identity"
    )]
    Credentials {
        tenant: String,
        code: String,
        description: String,
    },
    /// This tenant cannot be read: unknown tenant, no admin consent, missing permission,
    /// no Intune licence (for devices).
    #[error("tenant {tenant}: {what} (HTTP {status} {code}{rid}): {description}",
        rid = request_id.as_deref().map(|r| format!(", request-id {r}")).unwrap_or_default())]
    Tenant {
        tenant: String,
        what: &'static str,
        status: u16,
        code: String,
        description: String,
        request_id: Option<String>,
    },
    #[error("cannot read the workload identity token file {path}: {message}")]
    FederatedToken { path: String, message: String },
    #[error("tenant {tenant}: {source}")]
    Http { tenant: String, source: HttpError },
    #[error("tenant {tenant}: Graph paging went wrong: {message}")]
    Paging { tenant: String, message: String },
}

impl GraphError {
    /// Whether the configuration is wrong for every tenant (exit 2).
    pub fn is_credentials(&self) -> bool {
        matches!(
            self,
            GraphError::Credentials { .. } | GraphError::FederatedToken { .. }
        )
    }

    /// Whether it concerns only this tenant's setup (consent, permissions, licence):
    /// retrying the job will not help, but other tenants are fine.
    pub fn is_tenant_setup(&self) -> bool {
        matches!(self, GraphError::Tenant { .. })
    }
}

/// A `$select` list: `base`, then each of `also` it does not name yet (Graph's property
/// names are compared case-insensitively here, and sent as written).
pub fn select(base: &str, also: &[String]) -> String {
    let mut list = base.to_string();
    for name in also {
        let known = list.split(',').any(|p| p.eq_ignore_ascii_case(name));
        if !known {
            list.push(',');
            list.push_str(name);
        }
    }
    list
}

/// The text of a property of a Graph record by name (case-insensitive): a string, a number
/// or a boolean as text, the first of a list; `None` when absent, null or blank.
pub fn property_text(record: &Map<String, Value>, name: &str) -> Option<String> {
    let value = record
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)?;
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => {
            return items.first().and_then(|first| {
                property_text(&Map::from_iter([(name.to_string(), first.clone())]), name)
            });
        }
        _ => return None,
    };
    Some(text).filter(|t| !t.is_empty())
}

/// The first page of users, and how to read every page (an advanced `$filter` adds
/// `$count=true` here and `ConsistencyLevel: eventual` to every request).
fn users_query(graph_url: &Url, filter: Option<&str>, also: &[String], top: &str) -> (Url, Route) {
    let mut url = join(graph_url, "v1.0/users");
    url.query_pairs_mut()
        .append_pair("$select", &select(USER_SELECT, also))
        .append_pair("$top", top);
    let Some(filter) = filter else {
        return (url, USERS);
    };
    url.query_pairs_mut().append_pair("$filter", filter);
    if !needs_advanced_query(filter) {
        return (url, USERS);
    }
    url.query_pairs_mut().append_pair("$count", "true");
    (url, USERS_ADVANCED)
}

/// Whether a users `$filter` is what Graph calls an advanced query: it uses `ne`, `not`,
/// `endsWith` or `$count` (as operator or function words, in any case, outside quoted
/// string literals). Those need `ConsistencyLevel: eventual` and `$count=true`.
fn needs_advanced_query(filter: &str) -> bool {
    const ADVANCED: [&str; 4] = ["ne", "not", "endswith", "$count"];
    let mut quoted = false;
    filter
        .split(|c: char| {
            // A quote toggles; inside `'...'` (a doubled quote toggles twice) every
            // character separates, so no word of a literal survives.
            if c == '\'' {
                quoted = !quoted;
                return true;
            }
            quoted || !(c.is_ascii_alphanumeric() || c == '$' || c == '_')
        })
        .any(|word| ADVANCED.iter().any(|a| word.eq_ignore_ascii_case(a)))
}

/// Turns a failed Graph read into an error: what only this tenant's setup explains
/// ([`tenant_setup`]) is [`GraphError::Tenant`], anything else a failed request.
fn classify(tenant: &str, route: &str, e: HttpError) -> GraphError {
    let setup = match &e {
        HttpError::Status { status, detail, .. } => tenant_setup(*status, route, detail),
        _ => None,
    };
    match (setup, e) {
        (
            Some(what),
            HttpError::Status {
                status,
                detail,
                request_id,
                ..
            },
        ) => GraphError::Tenant {
            tenant: tenant.to_string(),
            what,
            status,
            code: detail.code.unwrap_or_default(),
            description: detail.message,
            request_id,
        },
        (_, source) => GraphError::Http {
            tenant: tenant.to_string(),
            source,
        },
    }
}

/// Why a Graph answer is a fact of the tenant's setup, if it is: a missing permission
/// (403), or on the Intune route a tenant without an Intune licence (400 "Request not
/// applicable to target tenant.", recognised by Graph's message in any case).
fn tenant_setup(status: u16, route: &str, detail: &ErrorDetail) -> Option<&'static str> {
    match status {
        403 => Some("permission missing (grant admin consent for the app's Graph permissions)"),
        400 if route == DEVICES_ROUTE
            && detail
                .message
                .to_ascii_lowercase()
                .contains("not applicable to target tenant") =>
        {
            Some("no Intune licence, so intune-devices does not apply to this tenant")
        }
        _ => None,
    }
}

/// What a paged read returned: the records, and the error that stopped it early (then
/// the records are a partial list, never evidence that anything is gone).
pub struct Read<T> {
    pub items: Vec<T>,
    /// How many records Graph sent, before mapping dropped any (out of scope, no id).
    pub received: usize,
    pub error: Option<GraphError>,
}

pub struct Graph {
    http: HttpClient,
    cfg: EntraConfig,
    tokens: Mutex<HashMap<String, Arc<TokenCache>>>,
}

impl Graph {
    pub fn new(http: HttpClient, cfg: EntraConfig) -> Self {
        Graph {
            http,
            cfg,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self, tenant: &str) -> Arc<TokenCache> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.entry(tenant.to_string()).or_default().clone()
    }

    async fn access_token(&self, tenant: &str) -> Result<Secret, GraphError> {
        self.cache(tenant)
            .get(async || self.fetch_token(tenant).await)
            .await
    }

    async fn fetch_token(&self, tenant: &str) -> Result<AccessToken, GraphError> {
        let url = join(
            &self.cfg.authority_host,
            &format!("{tenant}/oauth2/v2.0/token"),
        );
        let scope = format!(
            "{}/.default",
            self.cfg.graph_url.as_str().trim_end_matches('/')
        );
        let assertion;
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.cfg.client_id.as_str()),
            ("scope", scope.as_str()),
        ];
        match &self.cfg.credential {
            EntraCredential::Secret(secret) => form.push(("client_secret", secret.expose())),
            EntraCredential::FederatedTokenFile(path) => {
                // Re-read on every token request: the kubelet rotates the file.
                assertion = std::fs::read_to_string(path)
                    .map(|s| Secret::new(s.trim()))
                    .map_err(|e| GraphError::FederatedToken {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
                form.push(("client_assertion", assertion.expose()));
            }
        }
        let req = Request::post(url, "/{tenant}/oauth2/v2.0/token", Body::Form(&form), true);
        let resp = self.http.send(req).await.map_err(|e| match e {
            HttpError::Status {
                status,
                detail,
                request_id,
                ..
            } if (400..500).contains(&status) => {
                let code = detail.code.unwrap_or_default();
                if code == "invalid_client" {
                    GraphError::Credentials {
                        tenant: tenant.to_string(),
                        code,
                        description: detail.message,
                    }
                } else {
                    GraphError::Tenant {
                        tenant: tenant.to_string(),
                        what: "cannot get a token (is the app consented in this tenant?)",
                        status,
                        code,
                        description: detail.message,
                        request_id,
                    }
                }
            }
            other => GraphError::Http {
                tenant: tenant.to_string(),
                source: other,
            },
        })?;
        let token = resp.json::<TokenResponse>().map_err(|e| GraphError::Http {
            tenant: tenant.to_string(),
            source: e,
        })?;
        Ok(token.into_token())
    }

    /// GET with the tenant's token; a 401 gets a new token and one more try.
    async fn get(
        &self,
        tenant: &str,
        url: &Url,
        route: Route,
    ) -> Result<crate::http::Response, GraphError> {
        let request = |token| {
            Request::get(url.clone(), route.template)
                .bearer(token)
                .headers(route.headers)
        };
        let token = self.access_token(tenant).await?;
        let first = self.http.send(request(&token)).await;
        let result = match first {
            Err(e) if e.status() == Some(401) => {
                self.cache(tenant).invalidate(&token).await;
                let token = self.access_token(tenant).await?;
                self.http.send(request(&token)).await
            }
            other => other,
        };
        result.map_err(|e| classify(tenant, route.template, e))
    }

    /// Reads every page of a collection starting at `url`, mapping each record as its page
    /// arrives (`None` drops it): only the mapped records are kept, never a whole read of
    /// raw ones.
    /// [`Graph::collect`] of records that keep, besides their typed properties, those of
    /// `also` (the properties a mapping file reads; none = no map at all).
    async fn collect_also<T: DeserializeOwned + HasOther, U>(
        &self,
        tenant: &str,
        url: Url,
        route: Route,
        max_items: Option<usize>,
        also: &[String],
        mut map: impl FnMut(T) -> Option<U>,
    ) -> Read<U> {
        if also.is_empty() {
            return self.collect(tenant, url, route, max_items, map).await;
        }
        let keep = |w: WithOther<T>| {
            let WithOther {
                mut record,
                mut other,
            } = w;
            other.retain(|key, _| also.iter().any(|a| a.eq_ignore_ascii_case(key)));
            record.set_other(other);
            map(record)
        };
        self.collect(tenant, url, route, max_items, keep).await
    }

    async fn collect<T: DeserializeOwned, U>(
        &self,
        tenant: &str,
        url: Url,
        route: Route,
        max_items: Option<usize>,
        map: impl FnMut(T) -> Option<U>,
    ) -> Read<U> {
        let mut items = Vec::new();
        let mut received = 0;
        let error = self
            .collect_into(
                tenant,
                url,
                route,
                max_items,
                map,
                &mut items,
                &mut received,
            )
            .await
            .err();
        // Read without a count, so grown by doubling: up to half of it would be slack.
        items.shrink_to_fit();
        Read {
            items,
            received,
            error,
        }
    }

    /// Appends every page, mapped, to `items`; what was read before an error stays there.
    #[allow(clippy::too_many_arguments)]
    async fn collect_into<T: DeserializeOwned, U>(
        &self,
        tenant: &str,
        url: Url,
        route: Route,
        max_items: Option<usize>,
        mut map: impl FnMut(T) -> Option<U>,
        items: &mut Vec<U>,
        received: &mut usize,
    ) -> Result<(), GraphError> {
        #[derive(Deserialize)]
        struct Page<T> {
            value: Vec<T>,
            #[serde(rename = "@odata.nextLink")]
            next_link: Option<String>,
        }
        let mut seen_links = HashSet::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if seen_links.len() >= MAX_PAGES {
                return Err(self.paging_error(tenant, format!("more than {MAX_PAGES} pages")));
            }
            let page: Page<T> =
                self.get(tenant, &url, route)
                    .await?
                    .json()
                    .map_err(|e| GraphError::Http {
                        tenant: tenant.to_string(),
                        source: e,
                    })?;
            *received += page.value.len();
            items.extend(page.value.into_iter().filter_map(&mut map));
            if max_items.is_some_and(|m| *received >= m) {
                break;
            }
            if let Some(link) = page.next_link {
                let link = self
                    .check_next_link(&link)
                    .map_err(|message| self.paging_error(tenant, message))?;
                if !seen_links.insert(link.to_string()) {
                    return Err(
                        self.paging_error(tenant, "@odata.nextLink repeats an earlier page".into())
                    );
                }
                next = Some(link);
            }
        }
        Ok(())
    }

    fn paging_error(&self, tenant: &str, message: String) -> GraphError {
        GraphError::Paging {
            tenant: tenant.to_string(),
            message,
        }
    }

    /// A `nextLink` is followed verbatim, but only to the configured Graph origin.
    fn check_next_link(&self, link: &str) -> Result<Url, String> {
        let url = Url::parse(link).map_err(|e| format!("@odata.nextLink is not a URL ({e})"))?;
        if url.origin() != self.cfg.graph_url.origin() {
            return Err(format!(
                "@odata.nextLink points to {}, not to GRAPH_URL; not sending the token there",
                url.origin().ascii_serialization()
            ));
        }
        Ok(url)
    }

    /// Every user of `tenant` (optionally narrowed by an OData `$filter`), each mapped by
    /// `map` as its page arrives (`None` drops it).
    pub async fn users<U>(
        &self,
        tenant: &str,
        filter: Option<&str>,
        also: &[String],
        map: impl FnMut(GraphUser) -> Option<U>,
    ) -> Read<U> {
        let (url, route) = users_query(&self.cfg.graph_url, filter, also, PAGE_SIZE);
        self.collect_also(tenant, url, route, None, also, map).await
    }

    /// The first page of devices: [`DEVICE_SELECT`] and the `extra` properties it does not
    /// have (compared case-insensitively), as written.
    fn devices_url(&self, top: &str, extra: &[String]) -> Url {
        let mut url = join(&self.cfg.graph_url, "v1.0/deviceManagement/managedDevices");
        url.query_pairs_mut()
            .append_pair("$select", &select(DEVICE_SELECT, extra))
            .append_pair("$top", top);
        url
    }

    /// Every Intune managed device of `tenant` (needs `DeviceManagementManagedDevices.Read.All`),
    /// each mapped by `map` as its page arrives (`None` drops it). `extra` are more
    /// properties to select (the mapping file's, spelled as written there: Graph's
    /// `$select` is case-sensitive); a device's [`GraphDevice::other`] keeps only those.
    pub async fn devices<U>(
        &self,
        tenant: &str,
        extra: &[String],
        map: impl FnMut(GraphDevice) -> Option<U>,
    ) -> Read<U> {
        let url = self.devices_url(PAGE_SIZE, extra);
        self.collect_also(tenant, url, DEVICES, None, extra, map)
            .await
    }

    /// Gets a token for `tenant` and reads one managed device with the `extra` properties
    /// (for `check`: Graph refuses a `$select` of a property it does not have).
    pub async fn probe_devices(&self, tenant: &str, extra: &[String]) -> Result<usize, GraphError> {
        let url = self.devices_url("1", extra);
        let read = self
            .collect::<GraphDevice, _>(tenant, url, DEVICES, Some(1), Some)
            .await;
        match read.error {
            Some(e) => Err(e),
            None => Ok(read.items.len()),
        }
    }

    /// Gets a token for `tenant` and reads one user with the properties `also` (for
    /// `check`).
    pub async fn probe_users(
        &self,
        tenant: &str,
        filter: Option<&str>,
        also: &[String],
    ) -> Result<usize, GraphError> {
        let (url, route) = users_query(&self.cfg.graph_url, filter, also, "1");
        let read = self
            .collect::<GraphUser, _>(tenant, url, route, Some(1), Some)
            .await;
        match read.error {
            Some(e) => Err(e),
            None => Ok(read.items.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, body: &str) -> HttpError {
        let detail = crate::http::parse_error(body.as_bytes());
        HttpError::Status {
            api: "graph",
            method: reqwest::Method::GET,
            route: DEVICES_ROUTE.into(),
            status,
            request_id: detail.request_id.clone(),
            detail: Box::new(detail),
            attempts: 1,
        }
    }

    #[test]
    fn advanced_query_operators_are_detected_outside_string_literals() {
        for (filter, advanced) in [
            ("department eq 'Sales'", false),
            ("department ne 'Sales'", true),
            ("department NE 'Sales'", true),
            ("not(department eq 'Sales')", true),
            ("NOT (department eq 'Sales')", true),
            ("endsWith(mail,'@contoso.com')", true),
            ("assignedLicenses/$count eq 0", true),
            ("displayName eq 'Jane ne Doe'", false),
            ("displayName eq 'not(x)' and jobTitle eq 'endsWith('", false),
            ("displayName eq 'O''ne' and department eq 'IT'", false),
            ("displayName eq 'O''Neil' and department ne 'IT'", true),
            ("startsWith(displayName,'Ne')", false),
            ("department eq 'Sales' and accountEnabled eq true", false),
            ("notes eq 'x' and network eq 'y'", false),
        ] {
            assert_eq!(needs_advanced_query(filter), advanced, "{filter}");
        }
    }

    #[test]
    fn an_advanced_filter_asks_for_the_count_and_sends_the_header() {
        let graph = Url::parse("https://graph.microsoft.com/").unwrap();
        let query = |filter| {
            let (url, route) = users_query(&graph, filter, &[], "999");
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            let count = pairs.iter().any(|(k, v)| k == "$count" && v == "true");
            (count, route.headers)
        };
        assert_eq!(
            query(Some("department ne 'Sales'")),
            (true, &[("ConsistencyLevel", "eventual")][..])
        );
        assert_eq!(query(Some("department eq 'Sales'")), (false, &[][..]));
        assert_eq!(query(None), (false, &[][..]));
    }

    #[test]
    fn a_tenant_without_intune_licence_is_its_setup_not_a_failure() {
        let body = r#"{"error":{"code":"BadRequest","message":"Request not applicable to target tenant.","innerError":{"request-id":"r-42","date":"2026-01-01T00:00:00"}}}"#;
        let e = classify("t-1", DEVICES_ROUTE, status(400, body));
        assert!(e.is_tenant_setup(), "{e}");
        let text = e.to_string();
        for part in [
            "t-1",
            "no Intune licence",
            "request-id r-42",
            "HTTP 400 BadRequest",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        // Graph's wording, in any case; not a 400 of another kind or on another route.
        let shouting = body.replace("Request not applicable", "REQUEST NOT APPLICABLE");
        assert!(classify("t", DEVICES_ROUTE, status(400, &shouting)).is_tenant_setup());
        let other = r#"{"error":{"code":"BadRequest","message":"Invalid filter clause"}}"#;
        assert!(!classify("t", DEVICES_ROUTE, status(400, other)).is_tenant_setup());
        assert!(!classify("t", "/v1.0/users", status(400, body)).is_tenant_setup());
        assert!(!classify("t", DEVICES_ROUTE, status(500, body)).is_tenant_setup());
        let denied = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#;
        let e = classify("t", "/v1.0/users", status(403, denied));
        assert!(e.is_tenant_setup() && e.to_string().contains("permission missing"));
    }
}
