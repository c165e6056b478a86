//! What every import does with its section of the mapping file, once per client: resolve
//! the section's names against Halo ([`ClientMapping::resolve`]), then, per record, add the
//! mapped fields and the site to the desired record ([`ClientMapping::apply`]), give the
//! current record the values they are compared with ([`ClientMapping::current`]), keep
//! out of the plan the new records placed on no site ([`withhold_unplaced`]) and send
//! custom fields as the complete array Halo replaces wholesale ([`complete_customfields`]).
//!
//! Placement: a site rule that matches places the record on its site **always** (a record
//! that moves is planned as a site move); the default site (`main`, a name or an id) places
//! only **new** records (a record no rule matches is never moved); `skip` leaves new
//! records uncreated. Field mappings `on: always` are compared and written on change,
//! `on: create` are written only when the record is created.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::assets::field_value;
use super::text;
use crate::check::Verdicts;
use crate::halo::{Asset, Client, CustomFieldValue, Halo, Site, User};
use crate::mapping::{
    Catalog, FieldKey, ImportMapping, NamedId, On, Props, ResolveError, Resolved, Section,
    SiteInfo, SiteTarget,
};
use crate::outcome::{Classify, Failure, Severity};
use crate::sync::{Current, Desired, Name, Plan, Skip, SkipReason};

/// The Halo field of a record's site.
pub const SITE_FIELD: &str = "site_id";

/// A Halo record as a mapping reads it: its site and the value of a mapped field.
pub trait MappedRecord {
    /// The record's `site_id`.
    fn site_id(&self) -> Option<i64>;
    /// The record's value of a mapped field (`null` = no value); `None` when the record
    /// as read does not carry it (unknown, never compared).
    fn value(&self, key: &FieldKey) -> Option<Value>;
}

impl MappedRecord for User {
    fn site_id(&self) -> Option<i64> {
        self.site_id
    }

    fn value(&self, key: &FieldKey) -> Option<Value> {
        match key {
            FieldKey::Property(name) => Some(text(self.text(name).as_deref())),
            FieldKey::CustomField(id) => custom_value(self.customfields.as_deref(), *id),
            FieldKey::AssetField(_) => None,
        }
    }
}

impl MappedRecord for Asset {
    fn site_id(&self) -> Option<i64> {
        self.site_id
    }

    fn value(&self, key: &FieldKey) -> Option<Value> {
        match key {
            FieldKey::Property(name) if name == "inventory_number" => {
                Some(text(self.inventory_number.as_deref()))
            }
            FieldKey::Property(_) => None,
            FieldKey::AssetField(id) => self.fields.is_some().then(|| field_value(self, *id)),
            FieldKey::CustomField(id) => custom_value(self.customfields.as_deref(), *id),
        }
    }
}

/// The value of custom field `id` in a record's `customfields` (`None`: not read).
pub fn custom_value(customfields: Option<&[CustomFieldValue]>, id: i64) -> Option<Value> {
    let values = customfields?;
    let value = values.iter().find(|f| f.id == id).map(|f| &f.value);
    Some(match value {
        Some(Value::String(s)) => text(Some(s)),
        Some(Value::Number(n)) => Value::String(n.to_string()),
        _ => Value::Null,
    })
}

/// The custom field definitions of one record kind (one import's), for the custom fields a
/// mapping names: read from the full model of any one record (which lists every custom
/// field defined for its kind) the first time a section needs them, then kept for the run.
#[derive(Debug, Default)]
pub struct CustomFields {
    defs: tokio::sync::OnceCell<Vec<(i64, String)>>,
}

impl CustomFields {
    /// The definitions of `entity` (`Users`, `Asset`), read on first use.
    async fn get(&self, halo: &Halo, entity: &str) -> Result<&[(i64, String)], Failure> {
        let defs = self
            .defs
            .get_or_try_init(|| async {
                let fields = halo.custom_fields(entity).await?;
                Ok::<_, crate::halo::HaloError>(
                    fields
                        .into_iter()
                        .filter_map(|f| Some((f.id, f.name?)))
                        .collect(),
                )
            })
            .await
            .map_err(|e| Failure {
                severity: e.severity(),
                message: format!("reading the custom field definitions failed: {e}"),
            })?;
        Ok(defs)
    }
}

/// A section resolved for one client: ids only.
#[derive(Debug, Clone, Default)]
pub struct ClientMapping {
    resolved: Resolved,
}

impl ClientMapping {
    /// Resolves `section` for `client` against Halo: the client's sites and the custom
    /// field definitions of `entity` (`Users`, `Asset`) are read only when the section
    /// names a site or a custom field; `asset_types` are Halo's asset types (empty for a
    /// user import). A name Halo does not have fails the client (exit 3), never guessed.
    pub async fn resolve<S: Section>(
        halo: &Halo,
        entity: &str,
        section: &S,
        client: &Client,
        asset_types: &[NamedId<'_>],
        custom_fields: &CustomFields,
    ) -> Result<ClientMapping, Failure> {
        let name = client.display_name();
        let catalog = |sites, custom_fields| Catalog {
            client: &name,
            sites,
            asset_types,
            custom_fields,
        };
        let mut resolved = section.resolve(&catalog(&[], &[]));
        if let Err(errors) = &resolved {
            let sites = if errors.iter().any(ResolveError::is_site) {
                halo.sites_of_client(client.id).await.map_err(|e| Failure {
                    severity: e.severity(),
                    message: format!("reading the client's sites failed: {e}"),
                })?
            } else {
                Vec::new()
            };
            let defs = if errors.iter().any(ResolveError::is_custom_field) {
                custom_fields.get(halo, entity).await?
            } else {
                &[]
            };
            let sites: Vec<SiteInfo<'_>> = sites
                .iter()
                .map(|s: &Site| SiteInfo {
                    id: s.id,
                    name: s.name.as_deref().unwrap_or_default(),
                    inactive: s.inactive,
                })
                .collect();
            let defs: Vec<NamedId<'_>> = defs
                .iter()
                .map(|(id, name)| NamedId { id: *id, name })
                .collect();
            resolved = section.resolve(&catalog(&sites, &defs));
        }
        match resolved {
            Ok(resolved) => Ok(ClientMapping { resolved }),
            Err(errors) => Err(Failure {
                severity: Severity::Partial,
                message: format!(
                    "the mapping file does not resolve for this client: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            }),
        }
    }

    /// Whether the mapping writes custom fields (then writes need the records' current
    /// values: [`StoredCustomFields`]).
    pub fn writes_custom_fields(&self) -> bool {
        self.resolved
            .fields
            .iter()
            .any(|f| matches!(f.key, FieldKey::CustomField(_)))
    }

    /// Whether the mapping places records by rule (then their site is compared).
    fn has_site_rules(&self) -> bool {
        !self.resolved.sites.is_empty()
    }

    /// The field names this mapping writes on update (compared with the current record).
    pub fn compared(&self) -> impl Iterator<Item = Name> + '_ {
        let site = self.has_site_rules().then(|| Name::from(SITE_FIELD));
        site.into_iter().chain(
            self.resolved
                .fields
                .iter()
                .filter(|f| f.on == On::Always)
                .map(|f| Name::from(f.key.to_string())),
        )
    }

    /// Whether the mapping sets anything beyond the built-in behaviour.
    pub fn is_empty(&self) -> bool {
        self.resolved.sites.is_empty()
            && self.resolved.fields.is_empty()
            && self.resolved.asset_types.is_empty()
            && matches!(self.resolved.default_site, None | Some(SiteTarget::Main))
    }

    /// The asset type of a new record by the first matching rule; `None`: the import's
    /// default.
    pub fn asset_type(&self, props: &dyn Props) -> Option<i64> {
        self.resolved.asset_type(props)
    }

    /// Adds to `desired` what the mapping says for its source record `props`: the mapped
    /// fields (a mapped field replaces a built-in one of the same name) and the site.
    /// Returns `false` when a new record would be placed on no site (`default_site: skip`
    /// and no rule matches): the caller hands those to [`withhold_unplaced`].
    pub fn apply(&self, props: &dyn Props, desired: &mut Desired) -> bool {
        for field in &self.resolved.fields {
            let value = text(props.get(&field.from).as_deref());
            let name = Name::from(field.key.to_string());
            match field.on {
                On::Always => {
                    desired.fields.insert(name, value);
                }
                On::Create => {
                    desired.fields.remove(&name);
                    desired.create_only.insert(name, value);
                }
            }
        }
        let rule = self.resolved.sites.iter().find(|r| r.when.matches(props));
        match (rule, self.resolved.default_site) {
            (Some(rule), _) => {
                desired.fields.insert(SITE_FIELD, Value::from(rule.id));
                true
            }
            (None, Some(SiteTarget::Id(id))) => {
                desired.create_only.insert(SITE_FIELD, Value::from(id));
                true
            }
            (None, Some(SiteTarget::Skip)) => false,
            (None, Some(SiteTarget::Main) | None) => true,
        }
    }

    /// Gives `current` the values of `record` the mapping compares: its site (when records
    /// are placed by rule) and each `on: always` field the record carries. A field the
    /// record was read without stays out (unknown is never "different").
    pub fn current(&self, record: &impl MappedRecord, current: &mut Current) {
        if self.has_site_rules() {
            current.fields.insert(
                SITE_FIELD,
                record.site_id().map_or(Value::Null, Value::from),
            );
        }
        for field in self.resolved.fields.iter().filter(|f| f.on == On::Always) {
            if let Some(value) = record.value(&field.key) {
                current.fields.insert(field.key.to_string(), value);
            }
        }
    }
}

/// The `customfields` of the Halo records a run may update, as read, by record id: what
/// [`complete_customfields`] starts from. Kept only when the mapping writes custom fields
/// (and, by the caller, only for records not settled), so a run without custom-field
/// mappings keeps none.
#[derive(Debug, Default)]
pub struct StoredCustomFields {
    by_id: rustc_hash::FxHashMap<i64, Vec<CustomFieldValue>>,
    /// Records read without `customfields` (unknown): read singly before any write.
    unknown: Vec<i64>,
}

impl StoredCustomFields {
    /// Remembers the custom field values of record `id` as read (`None`: unknown).
    pub fn keep(&mut self, id: i64, customfields: Option<Vec<CustomFieldValue>>) {
        match customfields {
            Some(values) => {
                self.by_id.insert(id, values);
            }
            None => self.unknown.push(id),
        }
    }

    /// Reads singly (`GET /api/{entity}/{id}`, the full model) each record listed without
    /// its custom fields, so that no write sends a partial array; gives the caller each
    /// record completed, to compare it again.
    pub async fn complete(
        &mut self,
        halo: &Halo,
        entity: &str,
        mut completed: impl FnMut(i64, &[CustomFieldValue]),
    ) -> Result<(), Failure> {
        #[derive(serde::Deserialize)]
        struct Full {
            #[serde(default)]
            customfields: Option<Vec<CustomFieldValue>>,
        }
        for id in std::mem::take(&mut self.unknown) {
            let full: Full = halo.record(entity, id).await.map_err(|e| Failure {
                severity: e.severity(),
                message: format!("reading the custom fields of {entity} {id} failed: {e}"),
            })?;
            let values = full.customfields.unwrap_or_default();
            completed(id, &values);
            self.by_id.insert(id, values);
        }
        Ok(())
    }

    /// Shapes a write item: `custom:N` keys into the complete `customfields` array of
    /// record `id` (a create, `None`, starts from no values).
    pub fn shape(&self, id: Option<i64>, mut item: Map<String, Value>) -> Map<String, Value> {
        let current = id.and_then(|id| self.by_id.get(&id));
        complete_customfields(&mut item, current.map_or(&[], Vec::as_slice));
        item
    }
}

/// `check`: one verdict per client whose section of `mapping` sets anything: it resolves
/// against Halo (its sites, asset types, custom fields), or the names that do not.
pub async fn check_clients<'c, S: Section>(
    halo: &Halo,
    entity: &str,
    import: &str,
    mapping: &ImportMapping<S>,
    clients: impl IntoIterator<Item = &'c Client>,
    asset_types: &[NamedId<'_>],
    verdicts: &mut Verdicts,
) {
    let custom_fields = CustomFields::default();
    for client in clients {
        let section = mapping.for_client(client.id, client.name.as_deref().unwrap_or_default());
        let subject = format_args!("{import} mapping, {}", client.display_name()).to_string();
        match ClientMapping::resolve(halo, entity, &section, client, asset_types, &custom_fields)
            .await
        {
            Ok(m) if m.is_empty() => {}
            Ok(_) => verdicts.add(subject, Ok("every name resolves".into())),
            Err(e) => verdicts.add(subject, Err(e.message)),
        }
    }
}

/// Moves the creates of `unplaced` source ids (records [`ClientMapping::apply`] placed on
/// no site) from `plan.creates` to `plan.skipped` ([`SkipReason::NoSite`]).
pub fn withhold_unplaced(plan: &mut Plan, unplaced: &HashSet<String>) {
    if unplaced.is_empty() {
        return;
    }
    let (kept, withheld): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.creates)
        .into_iter()
        .partition(|c| !unplaced.contains(&c.source_id));
    plan.creates = kept;
    plan.skipped.extend(withheld.into_iter().map(|c| Skip {
        source_id: c.source_id,
        label: c.label,
        reason: SkipReason::NoSite,
    }));
}

/// Turns the `custom:N` keys of a write item into the `customfields` array Halo replaces
/// wholesale: the record's current values (`current`, as read; none for a create) with the
/// written ones replaced or added. An item without `custom:` keys is left alone.
pub fn complete_customfields(item: &mut Map<String, Value>, current: &[CustomFieldValue]) {
    let written: Vec<(i64, Value)> = item
        .keys()
        .filter_map(|k| Some((k.strip_prefix("custom:")?.parse().ok()?, k.clone())))
        .collect::<Vec<(i64, String)>>()
        .into_iter()
        .map(|(id, key)| (id, item.remove(&key).unwrap_or(Value::Null)))
        .collect();
    if written.is_empty() {
        return;
    }
    let mut array: Vec<Value> = current
        .iter()
        .filter(|f| !written.iter().any(|(id, _)| *id == f.id))
        .map(|f| serde_json::json!({"id": f.id, "value": f.value}))
        .collect();
    array.extend(
        written
            .into_iter()
            .map(|(id, value)| serde_json::json!({"id": id, "value": value})),
    );
    item.insert("customfields".into(), Value::Array(array));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{PropMap, ResolvedField, ResolvedRule, UserSection};
    use crate::sync::Fields;
    use serde_json::json;

    fn mapping(yaml: &str) -> UserSection {
        let text = format!("imports:\n  entra-users:\n{yaml}");
        crate::mapping::Mapping::parse(&text, "m.yaml")
            .expect("valid")
            .import::<UserSection>("entra-users")
            .expect("valid")
            .for_client(1, "Contoso")
    }

    fn resolved(section: &UserSection) -> ClientMapping {
        let sites = [
            SiteInfo {
                id: 10,
                name: "Main",
                inactive: false,
            },
            SiteInfo {
                id: 11,
                name: "Leeds Office",
                inactive: false,
            },
        ];
        let custom = [NamedId {
            id: 142,
            name: "CFDepartment",
        }];
        let resolved = section
            .resolve(&Catalog {
                client: "Contoso",
                sites: &sites,
                asset_types: &[],
                custom_fields: &custom,
            })
            .expect("resolves");
        ClientMapping { resolved }
    }

    fn desired() -> Desired {
        Desired {
            source_id: "u1".into(),
            secondary: None,
            label: "u1".into(),
            enabled: true,
            fields: Fields::from([("name", json!("Ann"))]),
            create_only: Fields::new(),
        }
    }

    #[test]
    fn a_rule_places_always_the_default_only_new_records_and_skip_none() {
        let m = resolved(&mapping(
            "    sites: [{when: {officeLocation: Leeds}, site: Leeds Office}]\n    default_site: {id: 10}\n",
        ));
        let leeds: PropMap = [("officeLocation", "leeds ")].into_iter().collect();
        let mut d = desired();
        assert!(m.apply(&leeds, &mut d));
        assert_eq!(d.fields.get(SITE_FIELD), Some(&json!(11)));
        let elsewhere: PropMap = [("officeLocation", "London")].into_iter().collect();
        let mut d = desired();
        assert!(m.apply(&elsewhere, &mut d));
        assert_eq!(d.fields.get(SITE_FIELD), None, "never moved");
        assert_eq!(d.create_only.get(SITE_FIELD), Some(&json!(10)));

        let skip = resolved(&mapping("    default_site: skip\n"));
        assert!(!skip.apply(&elsewhere, &mut desired()));
        assert!(!skip.is_empty());
        assert!(resolved(&mapping("    default_site: main\n")).is_empty());
    }

    #[test]
    fn fields_go_to_fields_or_create_only_and_replace_built_in_ones() {
        let m = resolved(&mapping(
            "    fields:\n      - {from: department, to: {custom_field: CFDepartment}}\n      - {from: displayName, to: name, on: create}\n",
        ));
        let props: PropMap = [("department", "Sales"), ("displayName", "Ann Lee")]
            .into_iter()
            .collect();
        let mut d = desired();
        assert!(m.apply(&props, &mut d));
        assert_eq!(d.fields.get("custom:142"), Some(&json!("Sales")));
        assert_eq!(d.fields.get("name"), None, "moved to create-only");
        assert_eq!(d.create_only.get("name"), Some(&json!("Ann Lee")));
        let compared: Vec<Name> = m.compared().collect();
        assert_eq!(compared, [Name::from("custom:142")]);
    }

    struct Record {
        site: Option<i64>,
        custom: Option<Vec<CustomFieldValue>>,
    }

    impl MappedRecord for Record {
        fn site_id(&self) -> Option<i64> {
            self.site
        }
        fn value(&self, key: &FieldKey) -> Option<Value> {
            match key {
                FieldKey::CustomField(id) => custom_value(self.custom.as_deref(), *id),
                _ => None,
            }
        }
    }

    #[test]
    fn current_records_carry_what_is_compared_and_unknown_stays_out() {
        let m = ClientMapping {
            resolved: Resolved {
                sites: vec![ResolvedRule {
                    when: Default::default(),
                    id: 11,
                }],
                fields: vec![ResolvedField {
                    from: "department".into(),
                    key: FieldKey::CustomField(142),
                    on: On::Always,
                }],
                ..Resolved::default()
            },
        };
        let mut c = Current {
            id: 1,
            source_id: None,
            secondary: None,
            inactive: false,
            fields: Fields::new(),
        };
        let read = Record {
            site: Some(10),
            custom: Some(vec![CustomFieldValue {
                id: 142,
                name: None,
                value: json!("IT"),
            }]),
        };
        m.current(&read, &mut c);
        assert_eq!(c.fields.get(SITE_FIELD), Some(&json!(10)));
        assert_eq!(c.fields.get("custom:142"), Some(&json!("IT")));
        let mut c2 = Current {
            fields: Fields::new(),
            ..c
        };
        m.current(
            &Record {
                site: None,
                custom: None,
            },
            &mut c2,
        );
        assert_eq!(c2.fields.get("custom:142"), None, "not read: unknown");
    }

    #[test]
    fn custom_fields_are_sent_complete() {
        let current = [
            CustomFieldValue {
                id: 142,
                name: None,
                value: json!("IT"),
            },
            CustomFieldValue {
                id: 143,
                name: None,
                value: json!("Leeds"),
            },
        ];
        let mut item = Map::new();
        item.insert("id".into(), json!(5));
        item.insert("custom:142".into(), json!("Sales"));
        complete_customfields(&mut item, &current);
        assert_eq!(
            Value::Object(item),
            json!({"id": 5, "customfields": [{"id": 143, "value": "Leeds"}, {"id": 142, "value": "Sales"}]})
        );
        let mut untouched = Map::new();
        untouched.insert("name".into(), json!("Ann"));
        complete_customfields(&mut untouched, &current);
        assert_eq!(Value::Object(untouched), json!({"name": "Ann"}));
    }

    #[test]
    fn unplaced_creates_are_skipped_with_the_reason() {
        let mut plan = Plan::default();
        for id in ["a", "b"] {
            plan.creates.push(crate::sync::Create {
                source_id: id.into(),
                label: id.into(),
                fields: Fields::new(),
            });
        }
        withhold_unplaced(&mut plan, &HashSet::from(["b".to_string()]));
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.skipped[0].source_id, "b");
        assert_eq!(plan.skipped[0].reason, SkipReason::NoSite);
    }
}
