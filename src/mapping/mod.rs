//! The mapping file (`INTEGRATOR_CONFIG_FILE`, docs/contracts.md "The mapping file"):
//! per-import and per-client site rules, asset-type rules, field mappings and the CSV
//! columns and statuses, as YAML (or JSON).
//!
//! Pure apart from reading the file: [`Mapping::load`] parses and validates it (unknown
//! keys, unknown imports, bad values and invalid regular expressions are errors naming
//! the file, the key path and what was expected; one error per key of each import and
//! client section, so a file's problems are reported together), the per-import accessors
//! ([`Mapping::entra_users`], ...) give the section in force for one client, the sections
//! evaluate their rules over a record's [`Props`], and [`Section::resolve`] turns names
//! into Halo ids against a [`Catalog`]. No HTTP, no logging.
//!
//! A client's section (`clients.<id or name>.<import>`) replaces, for that client, each
//! key it sets; the keys it does not set come from `imports.<import>`. Lists are not
//! merged.

use std::fmt::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_norway::Value;

use crate::config::{ConfigError, ImportKind};

mod assets;
mod csv;
mod de;
mod fields;
mod resolve;
mod rules;
#[cfg(test)]
mod schema;
#[cfg(test)]
mod tests;
mod users;

pub use assets::AssetSection;
pub use csv::{CsvColumns, CsvSection};
pub use de::HaloId;
pub use fields::{
    ASSET_PROPERTIES, AsTarget, AssetTarget, FieldKey, FieldMap, FieldRef, FieldTarget, On,
    USER_PROPERTIES, UserTarget,
};
pub use resolve::{
    Catalog, KNOWN_SHOWN, NamedId, ResolveError, Resolved, ResolvedField, ResolvedRule, SiteInfo,
    SiteTarget,
};
pub use rules::{
    DefaultSite, Matcher, PSEUDO_PROPERTIES, Pattern, PropMap, Props, SiteChoice, SiteRef,
    SiteRule, SiteRules, TypeRef, TypeRule, When, first_type, ou_values,
};
pub use users::UserSection;

/// The variable naming the file; the [`ConfigError`]s of the file are reported under it.
pub const FILE_VAR: &str = "INTEGRATOR_CONFIG_FILE";

/// What every import's section offers.
pub trait Section: Default + Clone + DeserializeOwned {
    /// The keys the section takes (any other is an error naming the import).
    const KEYS: &'static [&'static str];

    /// This section with each key `over` sets replaced by `over`'s value.
    fn overlay(self, over: Self) -> Self;

    /// Every source property the section reads (`when` conditions, `from` of the field
    /// mappings, the CSV special columns), as first written, each once
    /// (case-insensitively), without the pseudo-properties `dn` and `ou`: what the Graph
    /// `$select` or the LDAP attribute list must add.
    fn properties(&self) -> Vec<String>;

    /// Load-time checks the types cannot express: (key path below the section, message).
    fn check(&self) -> Vec<(String, String)>;

    /// The section with ids only, or every name or id that does not resolve.
    fn resolve(&self, catalog: &Catalog<'_>) -> Result<Resolved, Vec<ResolveError>>;
}

/// `over` when set, else `base`: a client's key replaces the import's.
fn overlay<T>(base: Option<T>, over: Option<T>) -> Option<T> {
    over.or(base)
}

static MAIN: DefaultSite = DefaultSite::Main;

fn site_rules<'a>(
    rules: &'a Option<Vec<SiteRule>>,
    default: &'a Option<DefaultSite>,
) -> SiteRules<'a> {
    SiteRules {
        rules: rules.as_deref().unwrap_or_default(),
        default: default.as_ref().unwrap_or(&MAIN),
    }
}

/// The property names of `whens` and `froms`, each once (case-insensitively), pseudo ones
/// left out.
fn properties<'a>(
    whens: impl Iterator<Item = &'a When>,
    froms: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in whens.flat_map(When::properties).chain(froms) {
        let pseudo = PSEUDO_PROPERTIES
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name));
        if !pseudo && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_string());
        }
    }
    names
}

/// The sections of each import (of the file's `imports`, or of one client).
#[derive(Debug, Clone, Default)]
struct Sections {
    entra_users: Option<UserSection>,
    intune_devices: Option<AssetSection>,
    csv_assets: Option<CsvSection>,
    ldap_users: Option<UserSection>,
}

/// A loaded mapping file; [`Mapping::default`] is no file (the built-in behaviour).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    imports: Sections,
    /// Client key (trimmed, as written) → its sections, in the file's order.
    clients: Vec<(String, Sections)>,
}

/// One segment of a key path.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A key path as the errors show it: `clients."Contoso Ltd".entra-users.sites[0].site`.
#[derive(Debug, Clone, Default)]
struct KeyPath(Vec<Seg>);

impl KeyPath {
    fn key(&self, key: &str) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Seg::Key(key.to_string()));
        path
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
                Seg::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    let plain = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        out.push_str(key);
                    } else {
                        let _ = write!(out, "\"{}\"", key.replace('"', "\\\""));
                    }
                }
            }
        }
        if out.is_empty() {
            out.push_str("(top level)");
        }
        out
    }
}

/// Collects the errors of one file.
struct Loader<'a> {
    origin: &'a str,
    errors: Vec<ConfigError>,
}

/// A mapping key as text (YAML allows numbers as keys: `17:`).
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn import_names() -> String {
    ImportKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Loader<'_> {
    fn error(&mut self, path: &KeyPath, message: impl std::fmt::Display) {
        self.errors.push(ConfigError {
            var: FILE_VAR.to_string(),
            message: format!("{}: {}: {message}", self.origin, path.render()),
        });
    }

    /// The entries of a map; `null` is empty; anything else is an error.
    fn entries(&mut self, value: Value, path: &KeyPath, what: &str) -> Vec<(String, Value)> {
        match value {
            Value::Null => Vec::new(),
            Value::Mapping(map) => {
                let mut out = Vec::new();
                for (k, v) in map {
                    match key_text(&k) {
                        Some(key) => out.push((key, v)),
                        None => self.error(path, format!("expected text keys ({what})")),
                    }
                }
                out
            }
            _ => {
                self.error(path, format!("expected a map ({what})"));
                Vec::new()
            }
        }
    }

    fn top(&mut self, value: Value) -> Mapping {
        let mut mapping = Mapping::default();
        let root = KeyPath::default();
        for (key, value) in self.entries(value, &root, "imports and clients") {
            let path = root.key(&key);
            match key.as_str() {
                "imports" => mapping.imports = self.sections(value, &path),
                "clients" => {
                    let clients = self.entries(value, &path, "Halo client id or name → imports");
                    for (client, value) in clients {
                        let client_path = path.key(&client);
                        if client.is_empty() {
                            self.error(&client_path, "expected a Halo client id or name");
                            continue;
                        }
                        if let Some((first, _)) = mapping
                            .clients
                            .iter()
                            .find(|(k, _)| k.to_lowercase() == client.to_lowercase())
                        {
                            let message = format!(
                                "the same client as \"{first}\" (names compare case-insensitively); merge the two"
                            );
                            self.error(&client_path, message);
                            continue;
                        }
                        let sections = self.sections(value, &client_path);
                        mapping.clients.push((client, sections));
                    }
                }
                _ => self.error(&path, "unknown key; expected imports or clients"),
            }
        }
        mapping
    }

    fn sections(&mut self, value: Value, path: &KeyPath) -> Sections {
        let mut sections = Sections::default();
        for (name, value) in self.entries(value, path, "import name → section") {
            let path = path.key(&name);
            match ImportKind::parse(&name) {
                Some(ImportKind::EntraUsers) => {
                    sections.entra_users = self.section(value, &path, &name);
                }
                Some(ImportKind::LdapUsers) => {
                    sections.ldap_users = self.section(value, &path, &name);
                }
                Some(ImportKind::IntuneDevices) => {
                    sections.intune_devices = self.section(value, &path, &name);
                }
                Some(ImportKind::CsvAssets) => {
                    sections.csv_assets = self.section(value, &path, &name);
                }
                None => self.error(
                    &path,
                    format!("unknown import; expected one of {}", import_names()),
                ),
            }
        }
        sections
    }

    /// One import's section, key by key, so that each bad key is reported.
    fn section<S: Section>(&mut self, value: Value, path: &KeyPath, import: &str) -> Option<S> {
        let entries = self.entries(value, path, &format!("the keys of {import}"));
        let mut section = S::default();
        for (key, value) in entries {
            let key_path = path.key(&key);
            if !S::KEYS.contains(&key.as_str()) {
                self.error(
                    &key_path,
                    format!(
                        "not a key of {import}; expected one of {}",
                        S::KEYS.join(", ")
                    ),
                );
                continue;
            }
            let mut single = serde_norway::Mapping::new();
            single.insert(Value::String(key), value);
            match serde_path_to_error::deserialize::<_, S>(Value::Mapping(single)) {
                Ok(part) => section = section.overlay(part),
                Err(e) => {
                    let mut full = path.clone();
                    for seg in e.path().iter() {
                        full.0.push(match seg {
                            serde_path_to_error::Segment::Seq { index } => Seg::Index(*index),
                            serde_path_to_error::Segment::Map { key } => Seg::Key(key.clone()),
                            serde_path_to_error::Segment::Enum { variant } => {
                                Seg::Key(variant.clone())
                            }
                            serde_path_to_error::Segment::Unknown => Seg::Key("?".into()),
                        });
                    }
                    self.error(&full, e.into_inner());
                }
            }
        }
        for (below, message) in section.check() {
            let rendered = path.render();
            self.errors.push(ConfigError {
                var: FILE_VAR.to_string(),
                message: format!("{}: {rendered}.{below}: {message}", self.origin),
            });
        }
        Some(section)
    }
}

impl Mapping {
    /// Reads and validates the file at `path`: every problem found, each naming the file,
    /// the key path and what was expected.
    pub fn load(path: &Path) -> Result<Mapping, Vec<ConfigError>> {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Mapping::parse(&text, &origin),
            Err(e) => Err(vec![ConfigError {
                var: FILE_VAR.to_string(),
                message: format!("{origin}: cannot read the mapping file: {e}"),
            }]),
        }
    }

    /// Parses and validates the text of a mapping file; `origin` names it in errors.
    /// Empty text (or only comments) is a valid file: the built-in behaviour.
    pub fn parse(text: &str, origin: &str) -> Result<Mapping, Vec<ConfigError>> {
        let mut value: Value = match serde_norway::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                return Err(vec![ConfigError {
                    var: FILE_VAR.to_string(),
                    message: format!("{origin}: not valid YAML: {e}"),
                }]);
            }
        };
        let mut loader = Loader {
            origin,
            errors: Vec::new(),
        };
        if let Err(e) = value.apply_merge() {
            loader.error(&KeyPath::default(), format!("invalid merge key (<<): {e}"));
            return Err(loader.errors);
        }
        let mapping = loader.top(value);
        if loader.errors.is_empty() {
            Ok(mapping)
        } else {
            Err(loader.errors)
        }
    }

    /// The sections of the client: the one keyed by its id (as text) if any, else the one
    /// keyed by its name (trimmed, case-insensitive). A file with both an id key and a
    /// name key for one client uses the id's alone (the loader cannot know they are one
    /// client).
    fn client(&self, client_id: i64, client_name: &str) -> Option<&Sections> {
        let id = client_id.to_string();
        let name = client_name.trim().to_lowercase();
        self.clients
            .iter()
            .find(|(key, _)| *key == id)
            .or_else(|| {
                self.clients
                    .iter()
                    .find(|(key, _)| key.to_lowercase() == name)
            })
            .map(|(_, sections)| sections)
    }

    fn effective<S: Section>(
        &self,
        client_id: i64,
        client_name: &str,
        pick: fn(&Sections) -> &Option<S>,
    ) -> S {
        let base = pick(&self.imports).clone().unwrap_or_default();
        match self
            .client(client_id, client_name)
            .and_then(|c| pick(c).clone())
        {
            Some(over) => base.overlay(over),
            None => base,
        }
    }

    /// The `entra-users` section in force for the client.
    pub fn entra_users(&self, client_id: i64, client_name: &str) -> UserSection {
        self.effective(client_id, client_name, |s| &s.entra_users)
    }

    /// The `ldap-users` section in force for the client.
    pub fn ldap_users(&self, client_id: i64, client_name: &str) -> UserSection {
        self.effective(client_id, client_name, |s| &s.ldap_users)
    }

    /// The `intune-devices` section in force for the client.
    pub fn intune_devices(&self, client_id: i64, client_name: &str) -> AssetSection {
        self.effective(client_id, client_name, |s| &s.intune_devices)
    }

    /// The `csv-assets` section in force for the client.
    pub fn csv_assets(&self, client_id: i64, client_name: &str) -> CsvSection {
        self.effective(client_id, client_name, |s| &s.csv_assets)
    }

    /// The client keys of the file, as written (trimmed): for `check` to report keys that
    /// match no Halo client.
    pub fn client_keys(&self) -> impl Iterator<Item = &str> {
        self.clients.iter().map(|(key, _)| key.as_str())
    }

    /// Every source property any section of `import` reads (the import's and every
    /// client's; see [`Section::properties`]), each once: what its source read must ask
    /// for, whatever the client.
    pub fn properties(&self, import: ImportKind) -> Vec<String> {
        let all = std::iter::once(&self.imports).chain(self.clients.iter().map(|(_, s)| s));
        let mut names: Vec<String> = Vec::new();
        for sections in all {
            let found = match import {
                ImportKind::EntraUsers => sections.entra_users.as_ref().map(Section::properties),
                ImportKind::LdapUsers => sections.ldap_users.as_ref().map(Section::properties),
                ImportKind::IntuneDevices => {
                    sections.intune_devices.as_ref().map(Section::properties)
                }
                ImportKind::CsvAssets => sections.csv_assets.as_ref().map(Section::properties),
            };
            for name in found.into_iter().flatten() {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                    names.push(name);
                }
            }
        }
        names
    }
}
