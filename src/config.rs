//! Configuration: environment variables and mounted secret files → a typed, validated
//! [`Config`].
//!
//! The variable names are a contract (docs/contracts.md, Environment variables: the Helm
//! chart and users' values files depend on them). Raw values are read with `envy`; everything is then validated here so
//! that every error names the variable and what was expected. Loading makes no network
//! request. Secrets are held in [`Secret`], whose `Debug` is redacted and which has no
//! `Display`, so a secret cannot end up in a log line or an error message by accident.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub mod vars;

use crate::imports::unit::{Enabled, ImportKind};

/// A secret value (client secret, access token). Redacted in `Debug`; no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it (a token request or an
    /// `Authorization` header). Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// One invalid variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.message)
    }
}

/// Every problem found in the configuration (all are reported at once).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration:")?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct HaloConfig {
    pub api_url: Url,
    pub auth_url: Url,
    pub tenant: Option<String>,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: String,
    /// This process's share of the Halo rate budget (already divided by the shard count).
    pub rate_limit: RateLimit,
    pub batch_size: usize,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum EntraCredential {
    Secret(Secret),
    /// Workload identity: a projected service-account token, re-read on every token request.
    FederatedTokenFile(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSelection {
    /// Every tenant linked to an active Halo client (`Client.azure_tenants`).
    Auto,
    List(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct EntraConfig {
    pub client_id: String,
    pub credential: EntraCredential,
    pub tenants: TenantSelection,
    pub authority_host: Url,
    pub graph_url: Url,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Safety {
    pub deactivate_missing: bool,
    pub max_deactivations: u64,
    pub max_deactivation_percent: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub count: u32,
    pub index: u32,
}

impl Shard {
    /// Whether this shard handles `tenant`: a stable FNV-1a hash of the lower-cased id, so
    /// a tenant always lands on the same shard whatever the process or platform.
    pub fn owns(&self, tenant: &str) -> bool {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in tenant.to_ascii_lowercase().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash % u64::from(self.count) == u64::from(self.index)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryConfig {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

/// The validated configuration of one process.
#[derive(Debug, Clone)]
pub struct Config {
    pub halo: HaloConfig,
    /// Present when an enabled import reads Microsoft Graph.
    pub entra: Option<EntraConfig>,
    /// `INTEGRATOR_IMPORTS`, in order, each with its validated options.
    pub imports: Vec<Enabled>,
    pub dry_run: bool,
    pub safety: Safety,
    pub shard: Shard,
    pub retry: RetryConfig,
    pub log_format: LogFormat,
    /// `INTEGRATOR_METRICS_ADDR`: serve `/metrics` here while running.
    pub metrics_addr: Option<SocketAddr>,
    /// `INTEGRATOR_PUSHGATEWAY_URL`: push the run's metrics here at the end.
    pub pushgateway_url: Option<Url>,
    /// `INTEGRATOR_HALO_TICKETS=true`: problem tickets in Halo.
    pub tickets: Option<TicketOptions>,
    /// `INTEGRATOR_CONFIG_FILE`: the mapping file; no file = the built-in behaviour.
    pub mapping: crate::mapping::Mapping,
}

/// Problem tickets in Halo (`INTEGRATOR_HALO_TICKETS=true` and `INTEGRATOR_TICKET_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct TicketOptions {
    /// `INTEGRATOR_TICKET_TYPE_ID`: the ticket type of new tickets.
    pub type_id: i64,
    /// `INTEGRATOR_TICKET_CLIENT`: the client (name or id) of run-level problems: the MSP's own.
    pub client: String,
    /// `INTEGRATOR_TICKET_OUTCOME_ID`: the action outcome of the notes (Halo rejects a note
    /// without one), e.g. the id of "Private Note".
    pub outcome_id: i64,
    /// `INTEGRATOR_TICKET_TEAM`: the team new tickets are assigned to.
    pub team: Option<String>,
    /// `INTEGRATOR_TICKET_AGENT_ID`: the agent new tickets are assigned to.
    pub agent_id: Option<i64>,
    /// `INTEGRATOR_TICKET_CLOSED_STATUS_ID`: set on recovery; unset = recovery only notes.
    pub closed_status_id: Option<i64>,
    /// `INTEGRATOR_TICKET_MAX_PER_RUN`: tickets opened or updated per run, at most.
    pub max_per_run: usize,
}

/// A typed variable as read: envy hands over the text and this keeps a value that does not
/// parse instead of failing the whole read, so that the validator reports every bad
/// variable at once, each with what it expects, not only the first.
#[derive(Debug, Default)]
enum Typed<T> {
    #[default]
    Unset,
    Value(T),
    Bad(String),
}

impl<'de, T: std::str::FromStr> Deserialize<'de> for Typed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let trimmed = raw.trim();
        Ok(if trimmed.is_empty() {
            Typed::Unset
        } else {
            trimmed.parse().map_or(Typed::Bad(raw), Typed::Value)
        })
    }
}

/// The raw variables, as `envy` reads them (field name = variable name, lower-cased).
#[derive(Debug, Deserialize, Default)]
struct Raw {
    halo_url: Option<String>,
    halo_api_url: Option<String>,
    halo_auth_url: Option<String>,
    halo_tenant: Option<String>,
    halo_client_id: Option<String>,
    halo_client_secret: Option<String>,
    halo_client_secret_file: Option<String>,
    halo_scope: Option<String>,
    #[serde(default)]
    halo_rate_limit_requests: Typed<u32>,
    #[serde(default)]
    halo_rate_limit_window_seconds: Typed<u64>,
    #[serde(default)]
    halo_batch_size: Typed<usize>,
    #[serde(default)]
    halo_timeout_seconds: Typed<u64>,
    entra_client_id: Option<String>,
    entra_client_secret: Option<String>,
    entra_client_secret_file: Option<String>,
    entra_tenants: Option<String>,
    entra_authority_host: Option<String>,
    graph_url: Option<String>,
    azure_client_id: Option<String>,
    azure_federated_token_file: Option<String>,
    integrator_imports: Option<String>,
    #[serde(default)]
    integrator_dry_run: Typed<bool>,
    #[serde(default)]
    integrator_deactivate_missing: Typed<bool>,
    #[serde(default)]
    integrator_max_deactivations: Typed<u64>,
    #[serde(default)]
    integrator_max_deactivation_percent: Typed<f64>,
    #[serde(default)]
    integrator_shard_count: Typed<u32>,
    #[serde(default)]
    integrator_shard_index: Typed<u32>,
    #[serde(default)]
    job_completion_index: Typed<u32>,
    integrator_log_format: Option<String>,
    integrator_metrics_addr: Option<String>,
    integrator_pushgateway_url: Option<String>,
    #[serde(default)]
    integrator_retry_max_attempts: Typed<u32>,
    #[serde(default)]
    integrator_retry_initial_delay_ms: Typed<u64>,
    #[serde(default)]
    integrator_retry_max_delay_seconds: Typed<u64>,
    #[serde(default)]
    integrator_allow_insecure_http: Typed<bool>,
    // Read as text: looked at only when tickets are enabled.
    #[serde(default)]
    integrator_halo_tickets: Typed<bool>,
    integrator_ticket_type_id: Option<String>,
    integrator_ticket_client: Option<String>,
    integrator_ticket_outcome_id: Option<String>,
    integrator_ticket_team: Option<String>,
    integrator_ticket_agent_id: Option<String>,
    integrator_ticket_closed_status_id: Option<String>,
    integrator_ticket_max_per_run: Option<String>,
    integrator_config_file: Option<String>,
}

/// What each typed variable expects, for envy's parse errors.
fn expectation(var: &str) -> &'static str {
    match var {
        "INTEGRATOR_DRY_RUN"
        | "INTEGRATOR_DEACTIVATE_MISSING"
        | "INTEGRATOR_ALLOW_INSECURE_HTTP"
        | "INTEGRATOR_HALO_TICKETS" => "expected `true` or `false`",
        "INTEGRATOR_MAX_DEACTIVATION_PERCENT" => "expected a number from 0 to 100",
        _ => "expected a whole number",
    }
}

/// envy cannot fail on [`Raw`] (every field is optional text or [`Typed`], so bad values
/// reach the validator, which reports all of them); should it ever, the error is reported,
/// not a panic. Its message never carries a value.
fn envy_error(err: envy::Error) -> ConfigError {
    let var = match err {
        envy::Error::MissingValue(field) => field.to_ascii_uppercase(),
        envy::Error::Custom(_) => "environment".to_string(),
    };
    ConfigError {
        var,
        message: "could not be read".into(),
    }
}

impl Config {
    /// Reads the process environment. Returns the config and warnings (likely typos).
    pub fn from_env() -> Result<(Config, Vec<String>), ConfigErrors> {
        Self::from_vars(std::env::vars())
    }

    /// Reads the given variables (tests pass their own).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Vec<String>), ConfigErrors> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let warnings = unknown_variable_warnings(&vars);
        // envy lower-cases names; only upper-case variables are ours.
        let ours: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.bytes().all(|b| !b.is_ascii_lowercase()))
            .collect();
        let env = Env::new(ours.iter().cloned());
        let raw: Raw = envy::from_iter(ours).map_err(|e| ConfigErrors(vec![envy_error(e)]))?;
        let mut v = Validator::default();
        let config = v.build(raw, &env);
        match config {
            Some(config) if v.errors.is_empty() => Ok((config, warnings)),
            _ => Err(ConfigErrors(v.errors)),
        }
    }
}

fn unknown_variable_warnings(vars: &[(String, String)]) -> Vec<String> {
    let known: BTreeSet<String> = vars::accepted_names().into_iter().collect();
    let mut warnings: Vec<String> = vars
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with("HALO_") || k.starts_with("INTEGRATOR_"))
        .filter(|k| !known.contains(*k))
        .map(|k| format!("{k} is not a variable halo-integrator knows (typo?); it is ignored"))
        .collect();
    warnings.sort();
    warnings
}

/// The `INTEGRATOR_TICKET_*` variables, as read.
struct TicketRaw {
    type_id: Option<String>,
    client: Option<String>,
    outcome_id: Option<String>,
    team: Option<String>,
    agent_id: Option<String>,
    closed_status_id: Option<String>,
    max_per_run: Option<String>,
}

/// The variables as given, for the imports' own options (`crate::imports::unit::Import::options`).
pub(crate) struct Env {
    values: BTreeMap<String, String>,
    /// The names asked for, so a test can hold the variable table against them.
    #[cfg(test)]
    asked: std::cell::RefCell<BTreeSet<String>>,
}

impl Env {
    pub(crate) fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Env {
            values: vars.into_iter().collect(),
            #[cfg(test)]
            asked: Default::default(),
        }
    }

    /// The raw value of `name`, if set (an empty value counts as unset where it is read).
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        #[cfg(test)]
        self.asked.borrow_mut().insert(name.to_string());
        self.values.get(name).cloned()
    }

    #[cfg(test)]
    pub(crate) fn asked(&self) -> BTreeSet<String> {
        self.asked.borrow().clone()
    }
}

/// The general settings an import's options may depend on.
pub(crate) struct Common<'a> {
    /// `INTEGRATOR_CONFIG_FILE`, loaded (each import takes its section).
    pub mapping: &'a crate::mapping::Mapping,
    /// `INTEGRATOR_ALLOW_INSECURE_HTTP`.
    pub allow_insecure: bool,
    /// `HALO_TIMEOUT_SECONDS`, the timeout of every connection.
    pub timeout: Duration,
}

/// Collects errors while building the config, so the user sees all of them at once.
#[derive(Default)]
pub(crate) struct Validator {
    errors: Vec<ConfigError>,
}

impl Validator {
    pub(crate) fn error(&mut self, var: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            var: var.to_string(),
            message: message.into(),
        });
    }

    /// A non-empty string (empty counts as unset).
    pub(crate) fn optional(value: Option<String>) -> Option<String> {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn required(
        &mut self,
        var: &str,
        value: Option<String>,
        what: &str,
    ) -> Option<String> {
        let value = Self::optional(value);
        if value.is_none() {
            self.error(var, format!("required: {what}"));
        }
        value
    }

    /// `X` or `X_FILE` (a mounted secret; one trailing newline trimmed), not both.
    pub(crate) fn secret(
        &mut self,
        var: &str,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<Option<Secret>> {
        let file_var = format!("{var}_FILE");
        match (Self::optional(value), Self::optional(file)) {
            (Some(_), Some(_)) => {
                self.error(var, format!("set either {var} or {file_var}, not both"));
                None
            }
            (Some(value), None) => Some(Some(Secret::new(value))),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(content) => {
                    let content = content
                        .strip_suffix('\n')
                        .map(|c| c.strip_suffix('\r').unwrap_or(c))
                        .unwrap_or(&content);
                    if content.is_empty() {
                        self.error(&file_var, format!("the file {path} is empty"));
                        None
                    } else {
                        Some(Some(Secret::new(content)))
                    }
                }
                Err(e) => {
                    self.error(&file_var, format!("cannot read the file {path}: {e}"));
                    None
                }
            },
            (None, None) => Some(None),
        }
    }

    fn url(&mut self, var: &str, value: &str, allow_insecure: bool) -> Option<Url> {
        let parsed = match Url::parse(value) {
            Ok(url) => url,
            Err(e) => {
                self.error(
                    var,
                    format!(
                        "expected an absolute URL such as https://example.com, got '{value}' ({e})"
                    ),
                );
                return None;
            }
        };
        match parsed.scheme() {
            "https" => {}
            "http" if allow_insecure || is_loopback(&parsed) => {}
            "http" => {
                self.error(
                    var,
                    format!(
                        "plain http:// is only allowed for loopback addresses (got '{value}'); \
                         use https:// or set INTEGRATOR_ALLOW_INSECURE_HTTP=true"
                    ),
                );
                return None;
            }
            other => {
                self.error(
                    var,
                    format!("expected an https:// URL, got scheme '{other}' in '{value}'"),
                );
                return None;
            }
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            self.error(var, format!("expected a URL with a host, got '{value}'"));
            return None;
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            self.error(
                var,
                format!("expected a base URL without query or fragment, got '{value}'"),
            );
            return None;
        }
        Some(parsed)
    }

    /// `true` or `false`; anything else is reported and counts as unset.
    pub(crate) fn boolean(&mut self, var: &str, value: Option<String>) -> Option<bool> {
        let raw = value?;
        match raw.trim() {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.error(var, format!("expected `true` or `false`, got '{raw}'"));
                None
            }
        }
    }

    /// The value of a typed variable; one that does not parse is reported (naming the
    /// variable and what it expects) and counts as unset.
    fn typed<T>(&mut self, var: &str, value: Typed<T>) -> Option<T> {
        match value {
            Typed::Unset => None,
            Typed::Value(v) => Some(v),
            Typed::Bad(raw) => {
                self.error(var, format!("{}, got '{raw}'", expectation(var)));
                None
            }
        }
    }

    fn positive<T: PartialOrd + Default + Copy>(
        &mut self,
        var: &str,
        value: Typed<T>,
        default: T,
    ) -> T {
        let value = self.typed(var, value).unwrap_or(default);
        if value <= T::default() {
            self.error(var, "expected a whole number greater than 0, got 0");
            return default;
        }
        value
    }

    fn build(&mut self, raw: Raw, env: &Env) -> Option<Config> {
        let entra_raw = raw_entra(&raw);
        // Read before anything can end the build early, so a bad value is always reported.
        let dry_run = self
            .typed("INTEGRATOR_DRY_RUN", raw.integrator_dry_run)
            .unwrap_or(false);
        let allow_insecure = self
            .typed(
                "INTEGRATOR_ALLOW_INSECURE_HTTP",
                raw.integrator_allow_insecure_http,
            )
            .unwrap_or(false);

        // --- imports
        let imports = self.imports(raw.integrator_imports);

        // --- halo
        let halo_url = self
            .required(
                "HALO_URL",
                raw.halo_url,
                "the Halo base URL, e.g. https://acme.halopsa.com",
            )
            .and_then(|u| self.url("HALO_URL", u.trim_end_matches('/'), allow_insecure));
        let derived = |suffix: &str| halo_url.as_ref().map(|u| join(u, suffix));
        let api_url = match Self::optional(raw.halo_api_url) {
            Some(u) => self.url("HALO_API_URL", &u, allow_insecure),
            None => derived("api"),
        };
        let auth_url = match Self::optional(raw.halo_auth_url) {
            Some(u) => self.url("HALO_AUTH_URL", &u, allow_insecure),
            None => derived("auth"),
        };
        let halo_client_id = self.required(
            "HALO_CLIENT_ID",
            raw.halo_client_id,
            "the client id of the Halo API application",
        );
        let halo_secret = match self.secret(
            "HALO_CLIENT_SECRET",
            raw.halo_client_secret,
            raw.halo_client_secret_file,
        ) {
            Some(None) => {
                self.error(
                    "HALO_CLIENT_SECRET",
                    "required: the client secret of the Halo API application (or HALO_CLIENT_SECRET_FILE)",
                );
                None
            }
            other => other.flatten(),
        };

        // --- shard (before the rate limit, which it divides)
        let shard_count = self.positive("INTEGRATOR_SHARD_COUNT", raw.integrator_shard_count, 1);
        let shard_index = self.typed("INTEGRATOR_SHARD_INDEX", raw.integrator_shard_index);
        let completion_index = self.typed("JOB_COMPLETION_INDEX", raw.job_completion_index);
        let (index_var, index) = match (shard_index, completion_index) {
            (Some(i), _) => ("INTEGRATOR_SHARD_INDEX", i),
            (None, Some(i)) => ("JOB_COMPLETION_INDEX", i),
            (None, None) => ("INTEGRATOR_SHARD_INDEX", 0),
        };
        if index >= shard_count {
            self.error(
                index_var,
                format!(
                    "expected a shard index from 0 to {}, got {index}",
                    shard_count - 1
                ),
            );
        }
        let shard = Shard {
            count: shard_count,
            index,
        };

        let rate_requests = self.positive(
            "HALO_RATE_LIMIT_REQUESTS",
            raw.halo_rate_limit_requests,
            300,
        );
        let rate_window = self.positive(
            "HALO_RATE_LIMIT_WINDOW_SECONDS",
            raw.halo_rate_limit_window_seconds,
            300,
        );
        if rate_requests < shard_count {
            self.error(
                "HALO_RATE_LIMIT_REQUESTS",
                format!(
                    "expected at least one request per shard ({shard_count} shards), got {rate_requests}"
                ),
            );
        }
        let batch_size = self.positive("HALO_BATCH_SIZE", raw.halo_batch_size, 50);
        if batch_size > 1000 {
            self.error(
                "HALO_BATCH_SIZE",
                format!("expected at most 1000 records per request, got {batch_size}"),
            );
        }
        let timeout = Duration::from_secs(self.positive(
            "HALO_TIMEOUT_SECONDS",
            raw.halo_timeout_seconds,
            60,
        ));

        // --- entra
        let entra = if imports.iter().any(|k| k.needs_entra()) {
            self.entra(&entra_raw, allow_insecure, timeout, &imports)
        } else {
            None
        };

        // --- safety
        let percent = self
            .typed(
                "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
                raw.integrator_max_deactivation_percent,
            )
            .unwrap_or(10.0);
        if !(0.0..=100.0).contains(&percent) || percent.is_nan() {
            self.error(
                "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
                format!("expected a number from 0 to 100, got {percent}"),
            );
        }
        let safety = Safety {
            deactivate_missing: self
                .typed(
                    "INTEGRATOR_DEACTIVATE_MISSING",
                    raw.integrator_deactivate_missing,
                )
                .unwrap_or(false),
            max_deactivations: self
                .typed(
                    "INTEGRATOR_MAX_DEACTIVATIONS",
                    raw.integrator_max_deactivations,
                )
                .unwrap_or(50),
            max_deactivation_percent: percent,
        };

        // --- retry
        let retry = RetryConfig {
            max_attempts: self.positive(
                "INTEGRATOR_RETRY_MAX_ATTEMPTS",
                raw.integrator_retry_max_attempts,
                6,
            ),
            initial_delay: Duration::from_millis(self.positive(
                "INTEGRATOR_RETRY_INITIAL_DELAY_MS",
                raw.integrator_retry_initial_delay_ms,
                1000,
            )),
            max_delay: Duration::from_secs(self.positive(
                "INTEGRATOR_RETRY_MAX_DELAY_SECONDS",
                raw.integrator_retry_max_delay_seconds,
                60,
            )),
        };

        let log_format = match Self::optional(raw.integrator_log_format).as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                self.error(
                    "INTEGRATOR_LOG_FORMAT",
                    format!("expected `json` or `text`, got '{other}'"),
                );
                LogFormat::Json
            }
        };

        let metrics_addr = Self::optional(raw.integrator_metrics_addr).and_then(|addr| {
            addr.parse::<SocketAddr>()
                .map_err(|_| {
                    self.error(
                        "INTEGRATOR_METRICS_ADDR",
                        format!("expected an address and port such as 0.0.0.0:9464, got '{addr}'"),
                    )
                })
                .ok()
        });
        // A Pushgateway is usually an in-cluster http:// service and receives no secret,
        // so plain http is fine here.
        let pushgateway_url = Self::optional(raw.integrator_pushgateway_url)
            .and_then(|u| self.url("INTEGRATOR_PUSHGATEWAY_URL", &u, true));

        let tickets = if self
            .typed("INTEGRATOR_HALO_TICKETS", raw.integrator_halo_tickets)
            .unwrap_or(false)
        {
            self.tickets(TicketRaw {
                type_id: raw.integrator_ticket_type_id,
                client: raw.integrator_ticket_client,
                outcome_id: raw.integrator_ticket_outcome_id,
                team: raw.integrator_ticket_team,
                agent_id: raw.integrator_ticket_agent_id,
                closed_status_id: raw.integrator_ticket_closed_status_id,
                max_per_run: raw.integrator_ticket_max_per_run,
            })
        } else {
            None
        };

        // --- the imports' own options
        // The mapping file's errors join the others (each names the file and key path).
        let mapping = match Self::optional(raw.integrator_config_file) {
            Some(path) => crate::mapping::Mapping::load(std::path::Path::new(&path))
                .unwrap_or_else(|errors| {
                    self.errors.extend(errors);
                    crate::mapping::Mapping::default()
                }),
            None => crate::mapping::Mapping::default(),
        };
        let common = Common {
            allow_insecure,
            timeout,
            mapping: &mapping,
        };
        let imports: Vec<Enabled> = imports
            .into_iter()
            .filter_map(|kind| kind.enable(env, self, &common))
            .collect();

        let scope = Self::optional(raw.halo_scope).unwrap_or_else(|| "all".into());
        let tenant = Self::optional(raw.halo_tenant);
        Some(Config {
            halo: HaloConfig {
                api_url: api_url?,
                auth_url: auth_url?,
                tenant,
                client_id: halo_client_id?,
                client_secret: halo_secret?,
                scope,
                rate_limit: RateLimit {
                    requests: (rate_requests / shard_count).max(1),
                    window: Duration::from_secs(rate_window),
                },
                batch_size,
                timeout,
            },
            entra,
            imports,
            dry_run,
            safety,
            shard,
            retry,
            log_format,
            metrics_addr,
            pushgateway_url,
            tickets,
            mapping,
        })
    }

    fn tickets(&mut self, raw: TicketRaw) -> Option<TicketOptions> {
        const ID: &str = "a Halo id";
        let type_id = self.required_id(
            "INTEGRATOR_TICKET_TYPE_ID",
            raw.type_id,
            "the id of the ticket type of new tickets",
        );
        let client = self.required(
            "INTEGRATOR_TICKET_CLIENT",
            raw.client,
            "the Halo client (name or id) that receives run-level problems: your own",
        );
        let outcome_id = self.required_id(
            "INTEGRATOR_TICKET_OUTCOME_ID",
            raw.outcome_id,
            "the id of the action outcome of the notes (e.g. \"Private Note\")",
        );
        let agent_id = self.halo_id("INTEGRATOR_TICKET_AGENT_ID", raw.agent_id, ID);
        let closed_status_id = self.halo_id(
            "INTEGRATOR_TICKET_CLOSED_STATUS_ID",
            raw.closed_status_id,
            ID,
        );
        let max_per_run = match Self::optional(raw.max_per_run) {
            None => 10,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    self.error(
                        "INTEGRATOR_TICKET_MAX_PER_RUN",
                        format!("expected a whole number from 1 to 1000, got '{v}'"),
                    );
                    10
                }
            },
        };
        Some(TicketOptions {
            type_id: type_id?,
            client: client?,
            outcome_id: outcome_id?,
            team: Self::optional(raw.team),
            agent_id,
            closed_status_id,
            max_per_run,
        })
    }

    /// A required Halo id (`what` says which).
    fn required_id(&mut self, var: &str, value: Option<String>, what: &str) -> Option<i64> {
        let value = self.required(var, value, what);
        self.halo_id(var, value, "a Halo id")
    }

    /// An optional Halo id (`what`: which kind): a whole number greater than 0.
    pub(crate) fn halo_id(&mut self, var: &str, value: Option<String>, what: &str) -> Option<i64> {
        let value = Self::optional(value)?;
        match value.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                self.error(
                    var,
                    format!("expected {what} (a whole number greater than 0), got '{value}'"),
                );
                None
            }
        }
    }

    /// An optional Halo field id: a whole number greater than 0.
    pub(crate) fn field_id(&mut self, var: &str, value: Option<String>) -> Option<i64> {
        self.halo_id(var, value, "a Halo asset field id")
    }

    fn imports(&mut self, value: Option<String>) -> Vec<ImportKind> {
        let Some(list) = self.required(
            "INTEGRATOR_IMPORTS",
            value,
            &format!(
                "a comma-separated list of imports to run ({})",
                ImportKind::names()
            ),
        ) else {
            return Vec::new();
        };
        let mut imports = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match ImportKind::parse(name) {
                Some(kind) if !imports.contains(&kind) => imports.push(kind),
                Some(_) => {}
                None => self.error(
                    "INTEGRATOR_IMPORTS",
                    format!(
                        "unknown import '{name}'; known imports: {}",
                        ImportKind::names()
                    ),
                ),
            }
        }
        if imports.is_empty() && self.errors.iter().all(|e| e.var != "INTEGRATOR_IMPORTS") {
            self.error(
                "INTEGRATOR_IMPORTS",
                format!("expected at least one import ({})", ImportKind::names()),
            );
        }
        imports
    }

    fn entra(
        &mut self,
        raw: &RawEntra,
        allow_insecure: bool,
        timeout: Duration,
        imports: &[ImportKind],
    ) -> Option<EntraConfig> {
        let needed_by = imports
            .iter()
            .filter(|k| k.needs_entra())
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ");
        let client_id = Self::optional(raw.client_id.clone())
            .or_else(|| Self::optional(raw.azure_client_id.clone()));
        if client_id.is_none() {
            self.error(
                "ENTRA_CLIENT_ID",
                format!("required by {needed_by}: the application (client) id of the Entra app registration"),
            );
        }
        let credential = match self.secret(
            "ENTRA_CLIENT_SECRET",
            raw.secret.clone(),
            raw.secret_file.clone(),
        ) {
            Some(Some(secret)) => Some(EntraCredential::Secret(secret)),
            Some(None) => match Self::optional(raw.federated_token_file.clone()) {
                Some(path) => Some(EntraCredential::FederatedTokenFile(PathBuf::from(path))),
                None => {
                    self.error(
                        "ENTRA_CLIENT_SECRET",
                        format!(
                            "required by {needed_by}: a client secret (or ENTRA_CLIENT_SECRET_FILE, \
                             or workload identity through AZURE_FEDERATED_TOKEN_FILE)"
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let tenants = match Self::optional(raw.tenants.clone()).as_deref() {
            None | Some("auto") => Some(TenantSelection::Auto),
            Some(list) => {
                let ids: Vec<String> = list
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect();
                let bad: Vec<&String> = ids.iter().filter(|t| !is_tenant_id(t)).collect();
                if ids.is_empty() || !bad.is_empty() {
                    self.error(
                        "ENTRA_TENANTS",
                        format!(
                            "expected `auto` or a comma-separated list of tenant ids (GUIDs or domain names), got '{list}'"
                        ),
                    );
                    None
                } else {
                    let mut unique = Vec::new();
                    for id in ids {
                        if !unique.contains(&id) {
                            unique.push(id);
                        }
                    }
                    Some(TenantSelection::List(unique))
                }
            }
        };
        let authority_host = self.url(
            "ENTRA_AUTHORITY_HOST",
            Self::optional(raw.authority_host.clone())
                .as_deref()
                .unwrap_or("https://login.microsoftonline.com")
                .trim_end_matches('/'),
            allow_insecure,
        );
        let graph_url = self.url(
            "GRAPH_URL",
            Self::optional(raw.graph_url.clone())
                .as_deref()
                .unwrap_or("https://graph.microsoft.com")
                .trim_end_matches('/'),
            allow_insecure,
        );
        Some(EntraConfig {
            client_id: client_id?,
            credential: credential?,
            tenants: tenants?,
            authority_host: authority_host?,
            graph_url: graph_url?,
            timeout,
        })
    }
}

/// The `ENTRA_*` part of [`Raw`], borrowed out so `build` can keep ownership of the rest.
struct RawEntra {
    client_id: Option<String>,
    azure_client_id: Option<String>,
    secret: Option<String>,
    secret_file: Option<String>,
    federated_token_file: Option<String>,
    tenants: Option<String>,
    authority_host: Option<String>,
    graph_url: Option<String>,
}

fn raw_entra(raw: &Raw) -> RawEntra {
    RawEntra {
        client_id: raw.entra_client_id.clone(),
        azure_client_id: raw.azure_client_id.clone(),
        secret: raw.entra_client_secret.clone(),
        secret_file: raw.entra_client_secret_file.clone(),
        federated_token_file: raw.azure_federated_token_file.clone(),
        tenants: raw.entra_tenants.clone(),
        authority_host: raw.entra_authority_host.clone(),
        graph_url: raw.graph_url.clone(),
    }
}

/// `base` + `/segment`, keeping any path the base already has.
pub fn join(base: &Url, segment: &str) -> Url {
    let mut url = base.clone();
    let path = format!("{}/{}", base.path().trim_end_matches('/'), segment);
    url.set_path(&path);
    url
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// A tenant id is a GUID or a verified domain name (`contoso.onmicrosoft.com`).
fn is_tenant_id(id: &str) -> bool {
    let guid = id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    let domain = id.contains('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    guid || domain
}

#[cfg(test)]
mod tests;
