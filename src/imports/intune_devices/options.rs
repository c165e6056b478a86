//! The options of `intune-devices`: the `INTUNE_*` variables, validated only when the
//! import is enabled.

use crate::config::vars::{Var, own};
use crate::config::{Common, Env, Validator};
use crate::mapping::{AssetSection, ImportMapping};

/// Options of the `intune-devices` import (`INTUNE_*`); validated only when it is enabled.
#[derive(Debug, Clone)]
pub struct IntuneDevicesOptions {
    /// Its section of the mapping file.
    pub mapping: ImportMapping<AssetSection>,
    /// `INTUNE_ASSET_TYPE`: the name of the Halo asset type of new assets.
    pub asset_type: String,
    /// Halo asset field ids (`INTUNE_FIELD_*`) receiving these device values.
    pub field_serial: Option<i64>,
    pub field_model: Option<i64>,
    pub field_os: Option<i64>,
    pub field_last_seen: Option<i64>,
}

impl Default for IntuneDevicesOptions {
    fn default() -> Self {
        IntuneDevicesOptions {
            mapping: ImportMapping::default(),
            asset_type: "Workstation".into(),
            field_serial: None,
            field_model: None,
            field_os: None,
            field_last_seen: None,
        }
    }
}

/// Its rows of the variable table.
pub(super) const VARS: &[Var] = &[
    own("INTUNE_ASSET_TYPE", "Workstation"),
    own("INTUNE_FIELD_SERIAL", "unset"),
    own("INTUNE_FIELD_MODEL", "unset"),
    own("INTUNE_FIELD_OS", "unset"),
    own("INTUNE_FIELD_LAST_SEEN", "unset"),
];

/// Reads and validates the `INTUNE_*` variables: each field id a Halo id, none used twice.
pub(super) fn options(
    env: &Env,
    v: &mut Validator,
    _: &Common,
    mapping: ImportMapping<AssetSection>,
) -> Option<IntuneDevicesOptions> {
    let options = IntuneDevicesOptions {
        mapping,
        asset_type: Validator::optional(env.get("INTUNE_ASSET_TYPE"))
            .unwrap_or_else(|| "Workstation".into()),
        field_serial: v.field_id("INTUNE_FIELD_SERIAL", env.get("INTUNE_FIELD_SERIAL")),
        field_model: v.field_id("INTUNE_FIELD_MODEL", env.get("INTUNE_FIELD_MODEL")),
        field_os: v.field_id("INTUNE_FIELD_OS", env.get("INTUNE_FIELD_OS")),
        field_last_seen: v.field_id("INTUNE_FIELD_LAST_SEEN", env.get("INTUNE_FIELD_LAST_SEEN")),
    };
    let field_ids = options.fields();
    for (i, (var, id)) in field_ids.iter().enumerate() {
        if let Some((other, _)) = field_ids[..i].iter().find(|(_, o)| o == id) {
            v.error(
                var,
                format!("field id {id} is already used by {other}; each value needs its own field"),
            );
        }
    }
    Some(options)
}

impl IntuneDevicesOptions {
    /// The configured asset fields, with the variable that names each.
    pub fn fields(&self) -> Vec<(&'static str, i64)> {
        [
            ("INTUNE_FIELD_SERIAL", self.field_serial),
            ("INTUNE_FIELD_MODEL", self.field_model),
            ("INTUNE_FIELD_OS", self.field_os),
            ("INTUNE_FIELD_LAST_SEEN", self.field_last_seen),
        ]
        .into_iter()
        .filter_map(|(var, id)| id.map(|id| (var, id)))
        .collect()
    }
}
