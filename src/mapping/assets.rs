//! The section of `intune-devices`: asset-type rules, site rules, the default site and
//! field mappings to asset fields, custom fields or asset properties.

use serde::Deserialize;

use super::fields::{AssetTarget, FieldMap, duplicate_targets};
use super::resolve::{Catalog, ResolveError, Resolved, Resolver};
use super::rules::{DefaultSite, Props, SiteRule, SiteRules, TypeRef, TypeRule, first_type};
use super::{Section, overlay, properties, site_rules};

/// `imports.intune-devices` (and a client's override of it). Each key is optional; a
/// client's section replaces each key it sets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AssetSection {
    /// Asset-type rules for new assets: the first rule whose `when` matches gives the
    /// type; else the import's configured type (`INTUNE_ASSET_TYPE`).
    pub asset_types: Option<Vec<TypeRule>>,
    /// Site rules for new assets: the first rule whose `when` matches gives the site.
    pub sites: Option<Vec<SiteRule>>,
    /// The site of new assets no rule matches: `main` (the client's main site, the
    /// default), `skip` (not created), a site name or `{id: N}`.
    pub default_site: Option<DefaultSite>,
    /// Field mappings, added to (or replacing) the built-in ones: a source property `from`
    /// written to `{field: id}` (an asset field), `{custom_field: id or name}` or an asset
    /// property (`inventory_number`).
    pub fields: Option<Vec<FieldMap<AssetTarget>>>,
}

impl AssetSection {
    /// The site rules with their default.
    pub fn sites(&self) -> SiteRules<'_> {
        site_rules(&self.sites, &self.default_site)
    }
}

/// What the sections of the asset imports (`AssetSection`, `CsvSection`) share: asset-type
/// rules and field mappings to asset fields.
pub trait AssetRules {
    /// The asset-type rules.
    fn asset_types(&self) -> &[TypeRule];

    /// The field mappings.
    fn fields(&self) -> &[FieldMap<AssetTarget>];

    /// The asset type of the first rule matching the record; `None`: the import's default.
    fn asset_type(&self, props: &dyn Props) -> Option<&TypeRef> {
        first_type(self.asset_types(), props)
    }
}

impl AssetRules for AssetSection {
    fn asset_types(&self) -> &[TypeRule] {
        self.asset_types.as_deref().unwrap_or_default()
    }

    fn fields(&self) -> &[FieldMap<AssetTarget>] {
        self.fields.as_deref().unwrap_or_default()
    }
}

impl Section for AssetSection {
    const KEYS: &'static [&'static str] = &["asset_types", "sites", "default_site", "fields"];

    fn overlay(self, over: Self) -> Self {
        AssetSection {
            asset_types: overlay(self.asset_types, over.asset_types),
            sites: overlay(self.sites, over.sites),
            default_site: overlay(self.default_site, over.default_site),
            fields: overlay(self.fields, over.fields),
        }
    }

    fn properties(&self) -> Vec<String> {
        properties(
            self.asset_types()
                .iter()
                .map(|r| &r.when)
                .chain(self.sites().rules.iter().map(|r| &r.when)),
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
        resolver.asset_types(catalog, self.asset_types(), &mut out);
        let sites = self.sites();
        resolver.sites(catalog, sites.rules, sites.default, &mut out);
        resolver.fields(catalog, self.fields(), &mut out);
        resolver.finish(catalog, out)
    }
}
