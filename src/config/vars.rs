//! The environment variables halo-integrator reads: one table, the single source of truth
//! for the name, the default, whether the value is a secret and which import it belongs
//! to. The general rows are [`VARS`]; each import brings its own rows
//! (`crate::imports::unit::Import::VARS`), listed after them in the registry's order.
//!
//! Configuration loading derives the names it knows from it (unknown `HALO_*` /
//! `INTEGRATOR_*` names draw a warning), `halo-integrator vars` prints it, and the chart
//! and README checks (`tests/chart/test_chart.py`) hold the Helm chart and the README's
//! variable tables against that output. Unit tests below hold the table against the
//! fields `envy` reads and against the `OTEL_*` names the telemetry module reads, so
//! neither can drift from it.

use crate::imports::unit::ImportKind;

/// Which part of the binary reads a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    /// [`super::Config`], through `envy`.
    Config,
    /// The logging and OpenTelemetry setup (`crate::telemetry`) and the OpenTelemetry SDK.
    Telemetry,
}

/// One variable.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    /// The default as documented: a value, `required`, `unset` or a derivation.
    pub default: &'static str,
    /// A secret: may instead be given as `NAME_FILE`, never printed.
    pub secret: bool,
    /// Which imports it belongs to.
    pub scope: Scope,
    pub read_by: ReadBy,
}

/// Which imports a variable belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A general setting.
    General,
    /// Every import that reads Microsoft Graph.
    Entra,
    /// The one import whose rows it is in.
    Own,
}

const fn var(name: &'static str, default: &'static str, scope: Scope) -> Var {
    Var {
        name,
        default,
        secret: false,
        scope,
        read_by: ReadBy::Config,
    }
}

const fn secret(name: &'static str, default: &'static str, scope: Scope) -> Var {
    Var {
        secret: true,
        ..var(name, default, scope)
    }
}

const fn telemetry(name: &'static str, default: &'static str) -> Var {
    Var {
        read_by: ReadBy::Telemetry,
        ..var(name, default, Scope::General)
    }
}

/// A variable of the import whose rows it is in.
pub(crate) const fn own(name: &'static str, default: &'static str) -> Var {
    var(name, default, Scope::Own)
}

/// A secret of the import whose rows it is in.
pub(crate) const fn own_secret(name: &'static str, default: &'static str) -> Var {
    secret(name, default, Scope::Own)
}

const ENTRA: Scope = Scope::Entra;

/// The general variables, in the README's order; the imports' own rows follow them.
pub const VARS: &[Var] = &[
    var("HALO_URL", "required", Scope::General),
    var("HALO_API_URL", "$HALO_URL/api", Scope::General),
    var("HALO_AUTH_URL", "$HALO_URL/auth", Scope::General),
    var("HALO_TENANT", "unset", Scope::General),
    var("HALO_CLIENT_ID", "required", Scope::General),
    secret("HALO_CLIENT_SECRET", "required", Scope::General),
    var("HALO_SCOPE", "all", Scope::General),
    var("HALO_RATE_LIMIT_REQUESTS", "300", Scope::General),
    var("HALO_RATE_LIMIT_WINDOW_SECONDS", "300", Scope::General),
    var("HALO_BATCH_SIZE", "50", Scope::General),
    var("HALO_TIMEOUT_SECONDS", "60", Scope::General),
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
    var("INTEGRATOR_IMPORTS", "required", Scope::General),
    var("INTEGRATOR_DRY_RUN", "false", Scope::General),
    var("INTEGRATOR_DEACTIVATE_MISSING", "false", Scope::General),
    var("INTEGRATOR_MAX_DEACTIVATIONS", "50", Scope::General),
    var("INTEGRATOR_MAX_DEACTIVATION_PERCENT", "10", Scope::General),
    var("INTEGRATOR_SHARD_COUNT", "1", Scope::General),
    var(
        "INTEGRATOR_SHARD_INDEX",
        "$JOB_COMPLETION_INDEX or 0",
        Scope::General,
    ),
    var("JOB_COMPLETION_INDEX", "unset", Scope::General),
    var("INTEGRATOR_METRICS_ADDR", "unset", Scope::General),
    var("INTEGRATOR_PUSHGATEWAY_URL", "unset", Scope::General),
    var("INTEGRATOR_LOG_FORMAT", "json", Scope::General),
    telemetry("RUST_LOG", "info"),
    telemetry("OTEL_EXPORTER_OTLP_ENDPOINT", "unset"),
    telemetry("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "unset"),
    telemetry("OTEL_EXPORTER_OTLP_HEADERS", "unset"),
    telemetry("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
    telemetry("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "unset"),
    telemetry("OTEL_SERVICE_NAME", "halo-integrator"),
    telemetry("OTEL_RESOURCE_ATTRIBUTES", "unset"),
    telemetry("OTEL_SDK_DISABLED", "false"),
    var("INTEGRATOR_RETRY_MAX_ATTEMPTS", "6", Scope::General),
    var("INTEGRATOR_RETRY_INITIAL_DELAY_MS", "1000", Scope::General),
    var("INTEGRATOR_RETRY_MAX_DELAY_SECONDS", "60", Scope::General),
    var("INTEGRATOR_ALLOW_INSECURE_HTTP", "false", Scope::General),
    var("INTEGRATOR_HALO_TICKETS", "false", Scope::General),
    var("INTEGRATOR_TICKET_TYPE_ID", "required", Scope::General),
    var("INTEGRATOR_TICKET_CLIENT", "required", Scope::General),
    var("INTEGRATOR_TICKET_OUTCOME_ID", "required", Scope::General),
    var("INTEGRATOR_TICKET_TEAM", "unset", Scope::General),
    var("INTEGRATOR_TICKET_AGENT_ID", "unset", Scope::General),
    var(
        "INTEGRATOR_TICKET_CLOSED_STATUS_ID",
        "unset",
        Scope::General,
    ),
    var("INTEGRATOR_TICKET_MAX_PER_RUN", "10", Scope::General),
    var("INTEGRATOR_CONFIG_FILE", "unset", Scope::General),
];

/// Every variable, the imports' own rows after the general ones, with the imports each
/// belongs to (empty for a general setting).
pub fn all() -> Vec<(&'static Var, Vec<ImportKind>)> {
    let general = VARS.iter().map(|v| {
        let imports = match v.scope {
            Scope::Entra => ImportKind::all().filter(|k| k.needs_entra()).collect(),
            Scope::General | Scope::Own => Vec::new(),
        };
        (v, imports)
    });
    let own = ImportKind::all().flat_map(|k| k.vars().iter().map(move |v| (v, vec![k])));
    general.chain(own).collect()
}

/// Every name the binary accepts: each variable, and the `_FILE` form of each secret.
pub fn accepted_names() -> Vec<String> {
    all()
        .into_iter()
        .map(|(v, _)| v)
        .flat_map(|v| {
            std::iter::once(v.name.to_string()).chain(v.secret.then(|| format!("{}_FILE", v.name)))
        })
        .collect()
}

/// The table as `halo-integrator vars` prints it: a header, then one tab-separated line
/// per variable (name, default, `yes` when a secret, imports or `-`, who reads it).
pub fn render() -> String {
    let mut out = String::from("variable\tdefault\tsecret\timports\tread-by\n");
    for (v, imports) in all() {
        let imports = if imports.is_empty() {
            "-".to_string()
        } else {
            imports
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        };
        let read_by = match v.read_by {
            ReadBy::Config => "config",
            ReadBy::Telemetry => "telemetry",
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

    /// The names the config reads: the fields `envy` fills, and the names each import's
    /// options ask for.
    fn read_names() -> BTreeSet<String> {
        let mut names = FieldNames(Vec::new());
        let _ = super::super::Raw::deserialize(&mut names);
        assert!(!names.0.is_empty(), "no field names recorded");
        let mut read: BTreeSet<String> = names.0.iter().map(|f| f.to_ascii_uppercase()).collect();
        for kind in ImportKind::all() {
            let env = super::super::Env::new([]);
            let common = super::super::Common {
                mapping: &crate::mapping::Mapping::default(),
                allow_insecure: false,
                timeout: std::time::Duration::from_secs(1),
            };
            let _ = kind.enable(&env, &mut super::super::Validator::default(), &common);
            let asked = env.asked();
            assert!(!asked.is_empty(), "{kind} reads no variable");
            let own: BTreeSet<String> = kind
                .vars()
                .iter()
                .flat_map(|v| {
                    std::iter::once(v.name.to_string())
                        .chain(v.secret.then(|| format!("{}_FILE", v.name)))
                })
                .collect();
            assert_eq!(asked, own, "{kind}: its rows are what its options read");
            read.extend(asked);
        }
        read
    }

    #[test]
    fn the_table_is_exactly_what_config_reads() {
        let table: BTreeSet<String> = all()
            .into_iter()
            .map(|(v, _)| v)
            .filter(|v| v.read_by == ReadBy::Config)
            .flat_map(|v| {
                std::iter::once(v.name.to_string())
                    .chain(v.secret.then(|| format!("{}_FILE", v.name)))
            })
            .collect();
        let raw = read_names();
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
        for (v, _) in all() {
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
        assert_eq!(lines.len(), all().len() + 1);
        assert!(lines.contains(&"LDAP_BIND_PASSWORD\trequired\tyes\tldap-users\tconfig"));
        assert!(lines.contains(&"ENTRA_TENANTS\tauto\tno\tentra-users,intune-devices\tconfig"));
        assert!(lines.iter().all(|l| l.split('\t').count() == 5));
    }
}
