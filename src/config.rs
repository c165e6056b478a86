//! Configuration: environment variables and mounted secret files → a typed, validated
//! [`Config`].
//!
//! The variable names are a contract (docs/contracts.md, Environment variables: the Helm
//! chart and users' values files depend on them). Raw values are read with `envy`; everything is then validated here so
//! that every error names the variable and what was expected. Loading makes no network
//! request. Secrets are held in [`Secret`], whose `Debug` is redacted and which has no
//! `Display`, so a secret cannot end up in a log line or an error message by accident.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub mod vars;

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

/// The imports this build knows (`INTEGRATOR_IMPORTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum ImportKind {
    EntraUsers,
    IntuneDevices,
    CsvAssets,
    LdapUsers,
}

impl ImportKind {
    pub const ALL: &'static [ImportKind] = &[
        ImportKind::EntraUsers,
        ImportKind::IntuneDevices,
        ImportKind::CsvAssets,
        ImportKind::LdapUsers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ImportKind::EntraUsers => "entra-users",
            ImportKind::IntuneDevices => "intune-devices",
            ImportKind::CsvAssets => "csv-assets",
            ImportKind::LdapUsers => "ldap-users",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Whether the import reads Microsoft Graph (and so needs the `ENTRA_*` settings).
    pub fn needs_entra(self) -> bool {
        match self {
            ImportKind::EntraUsers | ImportKind::IntuneDevices => true,
            ImportKind::CsvAssets | ImportKind::LdapUsers => false,
        }
    }

    fn names() -> String {
        Self::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

#[derive(Debug, Clone, Default)]
pub struct EntraUsersOptions {
    pub include_guests: bool,
    pub filter: Option<String>,
}

/// Options of the `intune-devices` import (`INTUNE_*`); validated only when it is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntuneDevicesOptions {
    /// `INTUNE_ASSET_TYPE`: the name of the Halo asset type of new assets.
    pub asset_type: String,
    /// Halo asset field ids (`INTUNE_FIELD_*`) receiving these device values.
    pub field_serial: Option<i64>,
    pub field_model: Option<i64>,
    pub field_os: Option<i64>,
    pub field_last_seen: Option<i64>,
}

impl Default for IntuneDevicesOptions {
    fn default() -> Self {
        IntuneDevicesOptions {
            asset_type: "Workstation".into(),
            field_serial: None,
            field_model: None,
            field_os: None,
            field_last_seen: None,
        }
    }
}

/// Where a column of the `csv-assets` file goes (`CSV_ASSETS_COLUMNS` targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetColumn {
    /// `inventory_number`: the asset's name / tag.
    InventoryNumber,
    /// `key_field` (alias `serial`): Halo's asset key field, usually the serial number; a
    /// read-only projection in Halo, so matched on and never written.
    KeyField,
    /// `field:N`: the Halo asset field with id `N`.
    Field(i64),
    /// `client`: the Halo client, by name or id.
    Client,
    /// `type`: the Halo asset type, by name.
    Type,
}

impl AssetColumn {
    fn parse(target: &str) -> Option<Self> {
        match target.trim().to_ascii_lowercase().as_str() {
            "inventory_number" => Some(Self::InventoryNumber),
            "key_field" | "serial" => Some(Self::KeyField),
            "client" => Some(Self::Client),
            "type" => Some(Self::Type),
            other => other
                .strip_prefix("field:")
                .and_then(|id| id.trim().parse::<i64>().ok())
                .filter(|id| *id > 0)
                .map(Self::Field),
        }
    }

    /// Whether the column can be the match key (a value stored on the asset).
    fn is_value(self) -> bool {
        matches!(
            self,
            Self::InventoryNumber | Self::KeyField | Self::Field(_)
        )
    }
}

impl fmt::Display for AssetColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InventoryNumber => f.write_str("inventory_number"),
            Self::KeyField => f.write_str("key_field"),
            Self::Field(id) => write!(f, "field:{id}"),
            Self::Client => f.write_str("client"),
            Self::Type => f.write_str("type"),
        }
    }
}

/// Options of the `csv-assets` import (`CSV_ASSETS_*`); present only when it is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvAssetsOptions {
    /// `CSV_ASSETS_PATH`: a `.csv` or `.xlsx` file (read when the import runs).
    pub path: PathBuf,
    /// `CSV_ASSETS_COLUMNS`: Halo target → column header, in the order given.
    pub columns: Vec<(AssetColumn, String)>,
    /// `CSV_ASSETS_MATCH`: the mapped value column that identifies an asset (default
    /// `key_field`).
    pub match_on: AssetColumn,
    /// `CSV_ASSETS_LINK_FIELD`: the Halo asset field id in which the import stores the match
    /// value of the assets it manages (its link, like `intune_id` for Intune).
    pub link_field: i64,
    /// `CSV_ASSETS_TYPE`: the asset type of new assets whose row names none.
    pub asset_type: String,
    /// `CSV_ASSETS_DELIMITER`: `None` = detected from the header line.
    pub delimiter: Option<u8>,
}

/// The Halo user text fields the user imports fill (`entra-users` all of them, in this
/// order; `ldap-users` those `LDAP_ATTRIBUTES` maps).
pub const USER_TEXT_FIELDS: [&str; 7] = [
    "name",
    "firstname",
    "surname",
    "emailaddress",
    "title",
    "phonenumber",
    "mobilenumber",
];

/// The Halo user fields `ldap-users` can fill (`LDAP_ATTRIBUTES` targets).
pub const LDAP_USER_FIELDS: &[&str] = &USER_TEXT_FIELDS;

/// Where `ldap-users` may keep its link (`LDAP_LINK_FIELD`): the free-text properties on
/// both Halo's `Users` and `Users_List` models, so that the paged read carries the link.
/// Halo users have no `ldap_id`.
pub const LDAP_LINK_FIELDS: &[&str] = &["other1", "other2", "other3", "other4", "other5"];

/// `LDAP_ATTRIBUTES` when unset (inetOrgPerson / Active Directory names).
const LDAP_DEFAULT_ATTRIBUTES: &str = "name=displayName,firstname=givenName,surname=sn,emailaddress=mail,title=title,phonenumber=telephoneNumber,mobilenumber=mobile";

/// Options of the `ldap-users` import (`LDAP_*`); present only when it is enabled.
#[derive(Debug, Clone)]
pub struct LdapUsersOptions {
    /// `LDAP_URL`: `ldap://` (StartTLS unless `LDAP_STARTTLS=false`) or `ldaps://`.
    pub url: Url,
    pub starttls: bool,
    pub bind_dn: String,
    pub bind_password: Secret,
    pub base_dn: String,
    pub filter: String,
    /// Halo user field → LDAP attribute, in the order given.
    pub attributes: Vec<(String, String)>,
    /// `LDAP_CLIENT`: the Halo client (name or id) of entries no `LDAP_CLIENT_MAP` DN covers.
    pub client: Option<String>,
    /// `LDAP_CLIENT_MAP`: base DN (lower-cased, no spaces after commas) → Halo client.
    pub client_map: Vec<(String, String)>,
    /// `LDAP_LINK_FIELD`: the Halo user field holding the directory id.
    pub link_field: String,
    /// `LDAP_CA_FILE`: PEM CA certificates trusted for the TLS connection.
    pub ca_file: Option<PathBuf>,
    pub page_size: i32,
    pub timeout: Duration,
}

/// A DN compared by suffix: lower-cased, blanks around `,` and `=` removed.
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|p| p.trim().to_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The validated configuration of one process.
#[derive(Debug, Clone)]
pub struct Config {
    pub halo: HaloConfig,
    /// Present when an enabled import reads Microsoft Graph.
    pub entra: Option<EntraConfig>,
    pub imports: Vec<ImportKind>,
    pub dry_run: bool,
    pub safety: Safety,
    pub shard: Shard,
    pub retry: RetryConfig,
    pub log_format: LogFormat,
    /// `INTEGRATOR_METRICS_ADDR`: serve `/metrics` here while running.
    pub metrics_addr: Option<SocketAddr>,
    /// `INTEGRATOR_PUSHGATEWAY_URL`: push the run's metrics here at the end.
    pub pushgateway_url: Option<Url>,
    pub entra_users: EntraUsersOptions,
    pub intune_devices: IntuneDevicesOptions,
    pub csv_assets: Option<CsvAssetsOptions>,
    pub ldap_users: Option<LdapUsersOptions>,
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
    #[serde(default)]
    entra_users_include_guests: Typed<bool>,
    entra_users_filter: Option<String>,
    intune_asset_type: Option<String>,
    // Read as text so that a bad value is reported by this module, naming the variable.
    intune_field_serial: Option<String>,
    intune_field_model: Option<String>,
    intune_field_os: Option<String>,
    intune_field_last_seen: Option<String>,
    csv_assets_path: Option<String>,
    csv_assets_columns: Option<String>,
    csv_assets_match: Option<String>,
    csv_assets_link_field: Option<String>,
    csv_assets_type: Option<String>,
    csv_assets_delimiter: Option<String>,
    ldap_url: Option<String>,
    // Typed values read as text, so they are looked at only when ldap-users is enabled.
    ldap_starttls: Option<String>,
    ldap_bind_dn: Option<String>,
    ldap_bind_password: Option<String>,
    ldap_bind_password_file: Option<String>,
    ldap_base_dn: Option<String>,
    ldap_filter: Option<String>,
    ldap_attributes: Option<String>,
    ldap_client: Option<String>,
    ldap_client_map: Option<String>,
    ldap_link_field: Option<String>,
    ldap_ca_file: Option<String>,
    ldap_page_size: Option<String>,
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
        | "INTEGRATOR_HALO_TICKETS"
        | "ENTRA_USERS_INCLUDE_GUESTS" => "expected `true` or `false`",
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
        let ours = vars
            .into_iter()
            .filter(|(k, _)| k.bytes().all(|b| !b.is_ascii_lowercase()));
        let raw: Raw = envy::from_iter(ours).map_err(|e| ConfigErrors(vec![envy_error(e)]))?;
        let mut v = Validator::default();
        let config = v.build(raw);
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

/// Collects errors while building the config, so the user sees all of them at once.
#[derive(Default)]
struct Validator {
    errors: Vec<ConfigError>,
}

impl Validator {
    fn error(&mut self, var: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            var: var.to_string(),
            message: message.into(),
        });
    }

    /// A non-empty string (empty counts as unset).
    fn optional(value: Option<String>) -> Option<String> {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, var: &str, value: Option<String>, what: &str) -> Option<String> {
        let value = Self::optional(value);
        if value.is_none() {
            self.error(var, format!("required: {what}"));
        }
        value
    }

    /// `X` or `X_FILE` (a mounted secret; one trailing newline trimmed), not both.
    fn secret(
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

    fn build(&mut self, raw: Raw) -> Option<Config> {
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

        let entra_users = EntraUsersOptions {
            include_guests: self
                .typed("ENTRA_USERS_INCLUDE_GUESTS", raw.entra_users_include_guests)
                .unwrap_or(false),
            filter: Self::optional(raw.entra_users_filter),
        };

        let intune_devices = if imports.contains(&ImportKind::IntuneDevices) {
            IntuneDevicesOptions {
                asset_type: Self::optional(raw.intune_asset_type)
                    .unwrap_or_else(|| "Workstation".into()),
                field_serial: self.field_id("INTUNE_FIELD_SERIAL", raw.intune_field_serial),
                field_model: self.field_id("INTUNE_FIELD_MODEL", raw.intune_field_model),
                field_os: self.field_id("INTUNE_FIELD_OS", raw.intune_field_os),
                field_last_seen: self
                    .field_id("INTUNE_FIELD_LAST_SEEN", raw.intune_field_last_seen),
            }
        } else {
            IntuneDevicesOptions::default()
        };
        let field_ids = [
            ("INTUNE_FIELD_SERIAL", intune_devices.field_serial),
            ("INTUNE_FIELD_MODEL", intune_devices.field_model),
            ("INTUNE_FIELD_OS", intune_devices.field_os),
            ("INTUNE_FIELD_LAST_SEEN", intune_devices.field_last_seen),
        ];
        for (i, (var, id)) in field_ids.iter().enumerate() {
            if let Some(id) = id
                && let Some((other, _)) = field_ids[..i].iter().find(|(_, o)| *o == Some(*id))
            {
                self.error(
                    var,
                    format!(
                        "field id {id} is already used by {other}; each value needs its own field"
                    ),
                );
            }
        }

        let csv_assets = if imports.contains(&ImportKind::CsvAssets) {
            self.csv_assets(CsvRaw {
                path: raw.csv_assets_path,
                columns: raw.csv_assets_columns,
                match_on: raw.csv_assets_match,
                link_field: raw.csv_assets_link_field,
                asset_type: raw.csv_assets_type,
                delimiter: raw.csv_assets_delimiter,
            })
        } else {
            None
        };

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

        let ldap_users = if imports.contains(&ImportKind::LdapUsers) {
            self.ldap_users(
                LdapRaw {
                    url: raw.ldap_url,
                    starttls: raw.ldap_starttls,
                    bind_dn: raw.ldap_bind_dn,
                    bind_password: raw.ldap_bind_password,
                    bind_password_file: raw.ldap_bind_password_file,
                    base_dn: raw.ldap_base_dn,
                    filter: raw.ldap_filter,
                    attributes: raw.ldap_attributes,
                    client: raw.ldap_client,
                    client_map: raw.ldap_client_map,
                    link_field: raw.ldap_link_field,
                    ca_file: raw.ldap_ca_file,
                    page_size: raw.ldap_page_size,
                },
                allow_insecure,
                timeout,
            )
        } else {
            None
        };

        // The mapping file's errors join the others (each names the file and key path).
        let mapping = match Self::optional(raw.integrator_config_file) {
            Some(path) => crate::mapping::Mapping::load(std::path::Path::new(&path))
                .unwrap_or_else(|errors| {
                    self.errors.extend(errors);
                    crate::mapping::Mapping::default()
                }),
            None => crate::mapping::Mapping::default(),
        };

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
            entra_users,
            intune_devices,
            csv_assets,
            ldap_users,
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
    fn halo_id(&mut self, var: &str, value: Option<String>, what: &str) -> Option<i64> {
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

    fn ldap_users(
        &mut self,
        raw: LdapRaw,
        allow_insecure: bool,
        timeout: Duration,
    ) -> Option<LdapUsersOptions> {
        let url = self
            .required(
                "LDAP_URL",
                raw.url,
                "the directory, e.g. ldaps://dc1.corp.example",
            )
            .and_then(|u| match Url::parse(&u) {
                Ok(url) if matches!(url.scheme(), "ldap" | "ldaps") && url.host().is_some() => {
                    Some(url)
                }
                _ => {
                    self.error(
                        "LDAP_URL",
                        format!("expected ldap://host[:port] or ldaps://host[:port], got '{u}'"),
                    );
                    None
                }
            });
        let starttls = match Self::optional(raw.starttls).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                self.error(
                    "LDAP_STARTTLS",
                    format!("expected `true` or `false`, got '{other}'"),
                );
                true
            }
        };
        if let Some(url) = &url
            && url.scheme() == "ldap"
            && !starttls
            && !allow_insecure
            && !url.host_str().is_some_and(is_loopback_host)
        {
            self.error(
                "LDAP_STARTTLS",
                "plain ldap:// without StartTLS sends the bind password in clear; allowed only for loopback hosts or with INTEGRATOR_ALLOW_INSECURE_HTTP=true",
            );
        }
        let bind_dn = self.required(
            "LDAP_BIND_DN",
            raw.bind_dn,
            "the DN of the account that reads the directory",
        );
        let bind_password = match self.secret(
            "LDAP_BIND_PASSWORD",
            raw.bind_password,
            raw.bind_password_file,
        ) {
            Some(None) => {
                self.error(
                    "LDAP_BIND_PASSWORD",
                    "required: the password of LDAP_BIND_DN (or LDAP_BIND_PASSWORD_FILE)",
                );
                None
            }
            other => other.flatten(),
        };
        let base_dn = self.required(
            "LDAP_BASE_DN",
            raw.base_dn,
            "where the users are, e.g. dc=corp,dc=example",
        );
        let filter = Self::optional(raw.filter).unwrap_or_else(|| "(objectClass=person)".into());
        if !(filter.starts_with('(') && filter.ends_with(')')) {
            self.error(
                "LDAP_FILTER",
                format!("expected an LDAP filter in parentheses, e.g. (objectClass=person), got '{filter}'"),
            );
        }
        let attributes = self.ldap_attributes(
            &Self::optional(raw.attributes).unwrap_or_else(|| LDAP_DEFAULT_ATTRIBUTES.into()),
        );
        let client = Self::optional(raw.client);
        let mut client_map = Vec::new();
        for pair in Self::optional(raw.client_map)
            .iter()
            .flat_map(|m| m.split(';'))
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match pair.rsplit_once('=') {
                Some((dn, name)) if dn.contains('=') && !name.trim().is_empty() => {
                    client_map.push((normalize_dn(dn), name.trim().to_string()));
                }
                _ => self.error(
                    "LDAP_CLIENT_MAP",
                    format!("expected `ou=Sales,dc=corp,dc=example=Client name` entries separated by `;`, got '{pair}'"),
                ),
            }
        }
        if client.is_none() && client_map.is_empty() {
            self.error(
                "LDAP_CLIENT",
                "required: the Halo client (name or id) of the directory's users, or LDAP_CLIENT_MAP to map OUs to clients",
            );
        }
        let link_field = match Self::optional(raw.link_field) {
            Some(field) if LDAP_LINK_FIELDS.contains(&field.to_ascii_lowercase().as_str()) => {
                field.to_ascii_lowercase()
            }
            other => {
                self.error(
                    "LDAP_LINK_FIELD",
                    format!(
                        "required: one of {}, the free-text user properties Halo stores and \
                         returns in its user list, where the import keeps each user's directory \
                         id; pick one nothing else uses{}",
                        LDAP_LINK_FIELDS.join(", "),
                        other.map(|v| format!(", got '{v}'")).unwrap_or_default()
                    ),
                );
                String::new()
            }
        };
        let page_size = match Self::optional(raw.page_size) {
            None => 500,
            Some(v) => match v.parse::<i32>() {
                Ok(n) if (1..=10_000).contains(&n) => n,
                _ => {
                    self.error(
                        "LDAP_PAGE_SIZE",
                        format!("expected a page size from 1 to 10000, got '{v}'"),
                    );
                    500
                }
            },
        };
        Some(LdapUsersOptions {
            url: url?,
            starttls,
            bind_dn: bind_dn?,
            bind_password: bind_password?,
            base_dn: base_dn?,
            filter,
            attributes: attributes?,
            client,
            client_map,
            link_field,
            ca_file: Self::optional(raw.ca_file).map(PathBuf::from),
            page_size,
            timeout,
        })
    }

    /// `field=attribute,...` over [`LDAP_USER_FIELDS`]; `name` must be mapped.
    fn ldap_attributes(&mut self, list: &str) -> Option<Vec<(String, String)>> {
        const VAR: &str = "LDAP_ATTRIBUTES";
        let mut mapped: Vec<(String, String)> = Vec::new();
        for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = pair
                .split_once('=')
                .map(|(f, a)| (f.trim().to_ascii_lowercase(), a.trim()));
            match parsed {
                Some((field, attr))
                    if LDAP_USER_FIELDS.contains(&field.as_str())
                        && !attr.is_empty()
                        && !mapped.iter().any(|(f, _)| *f == field) =>
                {
                    mapped.push((field, attr.to_string()));
                }
                _ => {
                    self.error(
                        VAR,
                        format!(
                            "expected `field=attribute` pairs, each field once, fields: {}; got '{pair}'",
                            LDAP_USER_FIELDS.join(", ")
                        ),
                    );
                    return None;
                }
            }
        }
        if !mapped.iter().any(|(f, _)| f == "name") {
            self.error(
                VAR,
                "expected a `name=attribute` mapping (Halo requires a name)",
            );
            return None;
        }
        Some(mapped)
    }

    fn csv_assets(&mut self, raw: CsvRaw) -> Option<CsvAssetsOptions> {
        let path = self.required(
            "CSV_ASSETS_PATH",
            raw.path,
            "the .csv or .xlsx file of the csv-assets import",
        );
        let columns = self
            .required(
                "CSV_ASSETS_COLUMNS",
                raw.columns,
                "the column mapping, e.g. `inventory_number=Asset Tag,serial=Serial,client=Customer`",
            )
            .and_then(|list| self.asset_columns(&list));
        let link_field = match Self::optional(raw.link_field.clone()) {
            None => {
                self.error(
                    "CSV_ASSETS_LINK_FIELD",
                    "required: the id of a Halo asset field in which csv-assets stores the match key of the assets it manages",
                );
                None
            }
            some => self.field_id("CSV_ASSETS_LINK_FIELD", some),
        };
        let match_on = match Self::optional(raw.match_on) {
            Some(name) => {
                match AssetColumn::parse(&name).filter(|c| c.is_value()) {
                    Some(column) => Some(column),
                    None => {
                        self.error(
                        "CSV_ASSETS_MATCH",
                        format!("expected key_field, serial, inventory_number or field:N, got '{name}'"),
                    );
                        None
                    }
                }
            }
            None => Some(AssetColumn::KeyField),
        };
        let delimiter = match Self::optional(raw.delimiter).as_deref() {
            None => None,
            Some("tab" | "\\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d != "\"" => Some(d.as_bytes()[0]),
            Some(other) => {
                self.error(
                    "CSV_ASSETS_DELIMITER",
                    format!("expected one character such as `,` or `;` (or `tab`), got '{other}'"),
                );
                None
            }
        };
        let (columns, match_on, link_field) = (columns?, match_on?, link_field?);
        if !columns.iter().any(|(c, _)| *c == match_on) {
            self.error(
                "CSV_ASSETS_MATCH",
                format!("the match key {match_on} is not mapped in CSV_ASSETS_COLUMNS"),
            );
            return None;
        }
        if columns
            .iter()
            .any(|(c, _)| *c == AssetColumn::Field(link_field))
        {
            self.error(
                "CSV_ASSETS_LINK_FIELD",
                format!("field {link_field} is also mapped in CSV_ASSETS_COLUMNS; the link needs a field of its own"),
            );
            return None;
        }
        Some(CsvAssetsOptions {
            path: PathBuf::from(path?),
            columns,
            match_on,
            link_field,
            asset_type: Self::optional(raw.asset_type).unwrap_or_else(|| "Workstation".into()),
            delimiter,
        })
    }

    /// `target=Column,...`: every target known and mapped once, a `client` column present.
    fn asset_columns(&mut self, list: &str) -> Option<Vec<(AssetColumn, String)>> {
        const VAR: &str = "CSV_ASSETS_COLUMNS";
        let mut columns: Vec<(AssetColumn, String)> = Vec::new();
        for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((target, column)) = pair.split_once('=') else {
                self.error(
                    VAR,
                    format!("expected `target=Column Header`, got '{pair}'"),
                );
                return None;
            };
            let column = column.trim();
            let Some(target) = AssetColumn::parse(target) else {
                self.error(
                    VAR,
                    format!(
                        "unknown target '{}'; known: inventory_number, key_field (or serial), client, type, field:N (N = a Halo asset field id)",
                        target.trim()
                    ),
                );
                return None;
            };
            if column.is_empty() {
                self.error(VAR, format!("no column header given for {target}"));
                return None;
            }
            if columns.iter().any(|(t, _)| *t == target) {
                self.error(VAR, format!("{target} is mapped twice"));
                return None;
            }
            columns.push((target, column.to_string()));
        }
        if !columns.iter().any(|(t, _)| *t == AssetColumn::Client) {
            self.error(
                VAR,
                "expected a `client=Column` mapping: the column naming each asset's Halo client (by name or id)",
            );
            return None;
        }
        Some(columns)
    }

    /// An optional Halo field id: a whole number greater than 0.
    fn field_id(&mut self, var: &str, value: Option<String>) -> Option<i64> {
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

/// The `LDAP_*` part of [`Raw`].
struct LdapRaw {
    url: Option<String>,
    starttls: Option<String>,
    bind_dn: Option<String>,
    bind_password: Option<String>,
    bind_password_file: Option<String>,
    base_dn: Option<String>,
    filter: Option<String>,
    attributes: Option<String>,
    client: Option<String>,
    client_map: Option<String>,
    link_field: Option<String>,
    ca_file: Option<String>,
    page_size: Option<String>,
}

/// The `CSV_ASSETS_*` part of [`Raw`].
struct CsvRaw {
    path: Option<String>,
    columns: Option<String>,
    match_on: Option<String>,
    link_field: Option<String>,
    asset_type: Option<String>,
    delimiter: Option<String>,
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

/// `localhost` or a loopback IP (for URLs whose host the `url` crate keeps opaque, such
/// as `ldap://127.0.0.1`).
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
