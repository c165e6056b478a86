//! Unit tests of the mapping file: every example parses, each error names the file, the
//! key path and the expectation, client overrides, matchers, `ou`, name resolution, the
//! field-key convention and the user/asset property allowlists against Halo's models.

use std::path::{Path, PathBuf};

use super::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn parse(text: &str) -> Mapping {
    Mapping::parse(text, "mapping.yaml").unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(text: &str) -> Vec<String> {
    match Mapping::parse(text, "mapping.yaml") {
        Ok(m) => panic!("accepted: {m:?}"),
        Err(errors) => errors
            .iter()
            .inspect(|e| assert_eq!(e.var, FILE_VAR))
            .map(|e| e.message.clone())
            .collect(),
    }
}

/// Each import's section for one client, as the imports take them.
trait ForClient {
    fn section<S: Section>(&self, import: &str, id: i64, name: &str) -> S;
    fn entra_users(&self, id: i64, name: &str) -> UserSection {
        self.section("entra-users", id, name)
    }
    fn ldap_users(&self, id: i64, name: &str) -> UserSection {
        self.section("ldap-users", id, name)
    }
    fn intune_devices(&self, id: i64, name: &str) -> AssetSection {
        self.section("intune-devices", id, name)
    }
    fn csv_assets(&self, id: i64, name: &str) -> CsvSection {
        self.section("csv-assets", id, name)
    }
}

impl ForClient for Mapping {
    fn section<S: Section>(&self, import: &str, id: i64, name: &str) -> S {
        self.import::<S>(import)
            .expect("checked")
            .for_client(id, name)
    }
}

fn props(pairs: &[(&str, &str)]) -> PropMap {
    pairs.iter().copied().collect()
}

/// The extended shape of the contract, with every key.
const FULL: &str = r#"
imports:
  entra-users:
    sites:
      - when: {officeLocation: "Leeds"}
        site: "Leeds Office"
      - when: {city: {regex: "^Man"}, department: {in: ["Sales", "Ops"]}}
        site: {id: 12}
    default_site: main
    fields:
      - from: department
        to: {custom_field: 142}
        on: always
      - {from: employeeId, to: {custom_field: "CFEmployeeId"}, on: create}
      - {from: extensionAttribute1, to: other3}
  ldap-users:
    sites: [{when: {ou: Leeds}, site: Leeds Office}]
    default_site: skip
    fields: [{from: physicalDeliveryOfficeName, to: other1}]
  intune-devices:
    asset_types:
      - when: {operatingSystem: "iOS"}
        type: "Mobile Phone"
      - when: {operatingSystem: Android}
        type: {id: 4}
    sites: [{when: {deviceName: {regex: "^LEE-"}}, site: Leeds Office}]
    default_site: {id: 3}
    fields:
      - {from: imei, to: {field: 905}}
      - {from: notes, to: {custom_field: 7}, on: create}
      - {from: deviceName, to: inventory_number}
  csv-assets:
    columns: {site: "Site", user: "Assigned To", status: "Status"}
    statuses: {"In use": 1, "Retired": 4}
    asset_types: [{when: {Model: {regex: "(?i)iphone"}}, type: Mobile Phone}]
    sites: []
    default_site: "HQ"
    fields: [{from: RAM, to: {field: 907}}]
clients:
  "Contoso Ltd":
    entra-users:
      sites: [{when: {department: "Warehouse"}, site: "Depot"}]
  "17":
    intune-devices: {default_site: "HQ"}
  42:
    csv-assets: {statuses: {"Lost": 5}}
"#;

#[test]
fn every_example_parses() {
    let mut examples: Vec<(String, String)> = vec![("FULL".into(), FULL.into())];
    for file in [
        "deploy/examples/mapping.yaml",
        "deploy/kustomize/mapping.yaml",
    ] {
        let text = std::fs::read_to_string(root().join(file)).expect(file);
        examples.push((file.into(), text));
    }
    // The chart's all-imports value set.
    let values =
        std::fs::read_to_string(root().join("helm/halo-integrator/ci/all-imports-values.yaml"))
            .expect("values");
    let values: serde_norway::Value = serde_norway::from_str(&values).expect("values yaml");
    examples.push((
        "all-imports-values.yaml mapping".into(),
        serde_norway::to_string(&values["mapping"]).expect("yaml"),
    ));
    // The contract's own example: the YAML block of docs/contracts.md "The mapping file".
    let contracts = std::fs::read_to_string(root().join("docs/contracts.md")).expect("contracts");
    let section = contracts
        .split("\n## The mapping file\n")
        .nth(1)
        .expect("section");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("yaml block");
    examples.push(("docs/contracts.md".into(), block.into()));
    for (name, text) in examples {
        if let Err(e) = Mapping::parse(&text, &name) {
            panic!("{name}: {e:#?}");
        }
    }
    let demo = Mapping::load(&root().join("deploy/examples/mapping.yaml")).expect("example");
    let contoso = demo.entra_users(1, "Contoso Ltd");
    assert_eq!(contoso.sites().rules.len(), 1);
    assert!(demo.entra_users(2, "Other Client").sites().rules.is_empty());
    let phone = props(&[("operatingSystem", "Android")]);
    assert_eq!(
        demo.intune_devices(1, "Contoso Ltd").asset_type(&phone),
        Some(&TypeRef::Name("Mobile Phone".into()))
    );
}

#[test]
fn empty_files_are_the_built_in_behaviour() {
    for text in [
        "",
        "\n",
        "# only a comment\n",
        "{}",
        "---\n",
        "imports: {}\nclients: {}\n",
        "imports:\nclients:\n",
        "imports:\n  entra-users:\n",
        "{\"imports\": {}}",
    ] {
        let m = parse(text);
        let users = m.entra_users(1, "Contoso Ltd");
        assert!(users.sites().rules.is_empty(), "{text:?}");
        assert_eq!(*users.sites().default, DefaultSite::Main, "{text:?}");
        assert!(users.fields().is_empty(), "{text:?}");
        assert!(m.intune_devices(1, "x").asset_types().is_empty());
        assert!(m.csv_assets(1, "x").columns() == CsvColumns::default());
        assert_eq!(m.client_keys().count(), 0);
    }
}

#[test]
fn json_and_yaml_features_work() {
    let json = r#"{"imports": {"entra-users": {"fields": [{"from": "department", "to": "other2", "on": "create"}]}}}"#;
    let m = parse(json);
    assert_eq!(m.entra_users(1, "a").fields()[0].on, On::Create);
    // `on:` unquoted is the key "on" (YAML 1.2), not `true` as in YAML 1.1 / Helm.
    let m = parse(
        "imports:\n  entra-users:\n    fields:\n      - {from: department, to: other2, on: create}\n",
    );
    assert_eq!(m.entra_users(1, "a").fields()[0].on, On::Create);
    // Anchors and merge keys.
    let m = parse(
        "imports:\n  entra-users: &users\n    default_site: skip\nclients:\n  A:\n    ldap-users:\n      <<: *users\n      fields: [{from: mail, to: emailaddress}]\n",
    );
    let ldap = m.ldap_users(1, "a");
    assert_eq!(*ldap.sites().default, DefaultSite::Skip);
    assert_eq!(ldap.fields().len(), 1);
}

#[test]
fn errors_name_the_file_the_key_path_and_the_expectation() {
    let cases: &[(&str, &[&str])] = &[
        (
            "clients:\n  Contoso Ltd:\n    entra-users:\n      sites: [{when: {city: {regex: \"(\"}}, site: X}]\n",
            &[
                "mapping.yaml: clients.\"Contoso Ltd\".entra-users.sites[0].when.city.regex: ",
                "expected a valid regular expression, got '('",
            ],
        ),
        (
            "imports:\n  entra-users:\n    fields: [{from: a, to: other1, on: sometimes}]\n",
            &[
                "mapping.yaml: imports.entra-users.fields[0].on: ",
                "expected one of always, create",
            ],
        ),
        (
            "imports:\n  entra-users:\n    default_site: 12\n",
            &[
                "imports.entra-users.default_site: ",
                "expected main, skip, a site name or {id: N}",
            ],
        ),
        (
            "imports:\n  entra-users:\n    default_site: \"  \"\n",
            &["imports.entra-users.default_site: ", "expected main, skip"],
        ),
        (
            "imports:\n  entra-users:\n    asset_types: []\n",
            &[
                "imports.entra-users.asset_types: not a key of entra-users; expected one of sites, default_site, fields",
            ],
        ),
        (
            "imports:\n  intune-devices:\n    columns: {site: Site}\n",
            &["imports.intune-devices.columns: not a key of intune-devices"],
        ),
        (
            "clients:\n  \"17\":\n    ldap-users:\n      statuses: {}\n",
            &["clients.17.ldap-users.statuses: not a key of ldap-users"],
        ),
        (
            "imports:\n  entra-user: {}\n",
            &[
                "imports.entra-user: unknown import; expected one of entra-users, intune-devices, csv-assets, ldap-users",
            ],
        ),
        (
            "clients:\n  A:\n    intune: {}\n",
            &["clients.A.intune: unknown import; expected one of"],
        ),
        (
            "import: {}\n",
            &["mapping.yaml: import: unknown key; expected imports or clients"],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: b}, site: X, note: y}]\n",
            &["imports.entra-users.sites[0].note: unknown field `note`, expected `when` or `site`"],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{site: X}]\n",
            &["imports.entra-users.sites[0]: missing field `when`"],
        ),
        (
            "imports:\n  entra-users:\n    sites: {when: {a: b}, site: X}\n",
            &["imports.entra-users.sites: invalid type: map, expected a sequence"],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: b}, site: {name: X}}]\n",
            &["imports.entra-users.sites[0].site.name: unknown field `name`, expected `id`"],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: b}, site: {id: -1}}]\n",
            &[
                "imports.entra-users.sites[0].site.id: ",
                "expected a Halo id (a whole number greater than 0)",
            ],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: b}, site: 12}]\n",
            &["sites[0].site: invalid type: integer `12`, expected a site name or {id: N}"],
        ),
        (
            "imports:\n  entra-users:\n    fields: [{from: a, to: azureoid}]\n",
            &[
                "imports.entra-users.fields[0].to: ",
                "expected a user property (name, firstname",
            ],
        ),
        (
            "imports:\n  entra-users:\n    fields: [{from: a, to: site_id}]\n",
            &["imports.entra-users.fields[0].to: "],
        ),
        (
            "imports:\n  entra-users:\n    fields: [{from: a, to: {field: 905}}]\n",
            &[
                "imports.entra-users.fields[0].to.field: unknown field `field`, expected `custom_field`",
            ],
        ),
        (
            "imports:\n  entra-users:\n    fields: [{from: \" \", to: other1}]\n",
            &[
                "imports.entra-users.fields[0].from: ",
                "expected a non-empty name",
            ],
        ),
        (
            "imports:\n  intune-devices:\n    fields: [{from: imei, to: {field: 0}}]\n",
            &["imports.intune-devices.fields[0].to.field: ", "a Halo id"],
        ),
        (
            "imports:\n  intune-devices:\n    fields: [{from: imei, to: {field: 1, custom_field: 2}}]\n",
            &[
                "imports.intune-devices.fields[0].to: expected exactly one of `field` or `custom_field`",
            ],
        ),
        (
            "imports:\n  intune-devices:\n    fields: [{from: imei, to: key_field}]\n",
            &["imports.intune-devices.fields[0].to: ", "inventory_number"],
        ),
        (
            "imports:\n  intune-devices:\n    asset_types: [{when: {a: b}, type: \"\"}]\n",
            &[
                "imports.intune-devices.asset_types[0].type: ",
                "an asset type name or {id: N}",
            ],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: {in: []}}, site: X}]\n",
            &["imports.entra-users.sites[0].when.a: expected at least one value in `in`"],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: {regex: x, in: [y]}}, site: X}]\n",
            &["imports.entra-users.sites[0].when.a: expected exactly one of `regex` or `in`"],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: {equals: x}}, site: X}]\n",
            &[
                "imports.entra-users.sites[0].when.a.equals: unknown field `equals`, expected `regex` or `in`",
            ],
        ),
        (
            "imports:\n  entra-users:\n    sites: [{when: {a: [x]}, site: X}]\n",
            &["imports.entra-users.sites[0].when.a: invalid type: sequence, expected a value"],
        ),
        (
            "imports:\n  csv-assets:\n    statuses: {\"In use\": 0}\n",
            &["imports.csv-assets.statuses.\"In use\": ", "a Halo id"],
        ),
        (
            "imports:\n  csv-assets:\n    statuses: {\"In use\": 1, \"in use \": 2}\n",
            &["imports.csv-assets.statuses: ", "are the same status"],
        ),
        (
            "imports:\n  csv-assets:\n    columns: {site: Site, owner: Owner}\n",
            &["imports.csv-assets.columns.owner: unknown field `owner`"],
        ),
        (
            "imports:\n  entra-users:\n    fields: [{from: a, to: other1}, {from: b, to: other1}]\n",
            &["imports.entra-users.fields[1].to: other1 is already the target of fields[0]"],
        ),
        (
            "clients:\n  Contoso Ltd: {}\n  contoso ltd: {}\n",
            &["clients.\"contoso ltd\": the same client as \"Contoso Ltd\""],
        ),
        (
            "clients:\n  Contoso Ltd: [entra-users]\n",
            &["clients.\"Contoso Ltd\": expected a map"],
        ),
        (
            "- imports\n",
            &["mapping.yaml: (top level): expected a map"],
        ),
        ("imports: [\n", &["mapping.yaml: not valid YAML: "]),
        (
            "imports: {a: 1}\nimports: {}\n",
            &["mapping.yaml: not valid YAML: ", "duplicate"],
        ),
    ];
    for (text, wanted) in cases {
        let errors = errors(text);
        let all = errors.join("\n");
        assert!(
            errors.iter().any(|e| wanted.iter().all(|w| e.contains(w))),
            "for\n{text}\nwanted {wanted:?} in one error, got:\n{all}"
        );
        assert!(
            errors.iter().all(|e| e.starts_with("mapping.yaml: ")),
            "{all}"
        );
    }
}

#[test]
fn all_errors_of_a_file_are_reported_at_once() {
    let broken = std::fs::read_to_string(root().join("tests/fixtures/mapping-broken.yaml"))
        .expect("fixture");
    let errors = errors(&broken);
    let paths = [
        "imports.entra-users.sites[0].site.name:",
        "imports.entra-users.asset_types:",
        "imports.entra-users.fields[0].to:",
        "imports.intune-devices.fields[0].to.field:",
        "imports.entra-user:",
        "clients.\"Contoso Ltd\".entra-users.default_site:",
    ];
    for path in paths {
        assert!(
            errors.iter().any(|e| e.contains(path)),
            "{path} not in {errors:#?}"
        );
    }
    assert_eq!(errors.len(), paths.len(), "{errors:#?}");
    let missing = Mapping::load(Path::new("/nonexistent/mapping.yaml")).expect_err("missing");
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0]
            .message
            .starts_with("/nonexistent/mapping.yaml: cannot read")
    );
}

#[test]
fn a_clients_section_replaces_each_key_it_sets() {
    let m = parse(
        r#"
imports:
  entra-users:
    sites: [{when: {department: Sales}, site: Sales Floor}]
    default_site: skip
    fields: [{from: department, to: other2}]
  intune-devices:
    asset_types: [{when: {operatingSystem: iOS}, type: Mobile Phone}]
clients:
  "Contoso Ltd":
    entra-users:
      sites: [{when: {department: Warehouse}, site: Depot}]
  "17":
    entra-users: {default_site: main, fields: []}
  "Fabrikam Inc":
    intune-devices: {default_site: HQ}
  "Northwind Traders":
    entra-users: {default_site: {id: 9}}
  "23":
    entra-users: {default_site: {id: 10}}
"#,
    );
    let site_of = |s: &UserSection| match s.sites().rules.first().map(|r| &r.site) {
        Some(SiteRef::Name(n)) => n.clone(),
        other => format!("{other:?}"),
    };
    // By name (case-insensitive, trimmed): its sites, the import's default and fields.
    for name in ["Contoso Ltd", "contoso ltd", " CONTOSO LTD "] {
        let s = m.entra_users(5, name);
        assert_eq!(site_of(&s), "Depot", "{name}");
        assert_eq!(*s.sites().default, DefaultSite::Skip);
        assert_eq!(s.fields().len(), 1);
    }
    // By id: its default and (empty) fields, the import's sites.
    let s = m.entra_users(17, "Someone");
    assert_eq!(site_of(&s), "Sales Floor");
    assert_eq!(*s.sites().default, DefaultSite::Main);
    assert!(s.fields().is_empty());
    // An id key wins over a name key for the same client.
    let s = m.entra_users(23, "Northwind Traders");
    assert_eq!(
        *s.sites().default,
        DefaultSite::Site(SiteRef::Id(HaloId::new(10).expect("id")))
    );
    // A client overriding another import gets this import's section as is.
    let s = m.entra_users(8, "Fabrikam Inc");
    assert_eq!(site_of(&s), "Sales Floor");
    assert_eq!(*s.sites().default, DefaultSite::Skip);
    let d = m.intune_devices(8, "Fabrikam Inc");
    assert_eq!(d.asset_types().len(), 1);
    assert_eq!(
        *d.sites().default,
        DefaultSite::Site(SiteRef::Name("HQ".into()))
    );
    // Other clients: the import's section; other imports: nothing.
    assert_eq!(site_of(&m.entra_users(99, "Other")), "Sales Floor");
    assert!(m.ldap_users(5, "Contoso Ltd").sites().rules.is_empty());
    assert_eq!(
        m.client_keys().collect::<Vec<_>>(),
        [
            "Contoso Ltd",
            "17",
            "Fabrikam Inc",
            "Northwind Traders",
            "23"
        ]
    );
    // A client section without an imports section.
    let m = parse("clients:\n  A:\n    csv-assets: {statuses: {Lost: 5}}\n");
    assert_eq!(m.csv_assets(1, "a").status_id(" lost "), Some(5));
    assert_eq!(m.csv_assets(1, "b").status_id("lost"), None);
}

#[test]
fn matchers() {
    let when = |yaml: &str| -> When {
        let m = parse(&format!(
            "imports:\n  entra-users:\n    sites: [{{when: {yaml}, site: X}}]\n"
        ));
        m.entra_users(1, "a").sites().rules[0].when.clone()
    };
    type Record<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(&str, Record<'_>, bool)] = &[
        // equals: trimmed, case-insensitive, on both sides; names case-insensitive
        (
            "{officeLocation: Leeds}",
            &[("officeLocation", "Leeds")],
            true,
        ),
        (
            "{officeLocation: Leeds}",
            &[("OFFICELOCATION", "  lEEDS ")],
            true,
        ),
        (
            "{officelocation: \" LEEDS \"}",
            &[("officeLocation", "leeds")],
            true,
        ),
        (
            "{officeLocation: Leeds}",
            &[("officeLocation", "Leeds North")],
            false,
        ),
        ("{officeLocation: Leeds}", &[("city", "Leeds")], false),
        ("{officeLocation: \"\"}", &[("officeLocation", " ")], true),
        ("{officeLocation: \"\"}", &[], false),
        ("{employeeId: 42}", &[("employeeId", "42")], true),
        (
            "{accountEnabled: true}",
            &[("accountEnabled", "True")],
            true,
        ),
        // regex: as written, on the trimmed value
        (
            "{city: {regex: \"^Man\"}}",
            &[("city", " Manchester")],
            true,
        ),
        (
            "{city: {regex: \"^Man\"}}",
            &[("city", "manchester")],
            false,
        ),
        (
            "{city: {regex: \"(?i)^man\"}}",
            &[("city", "MANCHESTER")],
            true,
        ),
        ("{city: {regex: \"ches\"}}", &[("city", "Manchester")], true),
        ("{city: {regex: \"^$\"}}", &[], false),
        // in
        (
            "{department: {in: [Sales, Ops]}}",
            &[("department", " ops")],
            true,
        ),
        (
            "{department: {in: [Sales, Ops]}}",
            &[("department", "Finance")],
            false,
        ),
        ("{department: {in: [1, 2]}}", &[("department", "2")], true),
        // all must match
        (
            "{city: {regex: \"^Man\"}, department: {in: [Sales, Ops]}}",
            &[("city", "Manchester"), ("department", "Sales")],
            true,
        ),
        (
            "{city: {regex: \"^Man\"}, department: {in: [Sales, Ops]}}",
            &[("city", "Manchester"), ("department", "IT")],
            false,
        ),
        (
            "{city: {regex: \"^Man\"}, department: {in: [Sales, Ops]}}",
            &[("city", "Manchester")],
            false,
        ),
        // an empty `when` matches every record
        ("{}", &[], true),
    ];
    for (yaml, record, expected) in cases {
        assert_eq!(
            when(yaml).matches(&props(record)),
            *expected,
            "{yaml} against {record:?}"
        );
    }
    // A closure is a record too.
    let record = |name: &str| {
        name.eq_ignore_ascii_case("city")
            .then(|| "Leeds".to_string())
    };
    assert!(when("{City: leeds}").matches(&record));
}

#[test]
fn ou_matches_any_ou_component_of_the_dn() {
    let when = |yaml: &str| -> When {
        let m = parse(&format!(
            "imports:\n  ldap-users:\n    sites: [{{when: {yaml}, site: X}}]\n"
        ));
        m.ldap_users(1, "a").sites().rules[0].when.clone()
    };
    let dn = "CN=Ann Lee,OU=Leeds,OU=Staff,DC=corp,DC=example";
    let cases: &[(&str, &str, bool)] = &[
        ("{ou: Leeds}", dn, true),
        ("{OU: staff}", dn, true),
        ("{ou: {regex: \"^Lee\"}}", dn, true),
        ("{ou: {in: [Manchester, Staff]}}", dn, true),
        ("{ou: Manchester}", dn, false),
        ("{ou: corp}", dn, false),
        (
            "{ou: \"Leeds, North\"}",
            "cn=Bo, ou = Leeds\\, North ,dc=corp",
            true,
        ),
        ("{ou: Leeds}", "cn=Bo, ou = Leeds\\, North ,dc=corp", false),
        ("{dn: {regex: \"(?i)ou=staff,\"}}", dn, true),
        ("{ou: Leeds, department: IT}", dn, false),
    ];
    for (yaml, dn, expected) in cases {
        assert_eq!(
            when(yaml).matches(&props(&[("dn", dn)])),
            *expected,
            "{yaml} against {dn}"
        );
    }
    assert!(!when("{ou: Leeds}").matches(&props(&[("ou", "Leeds")])));
    assert_eq!(ou_values(dn), ["Leeds", "Staff"]);
    assert_eq!(ou_values("ou=a\\=b+c,OU=d"), ["a=b+c", "d"]);
    assert!(ou_values("").is_empty());
}

#[test]
fn first_rule_wins_then_the_default() {
    let m = parse(FULL);
    let users = m.entra_users(1, "Other");
    let sites = users.sites();
    let leeds = props(&[
        ("officeLocation", "Leeds"),
        ("city", "Manchester"),
        ("department", "Sales"),
    ]);
    assert_eq!(
        sites.choose(&leeds),
        SiteChoice::Rule(&SiteRef::Name("Leeds Office".into()))
    );
    let man = props(&[("city", "Manchester"), ("department", "Ops")]);
    assert_eq!(
        sites.choose(&man),
        SiteChoice::Rule(&SiteRef::Id(HaloId::new(12).expect("id")))
    );
    assert_eq!(
        sites.choose(&props(&[])),
        SiteChoice::Default(&DefaultSite::Main)
    );
    let devices = m.intune_devices(1, "Other");
    assert_eq!(
        devices.asset_type(&props(&[("operatingSystem", "ios")])),
        Some(&TypeRef::Name("Mobile Phone".into()))
    );
    assert_eq!(
        devices.asset_type(&props(&[("operatingSystem", "Android")])),
        Some(&TypeRef::Id(HaloId::new(4).expect("id")))
    );
    assert_eq!(
        devices.asset_type(&props(&[("operatingSystem", "Windows")])),
        None
    );
    let csv = m.csv_assets(1, "Other");
    assert_eq!(
        csv.asset_type(&props(&[("model", "Apple iPhone 15")])),
        Some(&TypeRef::Name("Mobile Phone".into()))
    );
    assert_eq!(csv.status_id("IN USE"), Some(1));
    assert_eq!(m.csv_assets(42, "x").status_id("In use"), None);
    assert_eq!(m.csv_assets(42, "x").status_id("lost"), Some(5));
}

#[test]
fn properties_list_what_the_sources_must_read() {
    let m = parse(FULL);
    assert_eq!(
        m.entra_users(1, "Other").properties(),
        [
            "officeLocation",
            "city",
            "department",
            "employeeId",
            "extensionAttribute1"
        ]
    );
    // `ou` and `dn` are not attributes.
    assert_eq!(
        m.ldap_users(1, "x").properties(),
        ["physicalDeliveryOfficeName"]
    );
    assert_eq!(
        m.intune_devices(1, "x").properties(),
        ["operatingSystem", "deviceName", "imei", "notes"]
    );
    assert_eq!(
        m.csv_assets(1, "x").properties(),
        ["Model", "RAM", "Site", "Assigned To", "Status"]
    );
    // Over every client: the Contoso override adds nothing new (department is known).
    assert_eq!(
        m.import::<UserSection>("entra-users").unwrap().properties(),
        m.entra_users(1, "Other").properties()
    );
    let m = parse(
        "imports:\n  entra-users:\n    fields: [{from: Department, to: other1}]\nclients:\n  A:\n    entra-users:\n      sites: [{when: {department: x, jobTitle: y}, site: S}]\n",
    );
    assert_eq!(
        m.import::<UserSection>("entra-users").unwrap().properties(),
        ["Department", "jobTitle"]
    );
    assert!(
        m.import::<UserSection>("ldap-users")
            .unwrap()
            .properties()
            .is_empty()
    );
}

fn sites() -> Vec<SiteInfo<'static>> {
    vec![
        SiteInfo {
            id: 1,
            name: "Main",
            inactive: false,
        },
        SiteInfo {
            id: 2,
            name: "Leeds Office",
            inactive: false,
        },
        SiteInfo {
            id: 3,
            name: "leeds office",
            inactive: true,
        },
        SiteInfo {
            id: 4,
            name: "Depot",
            inactive: false,
        },
        SiteInfo {
            id: 5,
            name: " depot ",
            inactive: false,
        },
        SiteInfo {
            id: 6,
            name: "Old HQ",
            inactive: true,
        },
    ]
}

const TYPES: &[NamedId<'static>] = &[
    NamedId {
        id: 10,
        name: "Workstation",
    },
    NamedId {
        id: 11,
        name: "Mobile Phone",
    },
];

const CUSTOM: &[NamedId<'static>] = &[
    NamedId {
        id: 142,
        name: "CFDepartment",
    },
    NamedId {
        id: 143,
        name: "CFEmployeeId",
    },
];

#[test]
fn names_resolve_exactly_and_never_by_guess() {
    let sites = sites();
    let catalog = Catalog {
        client: "Contoso Ltd",
        sites: &sites,
        asset_types: TYPES,
        custom_fields: CUSTOM,
    };
    let name = |n: &str| SiteRef::Name(n.into());
    let id = |n: i64| SiteRef::Id(HaloId::new(n).expect("id"));
    // found: case-insensitive, trimmed; the inactive namesake does not count
    assert_eq!(catalog.site(&name(" LEEDS office ")), Ok(2));
    assert_eq!(catalog.site(&id(2)), Ok(2));
    let cases: &[(SiteRef, &str)] = &[
        (
            name("Leeds"),
            "site \"Leeds\" not found for client Contoso Ltd (known: Depot, depot, Leeds Office, Main)",
        ),
        (
            name("Old HQ"),
            "site \"Old HQ\" of client Contoso Ltd is inactive",
        ),
        (
            name("Depot"),
            "site \"Depot\" is ambiguous for client Contoso Ltd: ids 4, 5 have that name; use {id: N}",
        ),
        (id(3), "site id 3 not found for client Contoso Ltd"),
        (id(99), "site id 99 not found for client Contoso Ltd"),
    ];
    for (site, message) in cases {
        let err = catalog.site(site).expect_err(message);
        assert_eq!(err.to_string(), *message);
    }
    // asset types and custom fields
    assert_eq!(
        catalog.asset_type(&TypeRef::Name("mobile phone".into())),
        Ok(11)
    );
    assert_eq!(
        catalog.asset_type(&TypeRef::Id(HaloId::new(10).expect("id"))),
        Ok(10)
    );
    assert_eq!(
        catalog
            .asset_type(&TypeRef::Name("Phone".into()))
            .expect_err("unknown")
            .to_string(),
        "asset type \"Phone\" not found for client Contoso Ltd (known: Mobile Phone, Workstation)"
    );
    assert_eq!(
        catalog.custom_field(&FieldRef::Name("cfdepartment".into())),
        Ok(142)
    );
    assert!(
        catalog
            .custom_field(&FieldRef::Id(HaloId::new(7).expect("id")))
            .is_err()
    );
    // a long list of known names is cut
    let many: Vec<String> = (0..30).map(|i| format!("T{i:02}")).collect();
    let many: Vec<NamedId<'_>> = many
        .iter()
        .enumerate()
        .map(|(i, n)| NamedId {
            id: i as i64 + 1,
            name: n,
        })
        .collect();
    let big = Catalog {
        asset_types: &many,
        ..catalog
    };
    let message = big
        .asset_type(&TypeRef::Name("X".into()))
        .expect_err("unknown")
        .to_string();
    assert!(message.ends_with("T19 and 10 more)"), "{message}");
}

#[test]
fn a_section_resolves_to_ids_or_lists_every_unresolved_name() {
    let sites = sites();
    let catalog = Catalog {
        client: "Contoso Ltd",
        sites: &sites,
        asset_types: TYPES,
        custom_fields: CUSTOM,
    };
    let m = parse(
        r#"
imports:
  entra-users:
    sites:
      - {when: {officeLocation: Leeds}, site: Leeds Office}
      - {when: {department: Warehouse}, site: {id: 4}}
    default_site: skip
    fields:
      - {from: department, to: {custom_field: CFDepartment}}
      - {from: employeeId, to: {custom_field: 143}, on: create}
      - {from: extensionAttribute1, to: other3}
  intune-devices:
    asset_types: [{when: {operatingSystem: iOS}, type: Mobile Phone}]
    default_site: Main
    fields: [{from: imei, to: {field: 905}}, {from: deviceName, to: inventory_number}]
clients:
  Contoso Ltd:
    csv-assets:
      asset_types: [{when: {Type: Phone}, type: Phone}]
      sites: [{when: {a: b}, site: Depot}, {when: {a: c}, site: Nowhere}]
      default_site: {id: 6}
      fields:
        - {from: a, to: {custom_field: CFDepartment}}
        - {from: b, to: {custom_field: 142}}
"#,
    );
    let users = m
        .entra_users(1, "Contoso Ltd")
        .resolve(&catalog)
        .expect("resolves");
    assert_eq!(
        users.site(&props(&[("officeLocation", "leeds")])),
        SiteTarget::Id(2)
    );
    assert_eq!(
        users.site(&props(&[("department", "Warehouse")])),
        SiteTarget::Id(4)
    );
    assert_eq!(users.site(&props(&[])), SiteTarget::Skip);
    let keys: Vec<String> = users.fields.iter().map(|f| f.key.to_string()).collect();
    assert_eq!(keys, ["custom:142", "custom:143", "other3"]);
    assert_eq!(users.fields[1].on, On::Create);
    assert_eq!(users.fields[0].from, "department");
    assert_eq!(users.asset_type(&props(&[])), None);

    let devices = m
        .intune_devices(1, "Contoso Ltd")
        .resolve(&catalog)
        .expect("resolves");
    assert_eq!(
        devices.asset_type(&props(&[("operatingSystem", "iOS")])),
        Some(11)
    );
    assert_eq!(
        devices.asset_type(&props(&[("operatingSystem", "Windows")])),
        None
    );
    assert_eq!(devices.site(&props(&[])), SiteTarget::Id(1));
    let keys: Vec<String> = devices.fields.iter().map(|f| f.key.to_string()).collect();
    assert_eq!(keys, ["field:905", "inventory_number"]);

    // Without a file: main site, nothing else.
    let none = Mapping::default()
        .entra_users(1, "x")
        .resolve(&catalog)
        .expect("resolves");
    assert_eq!(none.site(&props(&[("a", "b")])), SiteTarget::Main);
    assert!(none.fields.is_empty());

    let errors: Vec<String> = m
        .csv_assets(1, "Contoso Ltd")
        .resolve(&catalog)
        .expect_err("unresolved")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "asset type \"Phone\" not found for client Contoso Ltd (known: Mobile Phone, Workstation)",
            "site \"Depot\" is ambiguous for client Contoso Ltd: ids 4, 5 have that name; use {id: N}",
            "site \"Nowhere\" not found for client Contoso Ltd (known: Depot, depot, Leeds Office, Main)",
            "site id 6 not found for client Contoso Ltd",
            "two field mappings of client Contoso Ltd write custom:142; each field is written by one mapping",
        ]
    );
}

#[test]
fn field_keys_follow_the_planners_conventions() {
    assert_eq!(
        FieldKey::AssetField(905).to_string(),
        crate::imports::assets::field_key(905)
    );
    assert_eq!(FieldKey::CustomField(142).to_string(), "custom:142");
    assert_eq!(FieldKey::Property("other3".into()).to_string(), "other3");
}

/// The properties a field mapping may write are on Halo's full and list models (so the
/// paged read shows them) and are text; ids, links and flags are never among them.
#[test]
fn writable_properties_are_text_on_both_of_halos_models() {
    let fixture = std::fs::read_to_string(root().join("tests/fixtures/halo-openapi-subset.json"))
        .expect("fixture");
    let fixture: serde_json::Value = serde_json::from_str(&fixture).expect("json");
    let schemas = &fixture["schemas"];
    for (list, models) in [
        (USER_PROPERTIES, ["Users", "Users_List"]),
        (ASSET_PROPERTIES, ["Device", "Device_List"]),
    ] {
        for property in list {
            for model in models {
                assert_eq!(
                    schemas[model][property], "string",
                    "{property} is not a text property of {model}"
                );
            }
        }
    }
    for forbidden in [
        "azureoid",
        "id",
        "client_id",
        "site_id",
        "inactive",
        "site_name",
        "client_name",
        "azure_id",
        "key_field",
        "intune_id",
    ] {
        assert!(!USER_PROPERTIES.contains(&forbidden), "{forbidden}");
        assert!(!ASSET_PROPERTIES.contains(&forbidden), "{forbidden}");
    }
    for property in [
        "name",
        "firstname",
        "surname",
        "emailaddress",
        "title",
        "phonenumber",
        "mobilenumber",
        "other1",
        "other2",
        "other3",
        "other4",
        "other5",
    ] {
        assert!(USER_PROPERTIES.contains(&property), "{property}");
    }
}

/// The config reads the file named by `INTEGRATOR_CONFIG_FILE`; its errors join the
/// others (all at once).
#[test]
fn the_config_loads_the_mapping_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "imports:\n  entra-users:\n    default_site: skip\n").expect("write");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "imports:\n  entra-users:\n    default_site: 1\n  x: {}\n",
    )
    .expect("write");
    let env = |file: &Path, url: &str| -> Vec<(String, String)> {
        [
            ("HALO_URL", url),
            ("HALO_CLIENT_ID", "id"),
            ("HALO_CLIENT_SECRET", "secret"),
            ("INTEGRATOR_IMPORTS", "entra-users"),
            ("ENTRA_CLIENT_ID", "id"),
            ("ENTRA_CLIENT_SECRET", "secret"),
            ("INTEGRATOR_CONFIG_FILE", &file.display().to_string()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let (config, warnings) =
        crate::config::Config::from_vars(env(&good, "https://acme.halopsa.com")).expect("valid");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        *config.mapping.entra_users(1, "a").sites().default,
        DefaultSite::Skip
    );
    let crate::config::ConfigErrors(errors) =
        crate::config::Config::from_vars(env(&bad, "ftp://x")).expect_err("invalid");
    let vars: Vec<&str> = errors.iter().map(|e| e.var.as_str()).collect();
    assert_eq!(vars, ["HALO_URL", FILE_VAR, FILE_VAR], "{errors:#?}");
    let shown = crate::config::ConfigErrors(errors).to_string();
    assert!(
        shown.contains(&format!(
            "INTEGRATOR_CONFIG_FILE: {}: imports.entra-users.default_site: ",
            bad.display()
        )),
        "{shown}"
    );
    let (config, _) = crate::config::Config::from_vars(
        env(&good, "https://acme.halopsa.com")
            .into_iter()
            .filter(|(k, _)| k != "INTEGRATOR_CONFIG_FILE"),
    )
    .expect("valid");
    assert_eq!(config.mapping.client_keys().count(), 0);
}
