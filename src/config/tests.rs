//! Table-driven tests of configuration parsing: every error names its variable.

use super::*;
use crate::imports::csv_assets::{AssetColumn, CsvAssetsOptions};
use crate::imports::intune_devices::IntuneDevicesOptions;
use crate::imports::ldap_users::LdapUsersOptions;

/// The names of the enabled imports, in order.
fn names(c: &Config) -> Vec<&'static str> {
    c.imports.iter().map(|e| e.kind().name()).collect()
}

/// The options of the enabled import whose options are a `T`.
fn options<T: 'static>(c: &Config) -> Option<&T> {
    c.imports.iter().find_map(|e| e.options::<T>())
}

const SECRET: &str = "s3cr3t-Do-Not-Leak";

fn base() -> Vec<(&'static str, String)> {
    vec![
        ("HALO_URL", "https://acme.halopsa.com".into()),
        ("HALO_CLIENT_ID", "halo-client".into()),
        ("HALO_CLIENT_SECRET", SECRET.into()),
        ("INTEGRATOR_IMPORTS", "entra-users".into()),
        ("ENTRA_CLIENT_ID", "entra-client".into()),
        ("ENTRA_CLIENT_SECRET", SECRET.into()),
    ]
}

fn load(vars: &[(&str, String)]) -> Result<(Config, Vec<String>), ConfigErrors> {
    Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

/// `base()` with `var` set to `value` (or removed when `value` is None).
fn with(var: &'static str, value: Option<&str>) -> Vec<(&'static str, String)> {
    let mut vars: Vec<_> = base().into_iter().filter(|(k, _)| *k != var).collect();
    if let Some(v) = value {
        vars.push((var, v.to_string()));
    }
    vars
}

#[test]
fn defaults_are_the_documented_ones() {
    let (c, warnings) = load(&base()).expect("valid");
    assert!(warnings.is_empty());
    assert_eq!(c.halo.api_url.as_str(), "https://acme.halopsa.com/api");
    assert_eq!(c.halo.auth_url.as_str(), "https://acme.halopsa.com/auth");
    assert_eq!(c.halo.scope, "all");
    assert_eq!(c.halo.rate_limit.requests, 300);
    assert_eq!(c.halo.rate_limit.window, Duration::from_secs(300));
    assert_eq!(c.halo.batch_size, 50);
    assert_eq!(c.halo.timeout, Duration::from_secs(60));
    assert_eq!(names(&c), ["entra-users"]);
    assert!(!c.dry_run);
    assert!(!c.safety.deactivate_missing);
    assert_eq!(c.safety.max_deactivations, 50);
    assert_eq!(c.safety.max_deactivation_percent, 10.0);
    assert_eq!(c.shard, Shard { count: 1, index: 0 });
    assert_eq!(c.log_format, LogFormat::Json);
    let entra = c.entra.expect("entra config");
    assert_eq!(entra.tenants, TenantSelection::Auto);
    assert_eq!(
        entra.authority_host.as_str(),
        "https://login.microsoftonline.com/"
    );
    assert_eq!(entra.graph_url.as_str(), "https://graph.microsoft.com/");
}

#[test]
fn invalid_values_name_the_variable() {
    // (case, variable set, value or None = removed, variable named in the error, text in the message)
    let cases: &[(&str, &'static str, Option<&str>, &str, &str)] = &[
        ("missing url", "HALO_URL", None, "HALO_URL", "required"),
        ("empty url", "HALO_URL", Some(""), "HALO_URL", "required"),
        (
            "url without scheme",
            "HALO_URL",
            Some("acme.halopsa.com"),
            "HALO_URL",
            "absolute URL",
        ),
        (
            "ftp url",
            "HALO_URL",
            Some("ftp://acme.halopsa.com"),
            "HALO_URL",
            "scheme 'ftp'",
        ),
        (
            "plain http remote",
            "HALO_URL",
            Some("http://acme.halopsa.com"),
            "HALO_URL",
            "loopback",
        ),
        (
            "url with query",
            "HALO_URL",
            Some("https://acme.halopsa.com/?x=1"),
            "HALO_URL",
            "without query",
        ),
        (
            "bad api url",
            "HALO_API_URL",
            Some("not a url"),
            "HALO_API_URL",
            "absolute URL",
        ),
        (
            "missing client id",
            "HALO_CLIENT_ID",
            None,
            "HALO_CLIENT_ID",
            "required",
        ),
        (
            "missing secret",
            "HALO_CLIENT_SECRET",
            None,
            "HALO_CLIENT_SECRET",
            "required",
        ),
        (
            "batch size text",
            "HALO_BATCH_SIZE",
            Some("many"),
            "HALO_BATCH_SIZE",
            "whole number, got 'many'",
        ),
        (
            "batch size with a separator (empty is unset, like every variable)",
            "HALO_BATCH_SIZE",
            Some("1 000"),
            "HALO_BATCH_SIZE",
            "whole number, got '1 000'",
        ),
        (
            "batch size zero",
            "HALO_BATCH_SIZE",
            Some("0"),
            "HALO_BATCH_SIZE",
            "greater than 0",
        ),
        (
            "batch size negative",
            "HALO_BATCH_SIZE",
            Some("-5"),
            "HALO_BATCH_SIZE",
            "whole number",
        ),
        (
            "batch size huge",
            "HALO_BATCH_SIZE",
            Some("5000"),
            "HALO_BATCH_SIZE",
            "at most 1000",
        ),
        (
            "timeout text",
            "HALO_TIMEOUT_SECONDS",
            Some("1m"),
            "HALO_TIMEOUT_SECONDS",
            "whole number",
        ),
        (
            "rate zero",
            "HALO_RATE_LIMIT_REQUESTS",
            Some("0"),
            "HALO_RATE_LIMIT_REQUESTS",
            "greater than 0",
        ),
        (
            "window zero",
            "HALO_RATE_LIMIT_WINDOW_SECONDS",
            Some("0"),
            "HALO_RATE_LIMIT_WINDOW_SECONDS",
            "greater than 0",
        ),
        (
            "no imports",
            "INTEGRATOR_IMPORTS",
            None,
            "INTEGRATOR_IMPORTS",
            "required",
        ),
        (
            "unknown import",
            "INTEGRATOR_IMPORTS",
            Some("entra-users,ad-users"),
            "INTEGRATOR_IMPORTS",
            "unknown import 'ad-users'",
        ),
        (
            "only commas",
            "INTEGRATOR_IMPORTS",
            Some(" , "),
            "INTEGRATOR_IMPORTS",
            "at least one import",
        ),
        (
            "dry run yes",
            "INTEGRATOR_DRY_RUN",
            Some("yes"),
            "INTEGRATOR_DRY_RUN",
            "`true` or `false`, got 'yes'",
        ),
        (
            "deactivate 1",
            "INTEGRATOR_DEACTIVATE_MISSING",
            Some("1"),
            "INTEGRATOR_DEACTIVATE_MISSING",
            "`true` or `false`",
        ),
        (
            "max deact text",
            "INTEGRATOR_MAX_DEACTIVATIONS",
            Some("ten"),
            "INTEGRATOR_MAX_DEACTIVATIONS",
            "whole number",
        ),
        (
            "percent over",
            "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
            Some("150"),
            "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
            "0 to 100",
        ),
        (
            "percent text",
            "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
            Some("ten%"),
            "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
            "0 to 100",
        ),
        (
            "shard count zero",
            "INTEGRATOR_SHARD_COUNT",
            Some("0"),
            "INTEGRATOR_SHARD_COUNT",
            "greater than 0",
        ),
        (
            "shard index out of range",
            "INTEGRATOR_SHARD_INDEX",
            Some("1"),
            "INTEGRATOR_SHARD_INDEX",
            "from 0 to 0",
        ),
        (
            "log format",
            "INTEGRATOR_LOG_FORMAT",
            Some("xml"),
            "INTEGRATOR_LOG_FORMAT",
            "`json` or `text`",
        ),
        (
            "entra client id",
            "ENTRA_CLIENT_ID",
            None,
            "ENTRA_CLIENT_ID",
            "required by entra-users",
        ),
        (
            "entra secret",
            "ENTRA_CLIENT_SECRET",
            None,
            "ENTRA_CLIENT_SECRET",
            "required by entra-users",
        ),
        (
            "tenants garbage",
            "ENTRA_TENANTS",
            Some("contoso"),
            "ENTRA_TENANTS",
            "`auto` or a comma-separated list",
        ),
        (
            "authority no scheme",
            "ENTRA_AUTHORITY_HOST",
            Some("login.microsoftonline.com"),
            "ENTRA_AUTHORITY_HOST",
            "absolute URL",
        ),
        (
            "graph http",
            "GRAPH_URL",
            Some("http://graph.example.com"),
            "GRAPH_URL",
            "loopback",
        ),
        (
            "metrics addr without host",
            "INTEGRATOR_METRICS_ADDR",
            Some("9464"),
            "INTEGRATOR_METRICS_ADDR",
            "such as 0.0.0.0:9464",
        ),
        (
            "pushgateway without scheme",
            "INTEGRATOR_PUSHGATEWAY_URL",
            Some("pushgateway:9091"),
            "INTEGRATOR_PUSHGATEWAY_URL",
            "scheme 'pushgateway'",
        ),
        (
            "retry attempts zero",
            "INTEGRATOR_RETRY_MAX_ATTEMPTS",
            Some("0"),
            "INTEGRATOR_RETRY_MAX_ATTEMPTS",
            "greater than 0",
        ),
    ];
    for (name, var, value, named, text) in cases {
        let err = load(&with(var, *value)).expect_err(name);
        let hit = err.0.iter().find(|e| e.var == *named);
        let hit = hit.unwrap_or_else(|| panic!("{name}: no error for {named}: {err}"));
        assert!(
            hit.message.contains(text),
            "{name}: '{}' lacks '{text}'",
            hit.message
        );
        assert!(!err.to_string().contains(SECRET), "{name}: secret in error");
    }
}

#[test]
fn all_errors_are_reported_together() {
    let err = load(&[("INTEGRATOR_IMPORTS", "entra-users".to_string())]).expect_err("invalid");
    let vars: Vec<&str> = err.0.iter().map(|e| e.var.as_str()).collect();
    for var in [
        "HALO_URL",
        "HALO_CLIENT_ID",
        "HALO_CLIENT_SECRET",
        "ENTRA_CLIENT_ID",
        "ENTRA_CLIENT_SECRET",
    ] {
        assert!(vars.contains(&var), "{var} missing from {vars:?}");
    }
}

#[test]
fn secrets_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("halo-secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let path = file.to_string_lossy().to_string();

    let mut vars = with("HALO_CLIENT_SECRET", None);
    vars.push(("HALO_CLIENT_SECRET_FILE", path.clone()));
    let (c, _) = load(&vars).expect("valid");
    assert_eq!(
        c.halo.client_secret.expose(),
        SECRET,
        "trailing newline trimmed"
    );

    let mut both = base();
    both.push(("HALO_CLIENT_SECRET_FILE", path));
    let err = load(&both).expect_err("both set");
    assert!(err.0[0].message.contains("not both"), "{err}");

    let mut missing = with("ENTRA_CLIENT_SECRET", None);
    missing.push(("ENTRA_CLIENT_SECRET_FILE", "/nonexistent/secret".into()));
    let err = load(&missing).expect_err("unreadable");
    assert_eq!(err.0[0].var, "ENTRA_CLIENT_SECRET_FILE");
    assert!(err.0[0].message.contains("/nonexistent/secret"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let mut vars = with("HALO_CLIENT_SECRET", None);
    vars.push((
        "HALO_CLIENT_SECRET_FILE",
        empty.to_string_lossy().to_string(),
    ));
    let err = load(&vars).expect_err("empty file");
    assert!(err.0[0].message.contains("is empty"), "{err}");
}

#[test]
fn workload_identity_replaces_the_entra_secret() {
    let mut vars: Vec<_> = base()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("ENTRA_"))
        .collect();
    vars.push(("AZURE_CLIENT_ID", "wi-client".into()));
    vars.push((
        "AZURE_FEDERATED_TOKEN_FILE",
        "/var/run/secrets/azure/tokens/azure-identity-token".into(),
    ));
    let (c, _) = load(&vars).expect("valid");
    let entra = c.entra.unwrap();
    assert_eq!(entra.client_id, "wi-client");
    assert!(matches!(
        entra.credential,
        EntraCredential::FederatedTokenFile(_)
    ));
}

#[test]
fn debug_output_redacts_secrets() {
    let (c, _) = load(&base()).expect("valid");
    let debug = format!("{c:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("redacted"));
}

#[test]
fn explicit_tenants_lists_and_options() {
    let mut vars = base();
    vars.push((
        "ENTRA_TENANTS",
        " 11111111-1111-1111-1111-111111111111 ,contoso.onmicrosoft.com,11111111-1111-1111-1111-111111111111".into(),
    ));
    vars.push(("HALO_TENANT", "acme".into()));
    vars.push(("HALO_URL", "http://127.0.0.1:8080/".into()));
    vars.push(("INTEGRATOR_SHARD_COUNT", "3".into()));
    vars.push(("JOB_COMPLETION_INDEX", "2".into()));
    vars.push(("INTEGRATOR_LOG_FORMAT", "text".into()));
    let vars: Vec<_> = vars
        .into_iter()
        .filter(|(k, v)| !(*k == "HALO_URL" && v.starts_with("https")))
        .collect();
    let (c, _) = load(&vars).expect("valid");
    assert_eq!(
        c.entra.unwrap().tenants,
        TenantSelection::List(vec![
            "11111111-1111-1111-1111-111111111111".into(),
            "contoso.onmicrosoft.com".into()
        ])
    );
    assert_eq!(c.halo.tenant.as_deref(), Some("acme"));
    assert_eq!(c.halo.api_url.as_str(), "http://127.0.0.1:8080/api");
    assert_eq!(c.shard, Shard { count: 3, index: 2 });
    assert_eq!(
        c.halo.rate_limit.requests, 100,
        "each shard gets 1/3 of the budget"
    );
    assert_eq!(c.log_format, LogFormat::Text);
}

#[test]
fn insecure_http_needs_an_explicit_opt_in() {
    let mut vars = with("HALO_URL", Some("http://halo.internal"));
    assert!(load(&vars).is_err());
    vars.push(("INTEGRATOR_ALLOW_INSECURE_HTTP", "true".into()));
    assert!(load(&vars).is_ok());
}

#[test]
fn unknown_variables_warn() {
    let mut vars = base();
    vars.push(("HALO_BATCHSIZE", "10".into()));
    vars.push(("INTEGRATOR_DRYRUN", "true".into()));
    vars.push(("HOME", "/root".into()));
    let (_, warnings) = load(&vars).expect("valid");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("HALO_BATCHSIZE"));
    assert!(warnings[1].contains("INTEGRATOR_DRYRUN"));
}

#[test]
fn shards_split_tenants_stably_and_completely() {
    let tenants: Vec<String> = (0..300)
        .map(|i| format!("tenant-{i}.example.com"))
        .collect();
    let shards: Vec<Shard> = (0..3).map(|index| Shard { count: 3, index }).collect();
    for t in &tenants {
        let owners = shards.iter().filter(|s| s.owns(t)).count();
        assert_eq!(owners, 1, "{t} must belong to exactly one shard");
        assert_eq!(
            shards[0].owns(t),
            shards[0].owns(&t.to_uppercase()),
            "case-insensitive"
        );
    }
    for s in &shards {
        let n = tenants.iter().filter(|t| s.owns(t)).count();
        assert!((60..=140).contains(&n), "shard {} got {n} of 300", s.index);
    }
}

#[test]
fn telemetry_endpoints() {
    let mut vars = base();
    vars.push(("INTEGRATOR_METRICS_ADDR", "0.0.0.0:9464".into()));
    // In-cluster Pushgateways speak plain http and receive no secret.
    vars.push((
        "INTEGRATOR_PUSHGATEWAY_URL",
        "http://pushgateway.monitoring:9091".into(),
    ));
    let (c, _) = load(&vars).expect("valid");
    assert_eq!(c.metrics_addr, Some("0.0.0.0:9464".parse().unwrap()));
    assert_eq!(
        c.pushgateway_url.unwrap().as_str(),
        "http://pushgateway.monitoring:9091/"
    );
}

/// Fuzzing of configuration parsing (proptest-driven; failing inputs are kept in
/// `proptest-regressions/`): any values for any of our variables give a config or
/// errors that each name one of those variables — never a panic, never a secret echoed.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,40}",
            "\\PC{0,20}",
            Just(String::new()),
            Just("0".to_string()),
            Just("-1".to_string()),
            Just("18446744073709551616".to_string()),
            Just("https://".to_string()),
            Just("http://[::1]:99999".to_string()),
            Just("true".to_string()),
        ]
    }

    /// The `HALO_*` / `INTEGRATOR_*` names (those whose typos draw a warning).
    fn warned_names() -> Vec<String> {
        vars::accepted_names()
            .into_iter()
            .filter(|n| n.starts_with("HALO_") || n.starts_with("INTEGRATOR_"))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_values_never_panic_and_errors_name_a_variable(
            picks in proptest::collection::vec((proptest::sample::select(warned_names()), any_value()), 0..6)
        ) {
            let mut vars: Vec<(String, String)> = base().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            for (k, v) in &picks {
                vars.retain(|(name, _)| name != k);
                vars.push((k.to_string(), v.clone()));
            }
            if let Err(errors) = Config::from_vars(vars) {
                let known = vars::accepted_names();
                for e in &errors.0 {
                    prop_assert!(known.contains(&e.var), "error names an unknown variable: {e}");
                }
                prop_assert!(!errors.to_string().contains(SECRET));
            }
        }
    }
}

/// `base()` with both imports enabled and the `INTUNE_*` variables given.
fn intune(vars: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut all: Vec<_> = base()
        .into_iter()
        .filter(|(k, _)| *k != "INTEGRATOR_IMPORTS")
        .collect();
    all.push(("INTEGRATOR_IMPORTS", "entra-users,intune-devices".into()));
    all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
    all
}

#[test]
fn intune_options_are_typed_and_defaulted() {
    let (c, _) = load(&intune(&[])).expect("valid");
    assert_eq!(names(&c), ["entra-users", "intune-devices"]);
    let o = options::<IntuneDevicesOptions>(&c).expect("intune options");
    let d = IntuneDevicesOptions::default();
    assert_eq!(
        (
            &o.asset_type,
            o.field_serial,
            o.field_model,
            o.field_os,
            o.field_last_seen
        ),
        (
            &d.asset_type,
            d.field_serial,
            d.field_model,
            d.field_os,
            d.field_last_seen
        )
    );
    assert_eq!(o.asset_type, "Workstation");

    let (c, _) = load(&intune(&[
        ("INTUNE_ASSET_TYPE", " Laptop "),
        ("INTUNE_FIELD_SERIAL", "12"),
        ("INTUNE_FIELD_MODEL", "13"),
        ("INTUNE_FIELD_OS", "14"),
        ("INTUNE_FIELD_LAST_SEEN", " 15 "),
    ]))
    .expect("valid");
    let o = options::<IntuneDevicesOptions>(&c).expect("intune options");
    assert_eq!(
        (
            &*o.asset_type,
            o.field_serial,
            o.field_model,
            o.field_os,
            o.field_last_seen
        ),
        ("Laptop", Some(12), Some(13), Some(14), Some(15))
    );
}

#[test]
fn intune_options_are_validated_only_when_the_import_is_enabled() {
    // (case, variable, value, text in the message)
    let cases: &[(&str, &'static str, &str, &str)] = &[
        (
            "serial zero",
            "INTUNE_FIELD_SERIAL",
            "0",
            "greater than 0), got '0'",
        ),
        ("model negative", "INTUNE_FIELD_MODEL", "-3", "got '-3'"),
        ("os text", "INTUNE_FIELD_OS", "os", "asset field id"),
        (
            "last seen float",
            "INTUNE_FIELD_LAST_SEEN",
            "4.5",
            "got '4.5'",
        ),
    ];
    for (name, var, value, text) in cases {
        let err = load(&intune(&[(var, value)])).expect_err(name);
        let hit = err.0.iter().find(|e| e.var == *var);
        let hit = hit.unwrap_or_else(|| panic!("{name}: no error for {var}: {err}"));
        assert!(hit.message.contains(text), "{name}: '{}'", hit.message);
        // The same value with only entra-users enabled is not looked at.
        let mut vars = base();
        vars.push((var, value.to_string()));
        let (c, _) = load(&vars).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(options::<IntuneDevicesOptions>(&c).is_none());
    }
    let err = load(&intune(&[
        ("INTUNE_FIELD_SERIAL", "7"),
        ("INTUNE_FIELD_OS", "7"),
    ]))
    .expect_err("one field for two values");
    assert!(
        err.0
            .iter()
            .any(|e| e.var == "INTUNE_FIELD_OS" && e.message.contains("INTUNE_FIELD_SERIAL")),
        "{err}"
    );
}

/// `base()` with csv-assets enabled (alone: it needs no Entra settings) and `vars` given.
fn csv(vars: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut all: Vec<_> = base()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("ENTRA_") && *k != "INTEGRATOR_IMPORTS")
        .collect();
    all.push(("INTEGRATOR_IMPORTS", "csv-assets".into()));
    for (k, v) in [
        ("CSV_ASSETS_PATH", "/data/assets.csv"),
        (
            "CSV_ASSETS_COLUMNS",
            "inventory_number=Asset Tag, serial=Serial ,client=Customer,type=Type,field:12=RAM",
        ),
        ("CSV_ASSETS_LINK_FIELD", "20"),
    ] {
        if !vars.iter().any(|(name, _)| *name == k) {
            all.push((k, v.to_string()));
        }
    }
    all.extend(
        vars.iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.to_string())),
    );
    all
}

#[test]
fn csv_options_are_typed_and_defaulted() {
    let (c, _) = load(&csv(&[])).expect("valid");
    assert_eq!(names(&c), ["csv-assets"]);
    assert!(c.entra.is_none(), "csv-assets needs no Entra settings");
    let o = options::<CsvAssetsOptions>(&c).expect("csv options");
    assert_eq!(o.path, PathBuf::from("/data/assets.csv"));
    assert_eq!(
        o.columns,
        vec![
            (AssetColumn::InventoryNumber, "Asset Tag".to_string()),
            (AssetColumn::KeyField, "Serial".to_string()),
            (AssetColumn::Client, "Customer".to_string()),
            (AssetColumn::Type, "Type".to_string()),
            (AssetColumn::Field(12), "RAM".to_string()),
        ]
    );
    assert_eq!(o.match_on, AssetColumn::KeyField, "default: the serial");
    assert_eq!(o.link_field, 20);
    assert_eq!(o.asset_type, "Workstation");
    assert_eq!(o.delimiter, None, "detected");

    let (c, _) = load(&csv(&[
        ("CSV_ASSETS_MATCH", "field:12"),
        ("CSV_ASSETS_DELIMITER", "tab"),
        ("CSV_ASSETS_TYPE", "Laptop"),
    ]))
    .expect("valid");
    let o = options::<CsvAssetsOptions>(&c).unwrap();
    assert_eq!(o.match_on, AssetColumn::Field(12));
    assert_eq!(o.delimiter, Some(b'\t'));
    assert_eq!(o.asset_type, "Laptop");
    let (c, _) = load(&csv(&[("CSV_ASSETS_DELIMITER", ";")])).unwrap();
    assert_eq!(
        options::<CsvAssetsOptions>(&c).unwrap().delimiter,
        Some(b';')
    );
}

#[test]
fn csv_options_are_validated_only_when_the_import_is_enabled() {
    // (case, variable, value ("" = unset), variable named, text in the message)
    let cases: &[(&str, &'static str, &str, &str, &str)] = &[
        (
            "no path",
            "CSV_ASSETS_PATH",
            "",
            "CSV_ASSETS_PATH",
            "required",
        ),
        (
            "no columns",
            "CSV_ASSETS_COLUMNS",
            "",
            "CSV_ASSETS_COLUMNS",
            "required",
        ),
        (
            "pair without =",
            "CSV_ASSETS_COLUMNS",
            "client=Customer,Serial",
            "CSV_ASSETS_COLUMNS",
            "got 'Serial'",
        ),
        (
            "unknown target",
            "CSV_ASSETS_COLUMNS",
            "client=Customer,colour=Colour",
            "CSV_ASSETS_COLUMNS",
            "unknown target 'colour'",
        ),
        (
            "bad field id",
            "CSV_ASSETS_COLUMNS",
            "client=Customer,field:0=RAM",
            "CSV_ASSETS_COLUMNS",
            "unknown target 'field:0'",
        ),
        (
            "mapped twice",
            "CSV_ASSETS_COLUMNS",
            "client=Customer,serial=A,key_field=B",
            "CSV_ASSETS_COLUMNS",
            "key_field is mapped twice",
        ),
        (
            "no client column",
            "CSV_ASSETS_COLUMNS",
            "serial=Serial",
            "CSV_ASSETS_COLUMNS",
            "client=Column",
        ),
        (
            "empty header",
            "CSV_ASSETS_COLUMNS",
            "client=Customer,serial=",
            "CSV_ASSETS_COLUMNS",
            "no column header",
        ),
        (
            "match not mapped",
            "CSV_ASSETS_COLUMNS",
            "client=Customer,inventory_number=Tag",
            "CSV_ASSETS_MATCH",
            "key_field is not mapped",
        ),
        (
            "match on the client",
            "CSV_ASSETS_MATCH",
            "client",
            "CSV_ASSETS_MATCH",
            "got 'client'",
        ),
        (
            "no link field",
            "CSV_ASSETS_LINK_FIELD",
            "",
            "CSV_ASSETS_LINK_FIELD",
            "required",
        ),
        (
            "link field text",
            "CSV_ASSETS_LINK_FIELD",
            "key",
            "CSV_ASSETS_LINK_FIELD",
            "got 'key'",
        ),
        (
            "link field mapped",
            "CSV_ASSETS_LINK_FIELD",
            "12",
            "CSV_ASSETS_LINK_FIELD",
            "also mapped",
        ),
        (
            "long delimiter",
            "CSV_ASSETS_DELIMITER",
            ";;",
            "CSV_ASSETS_DELIMITER",
            "one character",
        ),
    ];
    for (name, var, value, named, text) in cases {
        let err = load(&csv(&[(var, value)])).expect_err(name);
        let hit = err.0.iter().find(|e| e.var == *named);
        let hit = hit.unwrap_or_else(|| panic!("{name}: no error for {named}: {err}"));
        assert!(hit.message.contains(text), "{name}: '{}'", hit.message);
        // Not looked at when csv-assets is not enabled.
        let mut vars = base();
        vars.push((var, value.to_string()));
        let (c, _) = load(&vars).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(options::<CsvAssetsOptions>(&c).is_none());
    }
}

/// `base()` with ldap-users enabled (alone) and `vars` given ("" = unset).
fn ldap(vars: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut all: Vec<_> = base()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("ENTRA_") && *k != "INTEGRATOR_IMPORTS")
        .collect();
    all.push(("INTEGRATOR_IMPORTS", "ldap-users".into()));
    for (k, v) in [
        ("LDAP_URL", "ldaps://dc1.corp.example"),
        ("LDAP_BIND_DN", "cn=reader,dc=corp,dc=example"),
        ("LDAP_BIND_PASSWORD", SECRET),
        ("LDAP_BASE_DN", "dc=corp,dc=example"),
        ("LDAP_CLIENT", "Contoso Ltd"),
        ("LDAP_LINK_FIELD", "other4"),
    ] {
        if !vars.iter().any(|(name, _)| *name == k) {
            all.push((k, v.to_string()));
        }
    }
    all.extend(
        vars.iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.to_string())),
    );
    all
}

#[test]
fn ldap_options_are_typed_and_defaulted() {
    let (c, _) = load(&ldap(&[])).expect("valid");
    assert_eq!(names(&c), ["ldap-users"]);
    assert!(c.entra.is_none());
    let o = options::<LdapUsersOptions>(&c).expect("ldap options");
    assert_eq!(o.url.as_str(), "ldaps://dc1.corp.example");
    assert!(o.starttls);
    assert_eq!(o.bind_password.expose(), SECRET);
    assert_eq!(o.filter, "(objectClass=person)");
    assert_eq!(o.attributes.len(), 7);
    assert_eq!(
        o.attributes[0],
        ("name".to_string(), "displayName".to_string())
    );
    assert_eq!(o.client.as_deref(), Some("Contoso Ltd"));
    assert!(o.client_map.is_empty());
    assert_eq!(o.link_field, "other4");
    assert_eq!(o.page_size, 500);
    let debug = format!("{c:?}");
    assert!(!debug.contains(SECRET), "{debug}");

    let (c, _) = load(&ldap(&[
        ("LDAP_URL", "ldap://127.0.0.1:3389"),
        ("LDAP_STARTTLS", "false"),
        ("LDAP_CLIENT", ""),
        (
            "LDAP_CLIENT_MAP",
            "OU=Sales, DC=corp,DC=example=Fabrikam Inc; ou=EU,ou=Sales,dc=corp,dc=example=42",
        ),
        ("LDAP_ATTRIBUTES", "name=cn,EmailAddress=userPrincipalName"),
        ("LDAP_LINK_FIELD", "Other5"),
        ("LDAP_CA_FILE", "/etc/ldap/ca.pem"),
        ("LDAP_PAGE_SIZE", "1000"),
    ]))
    .expect("valid");
    let o = options::<LdapUsersOptions>(&c).unwrap();
    assert!(!o.starttls, "allowed on loopback");
    assert_eq!(o.client, None);
    assert_eq!(
        o.client_map,
        vec![
            (
                "ou=sales,dc=corp,dc=example".to_string(),
                "Fabrikam Inc".to_string()
            ),
            (
                "ou=eu,ou=sales,dc=corp,dc=example".to_string(),
                "42".to_string()
            ),
        ]
    );
    assert_eq!(
        o.attributes,
        vec![
            ("name".to_string(), "cn".to_string()),
            ("emailaddress".to_string(), "userPrincipalName".to_string()),
        ]
    );
    assert_eq!(o.link_field, "other5");
    assert_eq!(o.ca_file, Some(PathBuf::from("/etc/ldap/ca.pem")));
    assert_eq!(o.page_size, 1000);
}

#[test]
fn ldap_options_are_validated_only_when_the_import_is_enabled() {
    // (case, variable, value ("" = unset), variable named, text in the message)
    let cases: &[(&str, &'static str, &str, &str, &str)] = &[
        ("no url", "LDAP_URL", "", "LDAP_URL", "required"),
        (
            "http url",
            "LDAP_URL",
            "https://dc1",
            "LDAP_URL",
            "ldap://host",
        ),
        ("no host", "LDAP_URL", "ldap://", "LDAP_URL", "ldap://host"),
        (
            "starttls text",
            "LDAP_STARTTLS",
            "maybe",
            "LDAP_STARTTLS",
            "`true` or `false`",
        ),
        ("no bind dn", "LDAP_BIND_DN", "", "LDAP_BIND_DN", "required"),
        (
            "no password",
            "LDAP_BIND_PASSWORD",
            "",
            "LDAP_BIND_PASSWORD",
            "required",
        ),
        ("no base", "LDAP_BASE_DN", "", "LDAP_BASE_DN", "required"),
        (
            "bare filter",
            "LDAP_FILTER",
            "objectClass=user",
            "LDAP_FILTER",
            "parentheses",
        ),
        (
            "no client",
            "LDAP_CLIENT",
            "",
            "LDAP_CLIENT",
            "LDAP_CLIENT_MAP",
        ),
        (
            "bad map",
            "LDAP_CLIENT_MAP",
            "Sales=Fabrikam",
            "LDAP_CLIENT_MAP",
            "got 'Sales=Fabrikam'",
        ),
        (
            "unknown field",
            "LDAP_ATTRIBUTES",
            "name=cn,colour=favouriteColour",
            "LDAP_ATTRIBUTES",
            "got 'colour=favouriteColour'",
        ),
        (
            "no name",
            "LDAP_ATTRIBUTES",
            "emailaddress=mail",
            "LDAP_ATTRIBUTES",
            "name=attribute",
        ),
        (
            "link on a mapped field",
            "LDAP_LINK_FIELD",
            "emailaddress",
            "LDAP_LINK_FIELD",
            "one of other1, other2, other3, other4, other5",
        ),
        (
            "link on a property Halo users do not have",
            "LDAP_LINK_FIELD",
            "ldap_id",
            "LDAP_LINK_FIELD",
            "got 'ldap_id'",
        ),
        (
            "no link field",
            "LDAP_LINK_FIELD",
            "",
            "LDAP_LINK_FIELD",
            "required: one of other1",
        ),
        (
            "page zero",
            "LDAP_PAGE_SIZE",
            "0",
            "LDAP_PAGE_SIZE",
            "from 1 to 10000",
        ),
    ];
    for (name, var, value, named, text) in cases {
        let err = load(&ldap(&[(var, value)])).expect_err(name);
        let hit = err.0.iter().find(|e| e.var == *named);
        let hit = hit.unwrap_or_else(|| panic!("{name}: no error for {named}: {err}"));
        assert!(hit.message.contains(text), "{name}: '{}'", hit.message);
        assert!(!err.to_string().contains(SECRET), "{name}: secret in error");
        let mut vars = base();
        vars.push((var, value.to_string()));
        let (c, _) = load(&vars).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(options::<LdapUsersOptions>(&c).is_none());
    }
    let plain = [
        ("LDAP_URL", "ldap://dc1.corp.example"),
        ("LDAP_STARTTLS", "false"),
    ];
    let err = load(&ldap(&plain)).expect_err("plain remote");
    assert!(
        err.0
            .iter()
            .any(|e| e.var == "LDAP_STARTTLS" && e.message.contains("bind password in clear")),
        "{err}"
    );
    let mut vars = ldap(&plain);
    vars.push(("INTEGRATOR_ALLOW_INSECURE_HTTP", "true".into()));
    assert!(load(&vars).is_ok(), "explicit opt-in");
}

#[test]
fn every_bad_variable_is_reported_at_once_typed_ones_included() {
    let mut vars = with("HALO_URL", Some("ftp://x"));
    vars.push(("HALO_RATE_LIMIT_REQUESTS", "-5".into()));
    vars.push(("INTEGRATOR_MAX_DEACTIVATION_PERCENT", "250".into()));
    vars.push(("INTEGRATOR_DRY_RUN", "yes".into()));
    vars.push(("HALO_BATCH_SIZE", "many".into()));
    let errors = load(&vars).expect_err("invalid").0;
    let named: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.var.as_str(), e.message.as_str()))
        .collect();
    for (var, text) in [
        ("HALO_URL", "ftp://x"),
        (
            "HALO_RATE_LIMIT_REQUESTS",
            "expected a whole number, got '-5'",
        ),
        (
            "INTEGRATOR_MAX_DEACTIVATION_PERCENT",
            "from 0 to 100, got 250",
        ),
        (
            "INTEGRATOR_DRY_RUN",
            "expected `true` or `false`, got 'yes'",
        ),
        ("HALO_BATCH_SIZE", "got 'many'"),
    ] {
        assert!(
            named.iter().any(|(v, m)| *v == var && m.contains(text)),
            "{var}: {text} not in {named:?}"
        );
    }
}
