//! HaloPSA API client: client-credentials authentication (hosted `?tenant=`), token
//! refresh, paged reads that survive silent page-size caps, and batched array writes.
//!
//! All requests go through [`crate::http`], which applies the rate limit and retries.

pub mod model;

use std::collections::HashSet;

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::config::{HaloConfig, Secret, join};
use crate::http::{Body, HttpClient, HttpError, Request};
use crate::token::{AccessToken, TokenCache, TokenResponse};

pub use model::{Asset, AssetField, AssetType, Client, CustomFieldValue, Site, Ticket, User};

/// Largest page asked for; servers cap it silently (100 is common) and paging adapts.
const PAGE_SIZE: usize = 1000;
/// Most records reserved up front from a list's `record_count` (a bogus count must not
/// allocate without bound; beyond it the list grows as it is read).
const MAX_RESERVE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HaloError {
    /// The token endpoint refused the application's credentials: retrying cannot help.
    #[error(
        "Halo rejected the API credentials (HTTP {status}{code}){description}; check HALO_CLIENT_ID, \
         HALO_CLIENT_SECRET, HALO_TENANT and HALO_AUTH_URL"
    , code = code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
      description = if description.is_empty() { String::new() } else { format!(": {description}") })]
    Credentials {
        status: u16,
        code: Option<String>,
        description: String,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Halo answered, but the answer cannot be trusted (a read that is not complete).
    #[error("Halo GET {route}: {message}")]
    Inconsistent { route: String, message: String },
    /// Halo ran the SQL report but could not load it (`report.load_error`): the SQL does not
    /// fit this instance's database.
    #[error("Halo could not run the SQL report: {message}")]
    Report { message: String },
}

impl HaloError {
    /// Whether this means the configuration (credentials) is wrong: exit 2.
    pub fn is_credentials(&self) -> bool {
        matches!(self, HaloError::Credentials { .. })
    }

    pub fn outcome_unknown(&self) -> bool {
        matches!(self, HaloError::Http(e) if e.outcome_unknown())
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            HaloError::Http(e) => e.status(),
            HaloError::Credentials { status, .. } => Some(*status),
            HaloError::Inconsistent { .. } | HaloError::Report { .. } => None,
        }
    }
}

/// The answer to a SQL report (`AnalyzerProfile`): its `report` holds the rows, or why they
/// could not be loaded.
#[derive(Deserialize)]
struct ReportAnswer<T> {
    report: Option<LoadedReport<T>>,
}

#[derive(Deserialize)]
struct LoadedReport<T> {
    #[serde(default, deserialize_with = "model::opt_flag")]
    loaded: Option<bool>,
    #[serde(default, deserialize_with = "model::opt_string")]
    load_error: Option<String>,
    rows: Option<Vec<T>>,
}

/// One page of a Halo list (`users`, `clients`, `sites`, `assets`).
#[derive(Deserialize)]
struct Page<T> {
    #[serde(default, deserialize_with = "model::lenient_f64")]
    record_count: Option<f64>,
    #[serde(
        alias = "users",
        alias = "clients",
        alias = "sites",
        alias = "assets",
        alias = "tickets"
    )]
    records: Vec<T>,
}

trait HasId {
    fn id(&self) -> i64;
}
impl HasId for User {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Asset {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Client {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Ticket {
    fn id(&self) -> i64 {
        self.id
    }
}
impl HasId for Site {
    fn id(&self) -> i64 {
        self.id
    }
}

pub struct Halo {
    http: HttpClient,
    cfg: HaloConfig,
    token: TokenCache,
}

impl Halo {
    pub fn new(http: HttpClient, cfg: HaloConfig) -> Self {
        Halo {
            http,
            cfg,
            token: TokenCache::default(),
        }
    }

    /// Gets a token (cached or new): proves the credentials work.
    pub async fn authenticate(&self) -> Result<(), HaloError> {
        self.access_token().await.map(|_| ())
    }

    async fn access_token(&self) -> Result<Secret, HaloError> {
        self.token.get(async || self.fetch_token().await).await
    }

    async fn fetch_token(&self) -> Result<AccessToken, HaloError> {
        let mut url = join(&self.cfg.auth_url, "token");
        if let Some(tenant) = &self.cfg.tenant {
            url.query_pairs_mut().append_pair("tenant", tenant);
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.cfg.client_id.as_str()),
            ("client_secret", self.cfg.client_secret.expose()),
            ("scope", self.cfg.scope.as_str()),
        ];
        let resp = self
            .http
            .send(Request::post(url, "/auth/token", Body::Form(&form), true))
            .await
            .map_err(|e| match e {
                HttpError::Status {
                    status: status @ (400 | 401 | 403),
                    detail,
                    ..
                } => HaloError::Credentials {
                    status,
                    code: detail.code,
                    description: detail.message,
                },
                other => HaloError::Http(other),
            })?;
        tracing::debug!(api = "halo", "obtained an access token");
        Ok(resp.json::<TokenResponse>()?.into_token())
    }

    fn api_url(&self, entity: &str) -> Url {
        join(&self.cfg.api_url, entity)
    }

    /// Sends an API request with a bearer token; on a 401 gets a new token and tries once
    /// more (the token may have been revoked or expired early).
    async fn send(
        &self,
        method: Method,
        url: Url,
        route: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<crate::http::Response, HaloError> {
        let build = |token| {
            let body = body.map_or(Body::Empty, Body::Json);
            Request {
                method: method.clone(),
                url: url.clone(),
                route,
                bearer: None,
                headers: &[],
                body,
                idempotent,
            }
            .bearer(token)
        };
        let token = self.access_token().await?;
        match self.http.send(build(&token)).await {
            Err(e) if e.status() == Some(401) => {
                tracing::info!(api = "halo", "access token rejected; getting a new one");
                self.token.invalidate(&token).await;
                let token = self.access_token().await?;
                Ok(self.http.send(build(&token)).await?)
            }
            other => Ok(other?),
        }
    }

    /// Reads every record of a paged list. Asks for large pages and follows whatever page
    /// size the server really uses; stops on `record_count` or an empty page; fails rather
    /// than return a list it cannot vouch for (a record missing from "current" would be
    /// created again as a duplicate).
    async fn list<T: DeserializeOwned + HasId>(
        &self,
        entity: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<T>, HaloError> {
        self.list_as(entity, filters, |record| record).await
    }

    /// [`Halo::list`], each record mapped by `map` as its page arrives, so that only the
    /// mapped records are kept.
    async fn list_as<T: DeserializeOwned + HasId, U>(
        &self,
        entity: &str,
        filters: &[(&str, String)],
        mut map: impl FnMut(T) -> U,
    ) -> Result<Vec<U>, HaloError> {
        let route = format!("/api/{entity}");
        let mut records: Vec<U> = Vec::new();
        let mut seen = HashSet::new();
        let mut page_size = PAGE_SIZE;
        let mut page_no = 1usize;
        let mut expected: Option<usize> = None;
        loop {
            let mut url = self.api_url(entity);
            url.query_pairs_mut()
                .extend_pairs(filters.iter().map(|(k, v)| (*k, v.as_str())))
                .append_pair("pageinate", "true")
                .append_pair("page_size", &page_size.to_string())
                .append_pair("page_no", &page_no.to_string());
            let resp = self.send(Method::GET, url, &route, None, true).await?;
            let page: Page<T> = resp.json()?;
            let count = page.record_count.map(|c| c.max(0.0) as usize);
            if expected.is_none()
                && let Some(n) = count
            {
                records.reserve(n.min(MAX_RESERVE));
            }
            expected = expected.or(count);
            let got = page.records.len();
            let mut new = 0;
            for record in page.records {
                if seen.insert(record.id()) {
                    records.push(map(record));
                    new += 1;
                }
            }
            if got == 0 {
                break;
            }
            if new == 0 {
                return Err(HaloError::Inconsistent {
                    route,
                    message: format!("page {page_no} repeated records already read; stopping"),
                });
            }
            if expected.is_some_and(|n| records.len() >= n) {
                break;
            }
            if page_no == 1 && got < page_size {
                // The server capped the page size without saying so: page on with its size.
                tracing::debug!(
                    entity,
                    requested = page_size,
                    served = got,
                    "page size capped"
                );
                page_size = got;
                page_no = records.len() / page_size;
            } else if expected.is_none() && got < page_size {
                break;
            }
            page_no += 1;
            let bound = expected.unwrap_or(usize::MAX / 2) / page_size + 2;
            if page_no > bound {
                return Err(HaloError::Inconsistent {
                    route,
                    message: format!("more pages than record_count allows ({bound}); stopping"),
                });
            }
        }
        if let Some(n) = expected.filter(|&n| records.len() < n) {
            return Err(HaloError::Inconsistent {
                route,
                message: format!(
                    "record_count said {n} records but only {} could be read; not trusting a partial list",
                    records.len()
                ),
            });
        }
        Ok(records)
    }

    /// Active clients with their linked Entra tenants: the list carries `azure_tenants` only
    /// with `includeazuretenants=true` (`includedetails` exists only on the single GET).
    pub async fn clients(&self) -> Result<Vec<Client>, HaloError> {
        self.list("Client", &[("includeazuretenants", "true".into())])
            .await
    }

    /// Runs one SQL statement as an ad-hoc report (`POST /api/Report` with
    /// `_loadreportonly`: nothing is saved in Halo) and returns its rows. Needs the API
    /// agent's reporting permission (a 403 otherwise). A read: safe to retry.
    pub async fn report<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, HaloError> {
        let body = serde_json::json!([{"id": 0, "sql": sql, "_loadreportonly": true}]);
        let resp = self
            .send(
                Method::POST,
                self.api_url("Report"),
                "/api/Report",
                Some(&body),
                true,
            )
            .await?;
        // One report object, or a one-element array of it (both are seen). Parsed straight
        // into the rows, never through a JSON tree of a body that may hold 100k rows.
        let answer: ReportAnswer<T> = match resp.body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => resp
                .json::<Vec<ReportAnswer<T>>>()?
                .into_iter()
                .next()
                .ok_or_else(|| resp.unexpected("the SQL report answer is an empty array"))?,
            _ => resp.json()?,
        };
        let report = answer
            .report
            .ok_or_else(|| resp.unexpected("the SQL report answer has no report"))?;
        if let Some(message) = report.load_error {
            return Err(HaloError::Report { message });
        }
        if report.loaded == Some(false) {
            return Err(HaloError::Report {
                message: "the report was not loaded".into(),
            });
        }
        report
            .rows
            .ok_or_else(|| resp.unexpected("the SQL report answer has no rows").into())
    }

    /// Every user of a client, inactive ones included (forgetting them would recreate
    /// deactivated users as duplicates).
    pub async fn users_of_client(&self, client_id: i64) -> Result<Vec<User>, HaloError> {
        self.users_of_client_as(client_id, |user| user).await
    }

    /// [`Halo::users_of_client`], each user mapped by `map` as its page arrives.
    pub async fn users_of_client_as<U>(
        &self,
        client_id: i64,
        map: impl FnMut(User) -> U,
    ) -> Result<Vec<U>, HaloError> {
        self.list_as(
            "Users",
            &[
                ("client_id", client_id.to_string()),
                ("includeinactive", "true".into()),
            ],
            map,
        )
        .await
    }

    /// Every asset of a client, inactive ones included, with their `fields` (which list
    /// responses leave out without `includeassetfields=true`).
    pub async fn assets_of_client(&self, client_id: i64) -> Result<Vec<Asset>, HaloError> {
        self.assets(Some(client_id), |asset| asset).await
    }

    /// [`Halo::assets_of_client`], each asset mapped by `map` as its page arrives.
    pub async fn assets_of_client_as<U>(
        &self,
        client_id: i64,
        map: impl FnMut(Asset) -> U,
    ) -> Result<Vec<U>, HaloError> {
        self.assets(Some(client_id), map).await
    }

    /// Every asset of every client (as [`Halo::assets_of_client`]): one paged read for an
    /// import that spans all clients.
    pub async fn all_assets(&self) -> Result<Vec<Asset>, HaloError> {
        self.assets(None, |asset| asset).await
    }

    async fn assets<U>(
        &self,
        client_id: Option<i64>,
        map: impl FnMut(Asset) -> U,
    ) -> Result<Vec<U>, HaloError> {
        let mut query = vec![
            ("includeinactive", "true".to_string()),
            ("includeassetfields", "true".to_string()),
        ];
        if let Some(id) = client_id {
            query.push(("client_id", id.to_string()));
        }
        self.list_as("Asset", &query, map).await
    }

    /// Completes the child arrays (`fields`, `customfields`) of assets whose list item came
    /// without them (Halo leaves properties out of some list items despite
    /// `includeassetfields=true`) by reading each asset `incomplete` says is missing one,
    /// singly. For imports that will write them: an update built from a record read without
    /// its arrays would wipe the values the integrator does not own (both arrays are
    /// replaced wholesale).
    pub async fn complete_assets<'a>(
        &self,
        assets: impl IntoIterator<Item = &'a mut Asset>,
        incomplete: impl Fn(&Asset) -> bool,
    ) -> Result<(), HaloError> {
        for asset in assets.into_iter().filter(|a| incomplete(a)) {
            let full: Asset = self.record("Asset", asset.id).await?;
            if full.id != asset.id || full.fields.is_none() || full.customfields.is_none() {
                return Err(HaloError::Inconsistent {
                    route: "/api/Asset/{id}".into(),
                    message: format!("asset {} came without its fields", asset.id),
                });
            }
            asset.fields = full.fields;
            asset.customfields = full.customfields;
        }
        Ok(())
    }

    /// Every site of a client, inactive ones included (a name must not match an inactive
    /// site, and must not be taken for unknown either).
    pub async fn sites_of_client(&self, client_id: i64) -> Result<Vec<Site>, HaloError> {
        self.list(
            "Site",
            &[
                ("client_id", client_id.to_string()),
                ("includeinactive", "true".into()),
            ],
        )
        .await
    }

    /// The custom field definitions of an entity (`Users`, `Asset`), as its full model lists
    /// them on any one record (id and name of each); none when the entity has no record.
    pub async fn custom_fields(&self, entity: &str) -> Result<Vec<CustomFieldValue>, HaloError> {
        #[derive(Deserialize)]
        struct Any {
            #[serde(deserialize_with = "model::id")]
            id: i64,
        }
        #[derive(Deserialize)]
        struct Full {
            #[serde(default)]
            customfields: Option<Vec<CustomFieldValue>>,
        }
        let Some(first) = self.first_page::<Any>(entity, &[], 1).await?.pop() else {
            return Ok(Vec::new());
        };
        let full: Full = self.record(entity, first.id).await?;
        Ok(full.customfields.unwrap_or_default())
    }

    /// One record by id, in its full model (`GET /api/{entity}/{id}`).
    pub async fn record<T: DeserializeOwned>(&self, entity: &str, id: i64) -> Result<T, HaloError> {
        let resp = self
            .send(
                Method::GET,
                self.api_url(&format!("{entity}/{id}")),
                &format!("/api/{entity}/{{id}}"),
                None,
                true,
            )
            .await?;
        Ok(resp.json()?)
    }

    /// Every asset type (`/api/AssetType` answers a bare array).
    pub async fn asset_types(&self) -> Result<Vec<AssetType>, HaloError> {
        let resp = self
            .send(
                Method::GET,
                self.api_url("AssetType"),
                "/api/AssetType",
                None,
                true,
            )
            .await?;
        Ok(resp.json()?)
    }

    /// Every open ticket whose summary contains `marker`, of every client (one paged read;
    /// the contract has no filter on `third_party_id*`).
    pub async fn open_tickets(&self, marker: &str) -> Result<Vec<Ticket>, HaloError> {
        self.list(
            "Tickets",
            &[
                ("open_only", "true".into()),
                ("search_summary", marker.to_string()),
            ],
        )
        .await
    }

    /// Reads the first page of clients (for `check`).
    pub async fn probe(&self) -> Result<(), HaloError> {
        self.first_page::<Client>("Client", &[], 1)
            .await
            .map(|_| ())
    }

    /// The first page (at most `size`) of a client's users, inactive ones included (for
    /// `check`: a sample to hold the link report against).
    pub async fn sample_users(&self, client_id: i64, size: usize) -> Result<Vec<User>, HaloError> {
        let filters = [
            ("client_id", client_id.to_string()),
            ("includeinactive", "true".to_string()),
        ];
        self.first_page("Users", &filters, size).await
    }

    async fn first_page<T: DeserializeOwned>(
        &self,
        entity: &str,
        filters: &[(&str, String)],
        size: usize,
    ) -> Result<Vec<T>, HaloError> {
        let mut url = self.api_url(entity);
        url.query_pairs_mut()
            .extend_pairs(filters.iter().map(|(k, v)| (*k, v.as_str())))
            .append_pair("pageinate", "true")
            .append_pair("page_size", &size.to_string())
            .append_pair("page_no", "1");
        let resp = self
            .send(Method::GET, url, &format!("/api/{entity}"), None, true)
            .await?;
        Ok(resp.json::<Page<T>>()?.records)
    }

    /// The asset field ids an asset type has (`GET /api/AssetType/{id}?includedetails=true`:
    /// `fields[].field_id`).
    pub async fn asset_type_fields(&self, type_id: i64) -> Result<Vec<i64>, HaloError> {
        #[derive(Deserialize)]
        struct TypeField {
            #[serde(deserialize_with = "model::id")]
            field_id: i64,
        }
        #[derive(Deserialize)]
        struct Detailed {
            #[serde(default)]
            fields: Option<Vec<TypeField>>,
        }
        let mut url = self.api_url(&format!("AssetType/{type_id}"));
        url.query_pairs_mut().append_pair("includedetails", "true");
        let resp = self
            .send(Method::GET, url, "/api/AssetType/{id}", None, true)
            .await?;
        let detailed: Detailed = resp.json()?;
        let fields = detailed
            .fields
            .ok_or_else(|| resp.unexpected("the asset type came without its fields"))?;
        Ok(fields.into_iter().map(|f| f.field_id).collect())
    }

    /// Posts one batch to `/api/{entity}` (an array: items with `id` update, items without
    /// create) and returns the saved records (Halo answers an object or an array).
    /// `idempotent` is false for creates: they are not retried once they may have landed.
    pub async fn post(
        &self,
        entity: &str,
        items: &[Value],
        idempotent: bool,
    ) -> Result<Vec<Value>, HaloError> {
        let route = format!("/api/{entity}");
        let body = Value::Array(items.to_vec());
        let resp = self
            .send(
                Method::POST,
                self.api_url(entity),
                &route,
                Some(&body),
                idempotent,
            )
            .await?;
        let saved = match resp.json::<Value>()? {
            Value::Array(items) => items,
            obj @ Value::Object(_) => vec![obj],
            other => {
                return Err(resp
                    .unexpected(format!("expected the saved record(s), got {other}"))
                    .into());
            }
        };
        Ok(saved)
    }

    pub fn batch_size(&self) -> usize {
        self.cfg.batch_size
    }
}
