//! The `intune-devices` import: the Intune managed devices of every linked tenant become
//! Halo assets of the client mapped to that tenant (docs/contracts.md, Sync semantics).
//!
//! Decisions where docs/contracts.md leaves room:
//! * **Serial number.** Matched against the asset field `INTUNE_FIELD_SERIAL` when that is
//!   configured and set on the asset, else against the asset's `key_field`. It is written
//!   only to the `INTUNE_FIELD_SERIAL` field: `key_field` is read for matching (hand-made
//!   assets often carry the serial there) but never written, as it is often an asset tag
//!   the operator owns.
//! * **Primary user.** Halo keeps an asset's people in the `users` child array (there is
//!   no `user_id`); the one active Halo user of the client whose e-mail equals the device's
//!   `userPrincipalName` or `emailAddress` is written as `users: [{id}]` **when the asset is
//!   created**. The list read (`Device_List`) does not carry `users`, so an existing asset's
//!   people are unknown, not "different": they are never compared or rewritten (which would
//!   also replace, wholesale, people set by hand).
//! * **Asset fields** are the pseudo fields `field:N` of [`super::assets`], shaped into a
//!   complete `fields` array on write.
//! * **The mapping file** (`intune-devices` section, per client): a new asset gets the
//!   type of the first `asset_types` rule matching the device, else `INTUNE_ASSET_TYPE`
//!   (an existing asset's type is never changed); `fields` map any managed-device property
//!   (added to the `$select` as written: Graph's names are case-sensitive there) to an
//!   asset field or `inventory_number`, replacing a built-in mapping to the same target. A
//!   name that does not resolve fails that tenant's client (exit 3); the others sync.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use tracing::Instrument;

pub mod options;

use super::assets::{
    AssetTypes, Stored, TypeCheck, UserIndex, apply_mapping, check_mapped_types,
    compares_asset_fields, field_key, field_value, people, shape,
};
use super::mapped::{ClientMapping, CustomFields};
use super::packed::{Extra, Packed, PackedSource};
use super::targets::{
    Job, Source, Target, check_tenants, fail, halo_read_failed, plan_and_apply_completing,
    run_tenants, source_records,
};
use super::unit::Import;
use super::{Context, ImportReport, TargetReport, text};
use crate::check::Verdicts;
use crate::config::{Common, Env, Validator};
use crate::halo::{Asset, AssetField, CustomFieldValue, HaloError};
use crate::mapping::{AssetSection, ImportMapping};
use crate::outcome::Failure;
use crate::sources::graph::{Graph, GraphDevice};
use crate::sync::{Create, Current, Desired, EntitySpec, Fields, Name};

pub const SPEC: EntitySpec = EntitySpec {
    entity: "asset",
    link_field: "intune_id",
    case_insensitive: &[],
};

pub use options::IntuneDevicesOptions;

/// The `intune-devices` import.
pub struct IntuneDevices;

const JOB: Job = Job {
    import: IntuneDevices::NAME,
    spec: &SPEC,
    route: "Asset",
};

/// Halo's asset types and the `assettype_id` of new assets no rule types
/// (`INTUNE_ASSET_TYPE`), read once per run; the asset custom field definitions, read when
/// a section first names one.
#[derive(Default)]
pub struct AssetType {
    types: AssetTypes,
    default: i64,
    custom_fields: CustomFields,
}

impl Import for IntuneDevices {
    const NAME: &'static str = "intune-devices";
    const NEEDS_ENTRA: bool = true;
    const VARS: &'static [crate::config::vars::Var] = options::VARS;
    type Section = AssetSection;
    type Options = IntuneDevicesOptions;
    type Resolved = AssetType;

    fn options(
        env: &Env,
        v: &mut Validator,
        common: &Common,
        mapping: ImportMapping<AssetSection>,
    ) -> Option<IntuneDevicesOptions> {
        options::options(env, v, common, mapping)
    }

    /// `INTUNE_ASSET_TYPE` exists in Halo (an unknown name stops the run: exit 2).
    async fn resolve(
        ctx: &Context<'_>,
        options: &IntuneDevicesOptions,
    ) -> Result<AssetType, Failure> {
        let types = AssetTypes::read(ctx.halo).await?;
        let default = types.require("INTUNE_ASSET_TYPE", &options.asset_type)?;
        Ok(AssetType {
            types,
            default,
            custom_fields: CustomFields::default(),
        })
    }

    async fn run(
        ctx: &Context<'_>,
        options: &IntuneDevicesOptions,
        asset_type: &AssetType,
    ) -> ImportReport {
        let select = options.mapping.properties();
        run_tenants(ctx, &JOB, async |graph: &Graph, target: &Target| {
            sync_tenant(ctx, options, graph, target, asset_type, &select).await
        })
        .await
    }

    /// The asset types new assets may get (`INTUNE_ASSET_TYPE` and, per client, the
    /// mapping file's), each with every configured and mapped field; per tenant, devices
    /// readable with the mapped properties and Intune licensed.
    async fn check(ctx: &Context<'_>, options: &IntuneDevicesOptions, v: &mut Verdicts) {
        let sections: Vec<(String, AssetSection)> = ctx
            .directory
            .targets
            .iter()
            .map(|t| {
                let name = t.client.name.as_deref().unwrap_or_default();
                let section = options.mapping.for_client(t.client.id, name);
                (t.client.display_name(), section)
            })
            .collect();
        let checks: Vec<TypeCheck<'_>> = sections
            .iter()
            .map(|(client, section)| TypeCheck::of(client.clone(), section))
            .collect();
        let result = check_mapped_types(
            ctx.halo,
            ("INTUNE_ASSET_TYPE", &options.asset_type),
            &options.fields(),
            &checks,
        )
        .await;
        v.add(format_args!("{} asset type", Self::NAME), result);
        if ctx.directory.targets.is_empty() {
            v.add(Self::NAME, Err("no tenant to sync".into()));
        }
        let select = options.mapping.properties();
        check_tenants(
            ctx,
            v,
            Self::NAME,
            "devices readable, Intune licensed",
            async |graph, tenant| graph.probe_devices(tenant, &select).await.map(drop),
        )
        .await;
    }
}

/// The configured asset fields and the device value each receives.
fn owned_fields(options: &IntuneDevicesOptions, device: Option<&GraphDevice>) -> Vec<(i64, Value)> {
    let os = device.map(|d| {
        let parts: Vec<&str> = [d.operating_system.as_deref(), d.os_version.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        parts.join(" ")
    });
    [
        (
            options.field_serial,
            device.and_then(|d| d.serial_number.as_deref()),
        ),
        (options.field_model, device.and_then(|d| d.model.as_deref())),
        (options.field_os, os.as_deref()),
        (
            options.field_last_seen,
            device.and_then(|d| d.last_sync_date_time.as_deref()),
        ),
    ]
    .into_iter()
    .filter_map(|(id, value)| id.map(|id| (id, text(value))))
    .collect()
}

/// What finds a device's primary user among the client's Halo users, which are read only
/// after planning, and only when some create needs them.
pub struct PrimaryUser {
    user_principal_name: Option<String>,
    email_address: Option<String>,
}

impl PrimaryUser {
    /// The asset's people on create: the one active user with the device's UPN, else with
    /// its e-mail address; none if there is no such user.
    pub fn create_only(&self, users: &UserIndex) -> Fields {
        people(
            users
                .find(self.user_principal_name.as_deref())
                .or_else(|| users.find(self.email_address.as_deref())),
        )
    }
}

/// A managed device as the Halo asset it should be, with what the client's mapping adds,
/// without its people ([`PrimaryUser::create_only`] gives them); the flag says whether a
/// new asset has a site ([`apply_mapping`]). `None` for a device without an id.
pub fn desired(
    device: GraphDevice,
    options: &IntuneDevicesOptions,
    mapping: &ClientMapping,
) -> Option<(Desired, PrimaryUser, bool)> {
    let id = device.id.trim();
    if id.is_empty() {
        return None;
    }
    // Collected, not inserted one by one: a device's fields are allocated once, to size.
    let fields: Fields = owned_fields(options, Some(&device))
        .into_iter()
        .map(|(field, value)| (Name::from(field_key(field)), value))
        .chain([(
            Name::from("inventory_number"),
            text(device.device_name.as_deref()),
        )])
        .collect();
    let mut desired = Desired {
        source_id: id.to_ascii_lowercase(),
        secondary: device
            .serial_number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        label: device
            .device_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| id.to_string()),
        // Intune has no disabled state: a device is there or it is gone.
        enabled: true,
        fields,
        create_only: Fields::new(),
    };
    let placed = apply_mapping(mapping, &|name: &str| device.property(name), &mut desired);
    let user = PrimaryUser {
        user_principal_name: device.user_principal_name,
        email_address: device.email_address,
    };
    Some((desired, user, placed))
}

/// An asset's child arrays as read, which an update sends back complete.
type Arrays = (Vec<AssetField>, Vec<CustomFieldValue>);

/// An asset as compared: the record, and its child arrays stored in Halo, which only an
/// update needs (none once settled: a record in sync gets no update).
type Compared = (Current, Option<Arrays>);

fn compare(
    asset: Asset,
    options: &IntuneDevicesOptions,
    mapping: &ClientMapping,
    source: &mut PackedSource<PACKED>,
) -> Compared {
    let mut current = current(&asset, options, mapping);
    let settled = source.settle(&SPEC, &mut current);
    let stored = (!settled).then(|| {
        (
            asset.fields.unwrap_or_default(),
            asset.customfields.unwrap_or_default(),
        )
    });
    (current, stored)
}

/// Parts of a packed device: source id, secondary key, label, `inventory_number`, the
/// four `INTUNE_FIELD_*`, then its primary user's UPN and e-mail (trailing texts: read back
/// only for the devices that are not settled, which alone may be created).
const PACKED: usize = 3 + 1 + 4 + 2;

/// The names of the fields a device maps to, in the order they are packed.
fn field_names(options: &IntuneDevicesOptions) -> Vec<Name> {
    std::iter::once(Name::from("inventory_number"))
        .chain(
            owned_fields(options, None)
                .into_iter()
                .map(|(id, _)| Name::from(field_key(id))),
        )
        .collect()
}

/// A Halo asset as the sync engine compares it (with the mapping file's compared fields).
pub fn current(asset: &Asset, options: &IntuneDevicesOptions, mapping: &ClientMapping) -> Current {
    let fields: Fields = owned_fields(options, None)
        .into_iter()
        .map(|(id, _)| (Name::from(field_key(id)), field_value(asset, id)))
        .chain([(
            Name::from("inventory_number"),
            text(asset.inventory_number.as_deref()),
        )])
        .collect();
    let serial_field = options
        .field_serial
        .map(|id| field_value(asset, id))
        .and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let mut current = Current {
        id: asset.id,
        source_id: asset
            .intune_id
            .as_ref()
            .map(|s| s.trim().to_ascii_lowercase()),
        secondary: serial_field.or_else(|| asset.key_field.clone()),
        inactive: asset.inactive,
        fields,
    };
    mapping.current(asset, &mut current);
    current
}

async fn sync_tenant(
    ctx: &Context<'_>,
    options: &IntuneDevicesOptions,
    graph: &Graph,
    target: &Target,
    asset_type: &AssetType,
    select: &[String],
) -> TargetReport {
    let client = &target.client;
    let section = options
        .mapping
        .for_client(client.id, client.name.as_deref().unwrap_or_default());
    let types = asset_type.types.named();
    let resolved = ClientMapping::resolve(
        ctx.halo,
        JOB.route,
        &section,
        client,
        &types,
        &asset_type.custom_fields,
    );
    let mapping = match resolved.await {
        Ok(mapping) => mapping,
        Err(failure) => return fail(&JOB, target, failure),
    };
    // Each page is mapped as it arrives: the raw Graph devices of a tenant are never all kept,
    // and the mapped ones are packed, with their primary user's UPN and e-mail. What the
    // mapping file adds goes beside them, by index.
    let names = field_names(options);
    let mut extras: Vec<(usize, Extra)> = Vec::new();
    let mut unplaced: HashSet<String> = HashSet::new();
    let mut count = 0;
    let read = graph
        .devices(&target.id, select, |d| {
            let (mut desired, user, placed) = desired(d, options, &mapping)?;
            if !placed {
                unplaced.insert(desired.source_id.clone());
            }
            if let Some(extra) = Extra::split(&mut desired, &names) {
                extras.push((count, extra));
            }
            count += 1;
            let trailing = [
                user.user_principal_name.as_deref(),
                user.email_address.as_deref(),
            ];
            Some(Packed::<PACKED>::with_trailing(desired, &names, &trailing))
        })
        .instrument(tracing::info_span!("read_source", source = "graph"))
        .await;
    extras.shrink_to_fit();
    let (packed, problem) = match source_records(&JOB, target, read) {
        Ok(read) => read,
        Err(report) => return *report,
    };

    let client = client.id;
    // Field values are compared (and sent back complete) only when fields are mapped.
    let owns_fields = !owned_fields(options, None).is_empty() || compares_asset_fields(&mapping);
    // Assets are compared as their page arrives; those in sync keep no fields on either side
    // (see `sync::Settle`) and their devices are cut to their keys, the others keep their
    // stored arrays, for an update's complete `fields` and `customfields`.
    let mut devices = PackedSource::shrinking_settled(packed, names).with_extras(extras);
    // An asset listed without an array an update may write is kept whole, to be read singly
    // and compared after the list; its place in `current` waits for it.
    let updates_custom = mapping.updates_custom_fields();
    let lacks_arrays = |a: &Asset| {
        (owns_fields && a.fields.is_none()) || (updates_custom && a.customfields.is_none())
    };
    let mut stored: HashMap<i64, Arrays> = HashMap::new();
    let mut incomplete: Vec<(usize, Asset)> = Vec::new();
    let mut read = 0;
    let current = ctx
        .halo
        .assets_of_client_as(client, |asset| {
            let i = read;
            read += 1;
            if lacks_arrays(&asset) {
                let waiting = Current {
                    id: asset.id,
                    source_id: None,
                    secondary: None,
                    inactive: asset.inactive,
                    fields: Fields::new(),
                };
                incomplete.push((i, asset));
                return waiting;
            }
            let (current, arrays) = compare(asset, options, &mapping, &mut devices);
            if let Some(arrays) = arrays {
                stored.insert(current.id, arrays);
            }
            current
        })
        .instrument(tracing::info_span!("read_halo"))
        .await;
    let mut current = match current {
        Ok(current) => current,
        Err(e) => return halo_read_failed(&JOB, target, "assets", &e),
    };
    let singly = incomplete.iter_mut().map(|(_, asset)| asset);
    if let Err(e) = ctx.halo.complete_assets(singly, |_| true).await {
        return halo_read_failed(&JOB, target, "assets", &e);
    }
    for (i, asset) in incomplete {
        let (compared, arrays) = compare(asset, options, &mapping, &mut devices);
        if let Some(arrays) = arrays {
            stored.insert(compared.id, arrays);
        }
        current[i] = compared;
    }
    // People are written on create only, and a settled asset is matched, never created: the
    // primary users of the others are kept for the creates the plan may have, by source id.
    let mut people: Vec<(Box<str>, PrimaryUser)> = devices
        .settled()
        .iter()
        .enumerate()
        .filter(|&(_, &settled)| !settled)
        .filter_map(|(i, _)| {
            let user = PrimaryUser {
                user_principal_name: devices.trailing(i, 0).map(str::to_owned),
                email_address: devices.trailing(i, 1).map(str::to_owned),
            };
            (user.user_principal_name.is_some() || user.email_address.is_some())
                .then(|| (devices.source_id(i).into(), user))
        })
        .collect();
    people.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let desired = devices.into_desired();
    let shape_item = |id: Option<i64>, item: Map<String, Value>| match id {
        Some(id) => {
            let arrays = stored.get(&id);
            let stored = Stored {
                fields: arrays.map(|a| a.0.as_slice()).unwrap_or_default(),
                customfields: arrays.map(|a| a.1.as_slice()).unwrap_or_default(),
            };
            shape(stored, None, item)
        }
        None => shape(Stored::default(), Some(asset_type.default), item),
    };
    let reread = async || -> Result<HashSet<String>, HaloError> {
        let assets = ctx.halo.assets_of_client(client).await?;
        Ok(assets
            .iter()
            .filter_map(|a| a.intune_id.as_ref().map(|s| s.trim().to_ascii_lowercase()))
            .collect())
    };
    // The client's users are read only when some create has a primary user to look up: a
    // run without new devices reads none.
    let complete = async |creates: &mut [Create]| {
        let person = |source_id: &str| {
            let found = people.binary_search_by(|(id, _)| (**id).cmp(source_id));
            found.ok().map(|i| &people[i].1)
        };
        if !creates.iter().any(|c| person(&c.source_id).is_some()) {
            return Ok(());
        }
        let users = ctx
            .halo
            .users_of_client_as(client, UserIndex::entry)
            .instrument(tracing::info_span!("read_halo_users"))
            .await
            .map_err(|e| Box::new(halo_read_failed(&JOB, target, "users", &e)))?;
        let users = UserIndex::new(users);
        for create in creates {
            if let Some(user) = person(&create.source_id) {
                create.fields.extend(user.create_only(&users));
            }
        }
        Ok(())
    };
    let source = Source {
        desired,
        problem,
        unplaced,
    };
    plan_and_apply_completing(
        ctx,
        &JOB,
        target,
        source,
        &current,
        Some(&shape_item),
        reread,
        complete,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo::User;
    use crate::imports::assets::FIELD_PREFIX;
    use crate::sync::{PlanOptions, plan};
    use serde_json::json;

    fn options() -> IntuneDevicesOptions {
        IntuneDevicesOptions {
            mapping: Default::default(),
            asset_type: "Workstation".into(),
            field_serial: Some(10),
            field_model: Some(11),
            field_os: Some(12),
            field_last_seen: Some(13),
        }
    }

    fn device(json: &str) -> GraphDevice {
        serde_json::from_str(json).unwrap()
    }

    fn asset(json: &str) -> Asset {
        serde_json::from_str(json).unwrap()
    }

    /// A mapped device with its people, as `sync_tenant` completes it.
    trait WithUser {
        fn with_user(self, users: &UserIndex) -> Desired;
    }

    impl WithUser for (Desired, PrimaryUser, bool) {
        fn with_user(self, users: &UserIndex) -> Desired {
            let (mut desired, user, _) = self;
            desired.create_only = user.create_only(users);
            desired
        }
    }

    fn none() -> ClientMapping {
        ClientMapping::default()
    }

    fn users() -> UserIndex {
        let users: Vec<User> = serde_json::from_str(
            r#"[{"id":7,"emailaddress":"Ann@Contoso.example"},
                {"id":8,"emailaddress":"dup@contoso.example"},
                {"id":9,"emailaddress":"dup@contoso.example"},
                {"id":10,"emailaddress":"gone@contoso.example","inactive":true}]"#,
        )
        .unwrap();
        UserIndex::new(users.into_iter().map(UserIndex::entry))
    }

    const DEVICE: &str = r#"{"id":"DEV-1","deviceName":"LAPTOP-1","serialNumber":" SN1 ","model":"XPS 13",
        "manufacturer":"Dell","operatingSystem":"Windows","osVersion":"10.0.22631",
        "userPrincipalName":"ann@contoso.example","lastSyncDateTime":"2026-11-27T08:00:00Z"}"#;

    #[test]
    fn mapping_follows_the_design_table() {
        let d = desired(device(DEVICE), &options(), &none())
            .unwrap()
            .with_user(&users());
        assert_eq!(d.source_id, "dev-1");
        assert_eq!(d.secondary.as_deref(), Some("SN1"));
        assert_eq!(d.label, "LAPTOP-1");
        assert_eq!(d.fields["inventory_number"], "LAPTOP-1");
        assert_eq!(
            d.create_only["users"],
            json!([{"id": 7}]),
            "UPN matched case-insensitively; the asset's people only on create"
        );
        assert!(!d.fields.contains_key("users") && !d.fields.contains_key("user_id"));
        assert_eq!(d.fields["field:10"], "SN1");
        assert_eq!(d.fields["field:11"], "XPS 13");
        assert_eq!(d.fields["field:12"], "Windows 10.0.22631");
        assert_eq!(d.fields["field:13"], "2026-11-27T08:00:00Z");
    }

    #[test]
    fn the_user_link_needs_exactly_one_active_user() {
        let by = |upn: &str, mail: &str| {
            let d = device(&format!(
                r#"{{"id":"d","userPrincipalName":"{upn}","emailAddress":"{mail}"}}"#
            ));
            desired(d, &options(), &none())
                .unwrap()
                .with_user(&users())
                .create_only
                .get("users")
                .cloned()
        };
        assert_eq!(
            by("nobody@x.example", "ann@contoso.example"),
            Some(json!([{"id": 7}])),
            "emailAddress"
        );
        assert_eq!(by("dup@contoso.example", ""), None, "ambiguous");
        assert_eq!(by("gone@contoso.example", ""), None, "inactive");
    }

    #[test]
    fn unconfigured_fields_are_not_owned() {
        let d = desired(device(DEVICE), &IntuneDevicesOptions::default(), &none())
            .map(|d| d.with_user(&users()))
            .unwrap();
        assert!(!d.fields.keys().any(|k| k.starts_with(FIELD_PREFIX)));
        let c = current(
            &asset(r#"{"id":1,"fields":[{"id":10,"value":"x"}]}"#),
            &IntuneDevicesOptions::default(),
            &none(),
        );
        assert!(!c.fields.keys().any(|k| k.starts_with(FIELD_PREFIX)));
    }

    #[test]
    fn serial_comes_from_its_field_else_key_field() {
        let a = asset(r#"{"id":1,"key_field":"KEY","fields":[{"id":10,"value":"SNF"}]}"#);
        assert_eq!(
            current(&a, &options(), &none()).secondary.as_deref(),
            Some("SNF")
        );
        let a = asset(r#"{"id":1,"key_field":"KEY","fields":[{"id":10,"value":""}]}"#);
        assert_eq!(
            current(&a, &options(), &none()).secondary.as_deref(),
            Some("KEY")
        );
        assert_eq!(
            current(&a, &IntuneDevicesOptions::default(), &none())
                .secondary
                .as_deref(),
            Some("KEY")
        );
    }

    #[test]
    fn an_update_sends_the_complete_fields_array() {
        let a = asset(
            r#"{"id":42,"intune_id":"dev-1","inventory_number":"LAPTOP-1",
                "fields":[{"id":3,"value":"warranty 2027"},{"id":10,"value":"SN1"},{"id":12,"value":"Windows 10.0.1"}]}"#,
        );
        let opts = PlanOptions {
            deactivate_missing: false,
            source_complete: true,
            max_deactivations: 50,
            max_deactivation_percent: 10.0,
        };
        let d = desired(device(DEVICE), &options(), &none())
            .unwrap()
            .with_user(&users());
        let plan = plan(&SPEC, &[d], &[current(&a, &options(), &none())], &opts);
        assert_eq!(plan.updates.len(), 1);
        let changes: Vec<&str> = plan.updates[0].changes.keys().map(|k| k.as_str()).collect();
        assert_eq!(changes, ["field:11", "field:12", "field:13"]);
        let item = plan.updates[0].changes.to_map();
        let shaped = shape(Stored::of(&a), None, item);
        assert_eq!(
            Value::Object(shaped),
            json!({"fields": [
                {"id": 3, "value": "warranty 2027"},
                {"id": 10, "value": "SN1"},
                {"id": 12, "value": "Windows 10.0.22631"},
                {"id": 11, "value": "XPS 13"},
                {"id": 13, "value": "2026-11-27T08:00:00Z"},
            ]})
        );
    }
}
