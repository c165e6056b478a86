//! The options of `csv-assets`: the `CSV_ASSETS_*` variables, validated only when the
//! import is enabled.

use std::fmt;
use std::path::PathBuf;

use crate::config::vars::{Var, own};
use crate::config::{Common, Env, Validator};
use crate::mapping::{CsvSection, ImportMapping};

/// Where a column of the `csv-assets` file goes (`CSV_ASSETS_COLUMNS` targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetColumn {
    /// `inventory_number`: the asset's name / tag.
    InventoryNumber,
    /// `key_field` (alias `serial`): Halo's asset key field, usually the serial number; a
    /// read-only projection in Halo, so matched on and never written.
    KeyField,
    /// `field:N`: the Halo asset field with id `N`.
    Field(i64),
    /// `client`: the Halo client, by name or id.
    Client,
    /// `type`: the Halo asset type, by name.
    Type,
}

impl AssetColumn {
    fn parse(target: &str) -> Option<Self> {
        match target.trim().to_ascii_lowercase().as_str() {
            "inventory_number" => Some(Self::InventoryNumber),
            "key_field" | "serial" => Some(Self::KeyField),
            "client" => Some(Self::Client),
            "type" => Some(Self::Type),
            other => other
                .strip_prefix("field:")
                .and_then(|id| id.trim().parse::<i64>().ok())
                .filter(|id| *id > 0)
                .map(Self::Field),
        }
    }

    /// Whether the column can be the match key (a value stored on the asset).
    fn is_value(self) -> bool {
        matches!(
            self,
            Self::InventoryNumber | Self::KeyField | Self::Field(_)
        )
    }
}

impl fmt::Display for AssetColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InventoryNumber => f.write_str("inventory_number"),
            Self::KeyField => f.write_str("key_field"),
            Self::Field(id) => write!(f, "field:{id}"),
            Self::Client => f.write_str("client"),
            Self::Type => f.write_str("type"),
        }
    }
}

/// Options of the `csv-assets` import (`CSV_ASSETS_*`); present only when it is enabled.
#[derive(Debug, Clone)]
pub struct CsvAssetsOptions {
    /// Its section of the mapping file.
    pub mapping: ImportMapping<CsvSection>,
    /// `CSV_ASSETS_PATH`: a `.csv` or `.xlsx` file (read when the import runs).
    pub path: PathBuf,
    /// `CSV_ASSETS_COLUMNS`: Halo target → column header, in the order given.
    pub columns: Vec<(AssetColumn, String)>,
    /// `CSV_ASSETS_MATCH`: the mapped value column that identifies an asset (default
    /// `key_field`).
    pub match_on: AssetColumn,
    /// `CSV_ASSETS_LINK_FIELD`: the Halo asset field id in which the import stores the match
    /// value of the assets it manages (its link, like `intune_id` for Intune).
    pub link_field: i64,
    /// `CSV_ASSETS_TYPE`: the asset type of new assets whose row names none.
    pub asset_type: String,
    /// `CSV_ASSETS_DELIMITER`: `None` = detected from the header line.
    pub delimiter: Option<u8>,
}

/// Its rows of the variable table.
pub(super) const VARS: &[Var] = &[
    own("CSV_ASSETS_PATH", "required"),
    own("CSV_ASSETS_COLUMNS", "required"),
    own("CSV_ASSETS_MATCH", "key_field"),
    own("CSV_ASSETS_LINK_FIELD", "required"),
    own("CSV_ASSETS_TYPE", "Workstation"),
    own("CSV_ASSETS_DELIMITER", "detected"),
];

/// The `CSV_ASSETS_*` variables, as read.
struct Raw {
    path: Option<String>,
    columns: Option<String>,
    match_on: Option<String>,
    link_field: Option<String>,
    asset_type: Option<String>,
    delimiter: Option<String>,
}

/// Reads and validates the `CSV_ASSETS_*` variables.
pub(super) fn options(
    env: &Env,
    v: &mut Validator,
    _: &Common,
    mapping: ImportMapping<CsvSection>,
) -> Option<CsvAssetsOptions> {
    let raw = Raw {
        path: env.get("CSV_ASSETS_PATH"),
        columns: env.get("CSV_ASSETS_COLUMNS"),
        match_on: env.get("CSV_ASSETS_MATCH"),
        link_field: env.get("CSV_ASSETS_LINK_FIELD"),
        asset_type: env.get("CSV_ASSETS_TYPE"),
        delimiter: env.get("CSV_ASSETS_DELIMITER"),
    };
    read(v, raw, mapping)
}

fn read(
    v: &mut Validator,
    raw: Raw,
    mapping: ImportMapping<CsvSection>,
) -> Option<CsvAssetsOptions> {
    let path = v.required(
        "CSV_ASSETS_PATH",
        raw.path,
        "the .csv or .xlsx file of the csv-assets import",
    );
    let columns = v
        .required(
            "CSV_ASSETS_COLUMNS",
            raw.columns,
            "the column mapping, e.g. `inventory_number=Asset Tag,serial=Serial,client=Customer`",
        )
        .and_then(|list| asset_columns(v, &list));
    let link_field = match Validator::optional(raw.link_field.clone()) {
        None => {
            v.error(
                "CSV_ASSETS_LINK_FIELD",
                "required: the id of a Halo asset field in which csv-assets stores the match key of the assets it manages",
            );
            None
        }
        some => v.field_id("CSV_ASSETS_LINK_FIELD", some),
    };
    let match_on = match Validator::optional(raw.match_on) {
        Some(name) => match AssetColumn::parse(&name).filter(|c| c.is_value()) {
            Some(column) => Some(column),
            None => {
                v.error(
                    "CSV_ASSETS_MATCH",
                    format!(
                        "expected key_field, serial, inventory_number or field:N, got '{name}'"
                    ),
                );
                None
            }
        },
        None => Some(AssetColumn::KeyField),
    };
    let delimiter = match Validator::optional(raw.delimiter).as_deref() {
        None => None,
        Some("tab" | "\\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d != "\"" => Some(d.as_bytes()[0]),
        Some(other) => {
            v.error(
                "CSV_ASSETS_DELIMITER",
                format!("expected one character such as `,` or `;` (or `tab`), got '{other}'"),
            );
            None
        }
    };
    let (columns, match_on, link_field) = (columns?, match_on?, link_field?);
    if !columns.iter().any(|(c, _)| *c == match_on) {
        v.error(
            "CSV_ASSETS_MATCH",
            format!("the match key {match_on} is not mapped in CSV_ASSETS_COLUMNS"),
        );
        return None;
    }
    if columns
        .iter()
        .any(|(c, _)| *c == AssetColumn::Field(link_field))
    {
        v.error(
            "CSV_ASSETS_LINK_FIELD",
            format!("field {link_field} is also mapped in CSV_ASSETS_COLUMNS; the link needs a field of its own"),
        );
        return None;
    }
    Some(CsvAssetsOptions {
        mapping,
        path: PathBuf::from(path?),
        columns,
        match_on,
        link_field,
        asset_type: Validator::optional(raw.asset_type).unwrap_or_else(|| "Workstation".into()),
        delimiter,
    })
}

/// `target=Column,...`: every target known and mapped once, a `client` column present.
fn asset_columns(v: &mut Validator, list: &str) -> Option<Vec<(AssetColumn, String)>> {
    const VAR: &str = "CSV_ASSETS_COLUMNS";
    let mut columns: Vec<(AssetColumn, String)> = Vec::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((target, column)) = pair.split_once('=') else {
            v.error(
                VAR,
                format!("expected `target=Column Header`, got '{pair}'"),
            );
            return None;
        };
        let column = column.trim();
        let Some(target) = AssetColumn::parse(target) else {
            v.error(
                VAR,
                format!(
                    "unknown target '{}'; known: inventory_number, key_field (or serial), client, type, field:N (N = a Halo asset field id)",
                    target.trim()
                ),
            );
            return None;
        };
        if column.is_empty() {
            v.error(VAR, format!("no column header given for {target}"));
            return None;
        }
        if columns.iter().any(|(t, _)| *t == target) {
            v.error(VAR, format!("{target} is mapped twice"));
            return None;
        }
        columns.push((target, column.to_string()));
    }
    if !columns.iter().any(|(t, _)| *t == AssetColumn::Client) {
        v.error(
            VAR,
            "expected a `client=Column` mapping: the column naming each asset's Halo client (by name or id)",
        );
        return None;
    }
    Some(columns)
}
