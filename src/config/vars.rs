//! The environment variables halo-integrator reads: one table ([`VARS`]), the single
//! source of truth for the name, the default, whether the value is a secret and which
//! import it belongs to.
//!
//! Configuration loading derives the names it knows from it (unknown `HALO_*` /
//! `INTEGRATOR_*` names draw a warning), `halo-integrator vars` prints it, and the chart
//! and README checks (`tests/chart/test_chart.py`) hold the Helm chart and the README's
//! variable tables against that output. Unit tests below hold the table against the
//! fields `envy` reads and against the `OTEL_*` names the telemetry module reads, so
//! neither can drift from it.

use super::ImportKind;

/// Which part of the binary reads a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    /// [`super::Config`], through `envy`.
    Config,
    /// The logging and OpenTelemetry setup (`crate::telemetry`) and the OpenTelemetry SDK.
    Telemetry,
    /// Accepted (no typo warning) but not read by this version yet (none today).
    Reserved,
}

/// One variable.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    /// The default as documented: a value, `required`, `unset` or a derivation.
    pub default: &'static str,
    /// A secret: may instead be given as `NAME_FILE`, never printed.
    pub secret: bool,
    /// The imports whose option it is; empty for a general setting.
    pub imports: &'static [ImportKind],
    pub read_by: ReadBy,
}

const ENTRA: &[ImportKind] = &[ImportKind::EntraUsers, ImportKind::IntuneDevices];
const ENTRA_USERS: &[ImportKind] = &[ImportKind::EntraUsers];
const INTUNE: &[ImportKind] = &[ImportKind::IntuneDevices];
const CSV: &[ImportKind] = &[ImportKind::CsvAssets];
const LDAP: &[ImportKind] = &[ImportKind::LdapUsers];

const fn var(name: &'static str, default: &'static str, imports: &'static [ImportKind]) -> Var {
    Var {
        name,
        default,
        secret: false,
        imports,
        read_by: ReadBy::Config,
    }
}

const fn secret(name: &'static str, default: &'static str, imports: &'static [ImportKind]) -> Var {
    Var {
        secret: true,
        ..var(name, default, imports)
    }
}

const fn telemetry(name: &'static str, default: &'static str) -> Var {
    Var {
        read_by: ReadBy::Telemetry,
        ..var(name, default, &[])
    }
}

/// Every variable, in the README's order.
pub const VARS: &[Var] = &[
    var("HALO_URL", "required", &[]),
    var("HALO_API_URL", "$HALO_URL/api", &[]),
    var("HALO_AUTH_URL", "$HALO_URL/auth", &[]),
    var("HALO_TENANT", "unset", &[]),
    var("HALO_CLIENT_ID", "required", &[]),
    secret("HALO_CLIENT_SECRET", "required", &[]),
    var("HALO_SCOPE", "all", &[]),
    var("HALO_RATE_LIMIT_REQUESTS", "300", &[]),
    var("HALO_RATE_LIMIT_WINDOW_SECONDS", "300", &[]),
    var("HALO_BATCH_SIZE", "50", &[]),
    var("HALO_TIMEOUT_SECONDS", "60", &[]),
    var("ENTRA_CLIENT_ID", "required", ENTRA),
    secret("ENTRA_CLIENT_SECRET", "unset", ENTRA),
    var("AZURE_CLIENT_ID", "unset", ENTRA),
    var("AZURE_FEDERATED_TOKEN_FILE", "unset", ENTRA),
    var("ENTRA_TENANTS", "auto", ENTRA),
    var(
        "ENTRA_AUTHORITY_HOST",
        "https://login.microsoftonline.com",
        ENTRA,
    ),
    var("GRAPH_URL", "https://graph.microsoft.com", ENTRA),
    var("INTEGRATOR_IMPORTS", "required", &[]),
    var("INTEGRATOR_DRY_RUN", "false", &[]),
    var("INTEGRATOR_DEACTIVATE_MISSING", "false", &[]),
    var("INTEGRATOR_MAX_DEACTIVATIONS", "50", &[]),
    var("INTEGRATOR_MAX_DEACTIVATION_PERCENT", "10", &[]),
    var("INTEGRATOR_SHARD_COUNT", "1", &[]),
    var("INTEGRATOR_SHARD_INDEX", "$JOB_COMPLETION_INDEX or 0", &[]),
    var("JOB_COMPLETION_INDEX", "unset", &[]),
    var("INTEGRATOR_METRICS_ADDR", "unset", &[]),
    var("INTEGRATOR_PUSHGATEWAY_URL", "unset", &[]),
    var("INTEGRATOR_LOG_FORMAT", "json", &[]),
    telemetry("RUST_LOG", "info"),
    telemetry("OTEL_EXPORTER_OTLP_ENDPOINT", "unset"),
    telemetry("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "unset"),
    telemetry("OTEL_EXPORTER_OTLP_HEADERS", "unset"),
    telemetry("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
    telemetry("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "unset"),
    telemetry("OTEL_SERVICE_NAME", "halo-integrator"),
    telemetry("OTEL_RESOURCE_ATTRIBUTES", "unset"),
    telemetry("OTEL_SDK_DISABLED", "false"),
    var("INTEGRATOR_RETRY_MAX_ATTEMPTS", "6", &[]),
    var("INTEGRATOR_RETRY_INITIAL_DELAY_MS", "1000", &[]),
    var("INTEGRATOR_RETRY_MAX_DELAY_SECONDS", "60", &[]),
    var("INTEGRATOR_ALLOW_INSECURE_HTTP", "false", &[]),
    var("INTEGRATOR_HALO_TICKETS", "false", &[]),
    var("INTEGRATOR_TICKET_TYPE_ID", "required", &[]),
    var("INTEGRATOR_TICKET_CLIENT", "required", &[]),
    var("INTEGRATOR_TICKET_OUTCOME_ID", "required", &[]),
    var("INTEGRATOR_TICKET_TEAM", "unset", &[]),
    var("INTEGRATOR_TICKET_AGENT_ID", "unset", &[]),
    var("INTEGRATOR_TICKET_CLOSED_STATUS_ID", "unset", &[]),
    var("INTEGRATOR_TICKET_MAX_PER_RUN", "10", &[]),
    var("INTEGRATOR_CONFIG_FILE", "unset", &[]),
    var("ENTRA_USERS_INCLUDE_GUESTS", "false", ENTRA_USERS),
    var("ENTRA_USERS_FILTER", "unset", ENTRA_USERS),
    var("INTUNE_ASSET_TYPE", "Workstation", INTUNE),
    var("INTUNE_FIELD_SERIAL", "unset", INTUNE),
    var("INTUNE_FIELD_MODEL", "unset", INTUNE),
    var("INTUNE_FIELD_OS", "unset", INTUNE),
    var("INTUNE_FIELD_LAST_SEEN", "unset", INTUNE),
    var("CSV_ASSETS_PATH", "required", CSV),
    var("CSV_ASSETS_COLUMNS", "required", CSV),
    var("CSV_ASSETS_MATCH", "key_field", CSV),
    var("CSV_ASSETS_LINK_FIELD", "required", CSV),
    var("CSV_ASSETS_TYPE", "Workstation", CSV),
    var("CSV_ASSETS_DELIMITER", "detected", CSV),
    var("LDAP_URL", "required", LDAP),
    var("LDAP_STARTTLS", "true", LDAP),
    var("LDAP_CA_FILE", "system roots", LDAP),
    var("LDAP_BIND_DN", "required", LDAP),
    secret("LDAP_BIND_PASSWORD", "required", LDAP),
    var("LDAP_BASE_DN", "required", LDAP),
    var("LDAP_FILTER", "(objectClass=person)", LDAP),
    var("LDAP_ATTRIBUTES", super::LDAP_DEFAULT_ATTRIBUTES, LDAP),
    var("LDAP_CLIENT", "unset", LDAP),
    var("LDAP_CLIENT_MAP", "unset", LDAP),
    var("LDAP_LINK_FIELD", "required", LDAP),
    var("LDAP_PAGE_SIZE", "500", LDAP),
];

/// Every name the binary accepts: each variable, and the `_FILE` form of each secret.
pub fn accepted_names() -> Vec<String> {
    VARS.iter()
        .flat_map(|v| {
            std::iter::once(v.name.to_string()).chain(v.secret.then(|| format!("{}_FILE", v.name)))
        })
        .collect()
}

/// The table as `halo-integrator vars` prints it: a header, then one tab-separated line
/// per variable (name, default, `yes` when a secret, imports or `-`, who reads it).
pub fn render() -> String {
    let mut out = String::from("variable\tdefault\tsecret\timports\tread-by\n");
    for v in VARS {
        let imports = if v.imports.is_empty() {
            "-".to_string()
        } else {
            v.imports
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        };
        let read_by = match v.read_by {
            ReadBy::Config => "config",
            ReadBy::Telemetry => "telemetry",
            ReadBy::Reserved => "reserved",
        };
        let secret = if v.secret { "yes" } else { "no" };
        out.push_str(&format!(
            "{}\t{}\t{secret}\t{imports}\t{read_by}\n",
            v.name, v.default
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use serde::de::{self, Visitor};

    use super::*;

    /// A deserializer that only records the field names `#[derive(Deserialize)]` asks for.
    struct FieldNames(Vec<&'static str>);

    #[derive(Debug)]
    struct Stop;

    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field names recorded")
        }
    }

    impl std::error::Error for Stop {}

    impl de::Error for Stop {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Stop
        }
    }

    impl<'de> de::Deserializer<'de> for &mut FieldNames {
        type Error = Stop;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.extend_from_slice(fields);
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }

    fn raw_fields() -> BTreeSet<String> {
        let mut names = FieldNames(Vec::new());
        let _ = super::super::Raw::deserialize(&mut names);
        assert!(!names.0.is_empty(), "no field names recorded");
        names.0.iter().map(|f| f.to_ascii_uppercase()).collect()
    }

    #[test]
    fn the_table_is_exactly_what_config_reads() {
        let table: BTreeSet<String> = VARS
            .iter()
            .filter(|v| v.read_by == ReadBy::Config)
            .flat_map(|v| {
                std::iter::once(v.name.to_string())
                    .chain(v.secret.then(|| format!("{}_FILE", v.name)))
            })
            .collect();
        let raw = raw_fields();
        let missing: Vec<_> = raw.difference(&table).collect();
        let extra: Vec<_> = table.difference(&raw).collect();
        assert!(
            missing.is_empty(),
            "read by config but not in VARS: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "in VARS but not read by config: {extra:?}"
        );
    }

    #[test]
    fn every_otel_variable_the_telemetry_module_names_is_in_the_table() {
        let source = include_str!("../telemetry/mod.rs");
        let names: BTreeSet<&str> = source
            .split('"')
            .filter(|s| {
                s.starts_with("OTEL_")
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
            })
            .collect();
        assert!(names.contains("OTEL_SDK_DISABLED"), "{names:?}");
        for name in names {
            assert!(
                VARS.iter()
                    .any(|v| v.name == name && v.read_by == ReadBy::Telemetry),
                "{name} is read by telemetry but not in VARS"
            );
        }
    }

    #[test]
    fn names_are_unique_and_secrets_are_config_variables() {
        let mut seen = BTreeSet::new();
        for v in VARS {
            assert!(seen.insert(v.name), "{} twice", v.name);
            assert!(
                !v.default.is_empty() && !v.default.contains('\t'),
                "{}",
                v.name
            );
            assert!(!v.secret || v.read_by == ReadBy::Config, "{}", v.name);
        }
    }

    #[test]
    fn render_prints_one_line_per_variable() {
        let out = render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), VARS.len() + 1);
        assert!(lines.contains(&"LDAP_BIND_PASSWORD\trequired\tyes\tldap-users\tconfig"));
        assert!(lines.contains(&"ENTRA_TENANTS\tauto\tno\tentra-users,intune-devices\tconfig"));
        assert!(lines.iter().all(|l| l.split('\t').count() == 5));
    }
}
