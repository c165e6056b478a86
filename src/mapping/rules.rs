//! Rules over a source record's properties: the matchers of a `when`, site rules with
//! their default, asset-type rules, and the [`Props`] a record offers them. Pure: no I/O.
//!
//! Property names are looked up case-insensitively. Values are compared trimmed; text
//! and `in` compare case-insensitively, `regex` as written (add `(?i)` for
//! case-insensitive). A property the record does not have never matches. `ou` is a
//! pseudo-property: it matches when any `OU=` component of the record's `dn` matches
//! (LDAP; the `ldap-users` import offers each entry's DN as `dn`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::de::{self, HaloId};

/// The properties of one source record (a Graph object, an LDAP entry, a CSV row).
pub trait Props {
    /// The value of the property `name`, looked up case-insensitively; `None` when the
    /// record does not have it.
    fn get(&self, name: &str) -> Option<Cow<'_, str>>;
}

/// Any `Fn(&str) -> Option<String>` is a record (the function does the case-insensitive
/// lookup).
impl<F: Fn(&str) -> Option<String>> Props for F {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self(name).map(Cow::Owned)
    }
}

/// A record as name → value pairs, names compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropMap(BTreeMap<String, String>);

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for PropMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        PropMap(
            iter.into_iter()
                .map(|(k, v)| (k.as_ref().to_lowercase(), v.into()))
                .collect(),
        )
    }
}

impl Props for PropMap {
    fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.0
            .get(&name.to_lowercase())
            .map(|v| Cow::Borrowed(v.as_str()))
    }
}

/// The pseudo-properties of LDAP entries: `dn` (the entry's DN, which the import offers)
/// and `ou` (any `OU=` component of it). Not attributes: [`properties`] lists neither.
///
/// [`properties`]: super::Section::properties
pub const PSEUDO_PROPERTIES: [&str; 2] = ["dn", "ou"];

/// A compiled regular expression, compiled when the file is loaded. `regex-lite` syntax
/// (chosen for the image size): `(?i)` is ASCII-only case-insensitivity and Unicode
/// classes (`\p{...}`) are not available; text and `in` matchers fold any case.
#[derive(Debug, Clone)]
pub struct Pattern(regex_lite::Regex);

impl Pattern {
    /// Compiles `source`; the error says why it is not a valid regular expression.
    pub fn new(source: &str) -> Result<Pattern, String> {
        regex_lite::Regex::new(source)
            .map(Pattern)
            .map_err(|e| format!("expected a valid regular expression, got '{source}': {e}"))
    }

    /// Whether the expression matches somewhere in `value`.
    pub fn is_match(&self, value: &str) -> bool {
        self.0.is_match(value)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Pattern::new(&source).map_err(serde::de::Error::custom)
    }
}

/// What one property of a `when` must be.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// `"Leeds"`: equal, trimmed and case-insensitively (held lower-cased).
    Equals(String),
    /// `{regex: "^Man"}`: the expression matches the trimmed value.
    Regex(Pattern),
    /// `{in: ["Sales", "Ops"]}`: equal to one of them (held lower-cased).
    In(Vec<String>),
}

fn folded(text: &str) -> String {
    text.trim().to_lowercase()
}

impl Matcher {
    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Equals(want) => folded(value) == *want,
            Matcher::Regex(pattern) => pattern.is_match(value.trim()),
            Matcher::In(wants) => {
                let value = folded(value);
                wants.contains(&value)
            }
        }
    }
}

/// The map form of a [`Matcher`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatcherMap {
    regex: Option<Pattern>,
    #[serde(rename = "in")]
    one_of: Option<Vec<Scalar>>,
}

/// A text, number or boolean, read as text.
#[derive(Deserialize)]
#[serde(transparent)]
struct Scalar(#[serde(deserialize_with = "de::scalar_text")] String);

const MATCHER: &str = "a value (equal, case-insensitively), {regex: ...} or {in: [...]}";

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::scalar_or_map(
            d,
            MATCHER,
            |text| Some(Matcher::Equals(folded(text))),
            |m: MatcherMap| match (m.regex, m.one_of) {
                (Some(pattern), None) => Ok(Matcher::Regex(pattern)),
                (None, Some(values)) if !values.is_empty() => Ok(Matcher::In(
                    values.iter().map(|Scalar(v)| folded(v)).collect(),
                )),
                (None, Some(_)) => Err("expected at least one value in `in`".to_string()),
                _ => Err("expected exactly one of `regex` or `in`".to_string()),
            },
        )
    }
}

/// The conditions of a rule: source property → [`Matcher`]; all must match (an empty
/// `when` matches every record).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct When(BTreeMap<String, Matcher>);

impl When {
    /// Whether every condition matches the record.
    pub fn matches(&self, props: &dyn Props) -> bool {
        self.0.iter().all(|(name, matcher)| {
            if name.eq_ignore_ascii_case("ou") {
                props
                    .get("dn")
                    .is_some_and(|dn| ou_values(&dn).iter().any(|ou| matcher.matches(ou)))
            } else {
                props.get(name).is_some_and(|v| matcher.matches(&v))
            }
        })
    }

    /// The property names the conditions read, as written.
    pub fn properties(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// The values of the `OU=` components of a DN (blanks around `=` and `,` trimmed, `\`
/// escapes undone), outermost last as written.
pub fn ou_values(dn: &str) -> Vec<String> {
    let mut rdns = vec![String::new()];
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                // Keep the escape so `=` inside a value is not taken as the separator.
                let last = rdns.last_mut().expect("never empty");
                last.push('\\');
                if let Some(next) = chars.next() {
                    last.push(next);
                }
            }
            ',' => rdns.push(String::new()),
            c => rdns.last_mut().expect("never empty").push(c),
        }
    }
    rdns.iter()
        .filter_map(|rdn| {
            let (attr, value) = split_unescaped_eq(rdn)?;
            attr.trim()
                .eq_ignore_ascii_case("ou")
                .then(|| unescape(value.trim()))
        })
        .collect()
}

fn split_unescaped_eq(rdn: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in rdn.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '=' if !escaped => return Some((&rdn[..i], &rdn[i + 1..])),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// A Halo site: by name, or `{id: N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteRef {
    /// The site's name, trimmed; resolved exactly, case-insensitively, among the client's
    /// active sites.
    Name(String),
    /// The site's id.
    Id(HaloId),
}

/// The `{id: N}` form of a reference.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdRef {
    id: HaloId,
}

impl fmt::Display for SiteRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiteRef::Name(name) => write!(f, "\"{name}\""),
            SiteRef::Id(id) => write!(f, "id {id}"),
        }
    }
}

impl<'de> Deserialize<'de> for SiteRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::text_or_map(
            d,
            "a site name or {id: N}",
            |text| de::name(text).map(SiteRef::Name),
            |IdRef { id }| Ok(SiteRef::Id(id)),
        )
    }
}

/// Where a record goes when no site rule matches (`default_site`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DefaultSite {
    /// `main`: the client's main site (the default).
    #[default]
    Main,
    /// `skip`: the record is not created (records already in Halo keep their site).
    Skip,
    /// A site by name or id.
    Site(SiteRef),
}

impl<'de> Deserialize<'de> for DefaultSite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::text_or_map(
            d,
            "main, skip, a site name or {id: N}",
            |text| match text.trim() {
                "main" => Some(DefaultSite::Main),
                "skip" => Some(DefaultSite::Skip),
                other => de::name(other).map(|n| DefaultSite::Site(SiteRef::Name(n))),
            },
            |IdRef { id }| Ok(DefaultSite::Site(SiteRef::Id(id))),
        )
    }
}

/// One site rule: the records `when` matches go to `site`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SiteRule {
    /// The conditions (source property → value, `{regex: ...}` or `{in: [...]}`); all must
    /// match.
    pub when: When,
    /// The Halo site: its name, or `{id: N}`.
    pub site: SiteRef,
}

/// The site rules of a section with its default: first matching rule wins.
#[derive(Debug, Clone, Copy)]
pub struct SiteRules<'a> {
    /// The rules, in the file's order.
    pub rules: &'a [SiteRule],
    /// When none matches.
    pub default: &'a DefaultSite,
}

/// Which site a record goes to, before names are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteChoice<'a> {
    /// The site of the first matching rule.
    Rule(&'a SiteRef),
    /// No rule matched: the default.
    Default(&'a DefaultSite),
}

impl<'a> SiteRules<'a> {
    /// The site of the first rule matching the record, else the default.
    pub fn choose(&self, props: &dyn Props) -> SiteChoice<'a> {
        self.rules
            .iter()
            .find(|r| r.when.matches(props))
            .map_or(SiteChoice::Default(self.default), |r| {
                SiteChoice::Rule(&r.site)
            })
    }
}

/// A Halo asset type: by name, or `{id: N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// The type's name, trimmed; resolved exactly, case-insensitively.
    Name(String),
    /// The type's id.
    Id(HaloId),
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Name(name) => write!(f, "\"{name}\""),
            TypeRef::Id(id) => write!(f, "id {id}"),
        }
    }
}

impl<'de> Deserialize<'de> for TypeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::text_or_map(
            d,
            "an asset type name or {id: N}",
            |text| de::name(text).map(TypeRef::Name),
            |IdRef { id }| Ok(TypeRef::Id(id)),
        )
    }
}

/// One asset-type rule: new assets `when` matches get `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct TypeRule {
    /// The conditions; all must match.
    pub when: When,
    /// The Halo asset type: its name, or `{id: N}`.
    #[serde(rename = "type")]
    pub asset_type: TypeRef,
}

/// The asset type of the first rule matching the record; `None`: the import's default.
pub fn first_type<'a>(rules: &'a [TypeRule], props: &dyn Props) -> Option<&'a TypeRef> {
    rules
        .iter()
        .find(|r| r.when.matches(props))
        .map(|r| &r.asset_type)
}
