//! The section of a user import (`entra-users`, `ldap-users`): site rules, the default
//! site and field mappings to user properties or custom fields.

use serde::Deserialize;

use super::fields::{FieldMap, UserTarget, duplicate_targets};
use super::resolve::{Catalog, ResolveError, Resolved, Resolver};
use super::rules::{DefaultSite, SiteRule, SiteRules};
use super::{Section, overlay, properties, site_rules};

/// `imports.entra-users` / `imports.ldap-users` (and a client's override of it). Each key
/// is optional; a client's section replaces each key it sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct UserSection {
    /// Site rules for new users: the first rule whose `when` matches gives the site.
    pub sites: Option<Vec<SiteRule>>,
    /// The site of new users no rule matches: `main` (the client's main site, the
    /// default), `skip` (not created), a site name or `{id: N}`.
    pub default_site: Option<DefaultSite>,
    /// Field mappings, added to (or replacing) the built-in ones: a source property `from`
    /// written to a user property (e.g. `other3`) or `{custom_field: id or name}`.
    pub fields: Option<Vec<FieldMap<UserTarget>>>,
}

impl UserSection {
    /// The site rules with their default.
    pub fn sites(&self) -> SiteRules<'_> {
        site_rules(&self.sites, &self.default_site)
    }

    /// The field mappings.
    pub fn fields(&self) -> &[FieldMap<UserTarget>] {
        self.fields.as_deref().unwrap_or_default()
    }
}

impl Section for UserSection {
    const KEYS: &'static [&'static str] = &["sites", "default_site", "fields"];

    fn overlay(self, over: Self) -> Self {
        UserSection {
            sites: overlay(self.sites, over.sites),
            default_site: overlay(self.default_site, over.default_site),
            fields: overlay(self.fields, over.fields),
        }
    }

    fn properties(&self) -> Vec<String> {
        properties(
            self.sites().rules.iter().map(|r| &r.when),
            self.fields().iter().map(|f| f.from.as_str()),
        )
    }

    fn check(&self) -> Vec<(String, String)> {
        duplicate_targets(self.fields())
            .into_iter()
            .map(|(i, message)| (format!("fields[{i}].to"), message))
            .collect()
    }

    fn resolve(&self, catalog: &Catalog<'_>) -> Result<Resolved, Vec<ResolveError>> {
        let mut out = Resolved::default();
        let mut resolver = Resolver::default();
        let sites = self.sites();
        resolver.sites(catalog, sites.rules, sites.default, &mut out);
        resolver.fields(catalog, self.fields(), &mut out);
        resolver.finish(catalog, out)
    }
}
