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

use std::fmt::{self, Write as _};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_norway::Value;

use crate::config::ConfigError;
use crate::imports::unit::ImportKind;

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

pub use assets::{AssetRules, AssetSection};
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

/// In tests, a [`Section`] also has a JSON Schema (schemars is a dev-dependency).
#[cfg(test)]
pub trait Schema: schemars::JsonSchema {}
#[cfg(test)]
impl<T: schemars::JsonSchema> Schema for T {}
/// In tests, a [`Section`] also has a JSON Schema (schemars is a dev-dependency).
#[cfg(not(test))]
pub trait Schema {}
#[cfg(not(test))]
impl<T> Schema for T {}

/// The variable naming the file; the [`ConfigError`]s of the file are reported under it.
pub const FILE_VAR: &str = "INTEGRATOR_CONFIG_FILE";

/// What every import's section offers. An import names its section type
/// (`Import::Section`); the schema of the file is generated from those types.
pub trait Section: Default + Clone + fmt::Debug + Send + Sync + DeserializeOwned + Schema {
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

/// Import name → its section, as written (checked by [`Mapping::import`]).
type RawSections = Vec<(String, Value)>;

/// A loaded mapping file; [`Mapping::default`] is no file (the built-in behaviour).
///
/// Loading checks the file's frame (`imports`, `clients`, known import names); each
/// import's section is typed and checked by [`Mapping::import`] with the [`Section`] type
/// the import declares, so this module names no import (the registry does).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The file, for errors.
    origin: String,
    imports: RawSections,
    /// Client key (trimmed, as written) → its sections, in the file's order.
    clients: Vec<(String, RawSections)>,
}

/// One import's sections, typed: the import's own and each client's override.
#[derive(Debug, Clone, Default)]
pub struct ImportMapping<S> {
    base: S,
    /// Client key (as written) → that client's section (only the keys it sets).
    clients: Vec<(String, S)>,
}

impl<S: Section> ImportMapping<S> {
    /// The section in force for the client: the one keyed by its id (as text) if any,
    /// else the one keyed by its name (trimmed, case-insensitive), laid over the import's.
    /// A file with both an id key and a name key for one client uses the id's alone (the
    /// loader cannot know they are one client).
    pub fn for_client(&self, client_id: i64, client_name: &str) -> S {
        let id = client_id.to_string();
        let name = client_name.trim().to_lowercase();
        let over = self.clients.iter().find(|(key, _)| *key == id).or_else(|| {
            self.clients
                .iter()
                .find(|(key, _)| key.to_lowercase() == name)
        });
        match over {
            Some((_, over)) => self.base.clone().overlay(over.clone()),
            None => self.base.clone(),
        }
    }

    /// Every source property any of the sections reads (the import's and every
    /// client's; see [`Section::properties`]), each once: what the source read must ask
    /// for, whatever the client.
    pub fn properties(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let all = std::iter::once(&self.base).chain(self.clients.iter().map(|(_, s)| s));
        for name in all.flat_map(Section::properties) {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
        names
    }
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

    /// Import name → section, the names checked against the registry.
    fn sections(&mut self, value: Value, path: &KeyPath) -> RawSections {
        let mut sections = RawSections::new();
        for (name, value) in self.entries(value, path, "import name → section") {
            if ImportKind::parse(&name).is_some() {
                sections.push((name, value));
            } else {
                self.error(
                    &path.key(&name),
                    format!("unknown import; expected one of {}", ImportKind::names()),
                );
            }
        }
        sections
    }

    /// One import's section, key by key, so that each bad key is reported.
    fn section<S: Section>(&mut self, value: &Value, path: &KeyPath, import: &str) -> S {
        let entries = self.entries(value.clone(), path, &format!("the keys of {import}"));
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
        section
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
        let mut mapping = loader.top(value);
        mapping.origin = origin.to_string();
        loader.errors.extend(mapping.check());
        if loader.errors.is_empty() {
            Ok(mapping)
        } else {
            Err(loader.errors)
        }
    }

    /// The sections of `import`, typed as `S` and checked: every problem found, each
    /// naming the file, the key path and what was expected. No section is the default
    /// (the built-in behaviour).
    pub fn import<S: Section>(&self, import: &str) -> Result<ImportMapping<S>, Vec<ConfigError>> {
        let mut loader = Loader {
            origin: &self.origin,
            errors: Vec::new(),
        };
        let root = KeyPath::default();
        let mut mapping = ImportMapping::<S>::default();
        let own = |sections: &RawSections| -> Option<Value> {
            sections
                .iter()
                .find(|(name, _)| name == import)
                .map(|(_, v)| v.clone())
        };
        if let Some(value) = own(&self.imports) {
            let path = root.key("imports").key(import);
            mapping.base = loader.section(&value, &path, import);
        }
        for (client, sections) in &self.clients {
            if let Some(value) = own(sections) {
                let path = root.key("clients").key(client).key(import);
                let section = loader.section(&value, &path, import);
                mapping.clients.push((client.clone(), section));
            }
        }
        if loader.errors.is_empty() {
            Ok(mapping)
        } else {
            Err(loader.errors)
        }
    }

    /// Every import's sections checked with the section type each import declares (by
    /// [`Mapping::parse`], whichever imports are enabled).
    fn check(&self) -> Vec<ConfigError> {
        ImportKind::all()
            .flat_map(|kind| kind.check_mapping(self))
            .collect()
    }

    /// The client keys of the file, as written (trimmed): for `check` to report keys that
    /// match no Halo client.
    pub fn client_keys(&self) -> impl Iterator<Item = &str> {
        self.clients.iter().map(|(key, _)| key.as_str())
    }
}
