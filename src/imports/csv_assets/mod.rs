//! The `csv-assets` import: the rows of a `.csv` or `.xlsx` file (`CSV_ASSETS_PATH`) become
//! Halo assets of the client each row names, planned per Halo client with the same engine
//! and apply step as the other imports.
//!
//! Decisions where docs/contracts.md leaves room:
//! * **Link key.** A file has no stable source id, so the value of the match column
//!   (`CSV_ASSETS_MATCH`, default `key_field` = the serial), trimmed and lower-cased, is the
//!   source id. The import stores it in the asset field `CSV_ASSETS_LINK_FIELD` (what
//!   `intune_id` is for Intune): an asset with that field set is *linked* — managed by this
//!   import and a leaver candidate when its key is gone from the file. Assets without it
//!   (made by hand, or by another import) are matched by the match column's value once
//!   (which writes the link) and are never deactivated otherwise.
//! * **Rejected rows are `failed`.** A row that cannot be applied — undecodable, empty match
//!   key, unknown / ambiguous / inactive client, unknown asset type, or a key that occurs on
//!   several lines (then none of those rows is applied) — is an error in the file the
//!   operator must fix: it is logged with its line number and reason, counted as
//!   `records_total{action="failed"}` and makes the run exit 3. (`skipped` stays what it is
//!   for every import: the sync engine declining a record, e.g. an ambiguous match in Halo.)
//!   An asset linked to the key of a rejected row is left alone, never deactivated: the
//!   file still lists it.
//! * **Clients.** The `client` column holds a Halo client id or name (trimmed,
//!   case-insensitive; only active clients). A client is planned when the file names it or
//!   when it holds assets linked by this import (so leavers of a client that vanished from
//!   the file are found). With sharding, a pod plans the clients whose id falls in its
//!   shard; `--tenant` does not apply to this import.
//! * **Key field.** `key_field` (alias `serial`) is matched on, never written: Halo
//!   projects it, read-only, from the field the asset type marks as key. To store the value,
//!   map the same column to that field too (`field:N`).
//! * **Asset type.** The `type` column (by name) is owned like any other column when mapped.
//!   A row without a type value creates an asset of the type of the first `asset_types` rule
//!   of the mapping file that matches the row (on create only), else of `CSV_ASSETS_TYPE`
//!   (default `Workstation`): the row's own value wins over the rules, the rules over the
//!   variable.
//! * **The mapping file** (`csv-assets` section, per client): `fields` map any column (by
//!   header, case-insensitive; a column the file lacks is no value) to an asset field or
//!   `inventory_number`, replacing a `CSV_ASSETS_COLUMNS` mapping to the same target.
//!   `columns.status` is compared and written as `status_id` through `statuses` (trimmed,
//!   case-insensitive; an empty cell is no value; a value not listed rejects the row).
//!   `columns.user` gives a new asset its user (`users: [{id}]`, on create only, like
//!   Intune's primary user): the one active user of the row's client with that e-mail
//!   (case-insensitive), else none and a warning naming the line. A special column the
//!   file's header lacks, or a name that does not resolve, fails that client (exit 3,
//!   nothing of it is synced); the other clients sync.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};
use tokio::time::Instant;
use tracing::Instrument;

pub mod options;

use super::assets::{
    AssetTypes, Stored, TypeCheck, UserIndex, apply_mapping, check_mapped_types, field_key,
    field_value, people, shape,
};
use super::clients::Clients;
use super::mapped::{ClientMapping, CustomFields, SITE_FIELD};
use super::targets::{
    Job, Source, Target, TargetKind, fail, halo_read_failed, plan_and_apply, run_targets,
};
use super::unit::Import;
use super::{Context, ImportReport, TargetReport, text};
use crate::check::Verdicts;
use crate::config::{Common, Env, Validator};
use crate::halo::{Asset, Client, Halo, HaloError, Site};
use crate::mapping::{Catalog, CsvSection, ImportMapping, SiteInfo};
use crate::outcome::{Failure, Severity};
use crate::sources::spreadsheet::{self, Table};
use crate::sync::{Current, Desired, EntitySpec, Fields};

/// The plan's name for the link; [`shape_item`] moves it into the `CSV_ASSETS_LINK_FIELD`
/// asset field.
const LINK: &str = "csv_assets_link";

pub const SPEC: EntitySpec = EntitySpec {
    entity: "asset",
    link_field: LINK,
    case_insensitive: &[],
};

pub use options::{AssetColumn, CsvAssetsOptions};

/// The `csv-assets` import.
pub struct CsvAssets;

const JOB: Job = Job {
    import: CsvAssets::NAME,
    spec: &SPEC,
    route: "Asset",
};

impl Import for CsvAssets {
    const NAME: &'static str = "csv-assets";
    const NEEDS_ENTRA: bool = false;
    const VARS: &'static [crate::config::vars::Var] = options::VARS;
    type Section = CsvSection;
    type Options = CsvAssetsOptions;
    type Resolved = ();

    fn options(
        env: &Env,
        v: &mut Validator,
        common: &Common,
        mapping: ImportMapping<CsvSection>,
    ) -> Option<CsvAssetsOptions> {
        options::options(env, v, common, mapping)
    }

    async fn run(ctx: &Context<'_>, options: &CsvAssetsOptions, (): &()) -> ImportReport {
        run(ctx, options).await
    }

    /// The file and its rows; the asset types new assets may get (`CSV_ASSETS_TYPE` and,
    /// per client of the file, the mapping file's), with the link field and every mapped
    /// field.
    async fn check(ctx: &Context<'_>, options: &CsvAssetsOptions, v: &mut Verdicts) {
        let (line, sections) = match check(options, ctx.halo).await {
            Ok((line, sections)) => (Ok(line), sections),
            Err(e) => (Err(e), Vec::new()),
        };
        v.add(Self::NAME, line);
        let mut fields = vec![("CSV_ASSETS_LINK_FIELD", options.link_field)];
        fields.extend(options.columns.iter().filter_map(|(c, _)| match c {
            AssetColumn::Field(id) => Some(("CSV_ASSETS_COLUMNS", *id)),
            _ => None,
        }));
        let checks: Vec<TypeCheck<'_>> = sections
            .iter()
            .map(|(client, section)| TypeCheck::of(client.clone(), section))
            .collect();
        let default = ("CSV_ASSETS_TYPE", options.asset_type.as_str());
        let result = check_mapped_types(ctx.halo, default, &fields, &checks).await;
        v.add(format_args!("{} asset type", Self::NAME), result);
    }
}

/// The plan's field name for a value column; `None` for the columns the import does not
/// write: the client, and `key_field`, a read-only projection in Halo of the field the asset
/// type marks as key (a value sent there is echoed but not stored), used for matching only.
fn plan_field(column: AssetColumn) -> Option<String> {
    match column {
        AssetColumn::InventoryNumber => Some("inventory_number".into()),
        AssetColumn::KeyField | AssetColumn::Client => None,
        AssetColumn::Field(id) => Some(field_key(id)),
        AssetColumn::Type => Some("assettype_id".into()),
    }
}

/// The mapping resolved against the file's header: column index per target.
pub struct Layout<'a> {
    options: &'a CsvAssetsOptions,
    table: &'a Table,
    columns: Vec<(AssetColumn, usize)>,
}

impl<'a> Layout<'a> {
    /// Every mapped column must be in the header; the error names `CSV_ASSETS_COLUMNS`.
    pub fn new(options: &'a CsvAssetsOptions, table: &'a Table) -> Result<Self, String> {
        let mut columns = Vec::new();
        for (target, header) in &options.columns {
            match table.column(header) {
                Some(index) => columns.push((*target, index)),
                None => {
                    return Err(format!(
                        "CSV_ASSETS_COLUMNS: {target} is mapped to the column '{header}', which \
                         is not in the header of {}; its columns are: {}",
                        options.path.display(),
                        table.headers.join(", ")
                    ));
                }
            }
        }
        Ok(Layout {
            options,
            table,
            columns,
        })
    }

    /// The index of the column with this header (trimmed, case-insensitive).
    fn table_column(&self, header: &str) -> Option<usize> {
        self.table.column(header)
    }

    fn cell<'c>(&self, cells: &'c [String], target: AssetColumn) -> Option<&'c str> {
        let (_, index) = self.columns.iter().find(|(t, _)| *t == target)?;
        cells
            .get(*index)
            .map(String::as_str)
            .filter(|c| !c.is_empty())
    }

    fn header(&self, target: AssetColumn) -> &str {
        self.options
            .columns
            .iter()
            .find(|(t, _)| *t == target)
            .map_or("", |(_, h)| h.as_str())
    }
}

/// A row that is not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    /// The row's match key, when it has one.
    pub key: Option<String>,
    pub reason: String,
}

/// The mapping file's section in force for one client, resolved.
pub struct ClientSection {
    section: CsvSection,
    mapping: ClientMapping,
    /// The index of the status column in the file, when the section names one.
    status: Option<usize>,
    /// The index of the user column in the file, when the section names one.
    user: Option<usize>,
    /// The index of the site column in the file and the client's sites, when the section
    /// names one.
    site: Option<(usize, Vec<Site>)>,
}

/// What a client's section resolves against: Halo's asset types and asset custom fields.
pub struct Halos<'a> {
    pub halo: &'a Halo,
    pub types: &'a AssetTypes,
    pub custom_fields: &'a CustomFields,
}

impl ClientSection {
    /// Resolves `client`'s section against Halo and the file's header: a name that does
    /// not resolve, or a special column the header lacks, fails the client.
    async fn resolve(
        options: &CsvAssetsOptions,
        table: &Table,
        against: &Halos<'_>,
        client: &Client,
    ) -> Result<ClientSection, Failure> {
        let name = client.name.as_deref().unwrap_or_default();
        let section = options.mapping.for_client(client.id, name);
        let types = against.types.named();
        let mapping = ClientMapping::resolve(
            against.halo,
            JOB.route,
            &section,
            client,
            &types,
            against.custom_fields,
        )
        .await?;
        let columns = section.columns();
        let column = |key: &str, header: Option<String>| -> Result<Option<usize>, Failure> {
            let Some(header) = header else {
                return Ok(None);
            };
            table.column(&header).map(Some).ok_or_else(|| {
                Failure::new(
                    Severity::Partial,
                    format!(
                        "the mapping file's columns.{key} '{header}' of client {} is not in the header of {}; its columns are: {}",
                        client.display_name(),
                        options.path.display(),
                        table.headers.join(", ")
                    ),
                )
            })
        };
        let status = column("status", columns.status)?;
        let user = column("user", columns.user)?;
        let site = match column("site", columns.site)? {
            None => None,
            Some(index) => {
                let sites = against.halo.sites_of_client(client.id).await;
                let sites = sites.map_err(|e| Failure::halo_read("sites", &e))?;
                Some((index, sites))
            }
        };
        Ok(ClientSection {
            section,
            mapping,
            status,
            user,
            site,
        })
    }

    /// Gives `current` the Halo values this section compares (besides those of
    /// `CSV_ASSETS_COLUMNS`): the mapping's, the status and the site.
    fn current(&self, asset: &Asset, current: &mut Current) {
        self.mapping.current(asset, current);
        if self.status.is_some() {
            let status = asset.status_id.map_or(Value::Null, Value::from);
            current.fields.insert("status_id", status);
        }
        if self.site.is_some() {
            let site = asset.site_id.map_or(Value::Null, Value::from);
            current.fields.insert(SITE_FIELD, site);
        }
    }
}

/// The id of the client's site named `name` (the mapping file's lookup: exact,
/// case-insensitive, active sites only), or why there is none.
fn site_named(client: &Client, sites: &[Site], name: &str) -> Result<i64, String> {
    let infos: Vec<SiteInfo<'_>> = sites
        .iter()
        .map(|s| SiteInfo {
            id: s.id,
            name: s.name.as_deref().unwrap_or_default(),
            inactive: s.inactive,
        })
        .collect();
    let catalog = Catalog {
        client: &client.display_name(),
        sites: &infos,
        asset_types: &[],
        custom_fields: &[],
    };
    catalog.site_named(name).map_err(|e| e.to_string())
}

/// The sections of the clients `wanted` names, each resolved (or why not), by client id.
pub async fn resolve_sections(
    options: &CsvAssetsOptions,
    table: &Table,
    against: &Halos<'_>,
    wanted: &[&Client],
) -> Sections {
    let mut sections = Sections::new();
    for client in wanted {
        if let std::collections::hash_map::Entry::Vacant(slot) = sections.entry(client.id) {
            slot.insert(ClientSection::resolve(options, table, against, client).await);
        }
    }
    sections
}

/// Client id → its section, or why it does not resolve (then the client is not synced).
pub type Sections = HashMap<i64, Result<ClientSection, Failure>>;

/// The client a row names, or why it names none.
fn row_client<'c>(
    layout: &Layout<'_>,
    cells: &[String],
    clients: &Clients<'c>,
) -> Result<&'c Client, String> {
    match layout.cell(cells, AssetColumn::Client) {
        None => Err(format!(
            "the client column '{}' is empty",
            layout.header(AssetColumn::Client)
        )),
        Some(cell) => clients.find(cell),
    }
}

/// The clients the rows name, each once, in file order.
pub fn clients_of_rows<'c>(
    table: &Table,
    layout: &Layout<'_>,
    clients: &Clients<'c>,
) -> Vec<&'c Client> {
    let mut named: Vec<&Client> = Vec::new();
    for row in &table.rows {
        if let Ok(cells) = &row.cells
            && let Ok(client) = row_client(layout, cells, clients)
            && !named.iter().any(|c| c.id == client.id)
        {
            named.push(client);
        }
    }
    named
}

/// A row's desired asset, with the e-mail of its user (`columns.user`), whether a new
/// asset has a site, and its line.
pub struct RowAsset {
    pub desired: Desired,
    pub user: Option<String>,
    pub placed: bool,
    pub line: u64,
}

/// The file's rows as desired assets per client id, and the rows rejected.
#[derive(Default)]
pub struct Rows {
    pub by_client: BTreeMap<i64, Vec<RowAsset>>,
    pub rejected: Vec<Rejected>,
}

/// Maps every row (see the module docs for what is rejected). The rows of a client whose
/// section does not resolve are left out: that client is not synced.
pub fn map_rows(
    table: &Table,
    layout: &Layout<'_>,
    clients: &Clients<'_>,
    types: &AssetTypes,
    sections: &Sections,
) -> Rows {
    let match_on = layout.options.match_on;
    // Lines per key, to reject every row of a duplicated key.
    let mut lines: HashMap<String, Vec<u64>> = HashMap::new();
    for row in &table.rows {
        if let Ok(cells) = &row.cells
            && let Some(key) = layout.cell(cells, match_on)
        {
            lines.entry(key.to_lowercase()).or_default().push(row.line);
        }
    }
    let mut rows = Rows::default();
    for row in &table.rows {
        let cells = match &row.cells {
            Ok(cells) => cells,
            Err(e) => {
                rows.rejected.push(Rejected {
                    line: row.line,
                    key: None,
                    reason: e.clone(),
                });
                continue;
            }
        };
        let key = layout.cell(cells, match_on);
        let reject = |reason: String| Rejected {
            line: row.line,
            key: key.map(str::to_string),
            reason,
        };
        let Some(key) = key else {
            rows.rejected.push(reject(format!(
                "the match column '{}' ({match_on}) is empty",
                layout.header(match_on)
            )));
            continue;
        };
        let source_id = key.to_lowercase();
        let same = &lines[&source_id];
        if same.len() > 1 {
            let others: Vec<String> = same
                .iter()
                .filter(|l| **l != row.line)
                .map(u64::to_string)
                .collect();
            rows.rejected.push(reject(format!(
                "the key '{key}' is also on line(s) {}; none of these rows is applied",
                others.join(", ")
            )));
            continue;
        }
        let client = match row_client(layout, cells, clients) {
            Ok(c) => c,
            Err(reason) => {
                rows.rejected.push(reject(reason));
                continue;
            }
        };
        let Some(Ok(section)) = sections.get(&client.id) else {
            continue;
        };
        let cell_at = |index: Option<usize>| {
            index
                .and_then(|i| cells.get(i))
                .map(String::as_str)
                .filter(|c| !c.is_empty())
        };
        match row_asset(layout, types, client, section, cells, key) {
            Ok((desired, placed)) => rows.by_client.entry(client.id).or_default().push(RowAsset {
                desired,
                user: cell_at(section.user).map(str::to_string),
                placed,
                line: row.line,
            }),
            Err(reason) => rows.rejected.push(reject(reason)),
        }
    }
    rows
}

/// One row as the asset it should be (and whether a new asset has a site), or why it is
/// rejected.
fn row_asset(
    layout: &Layout<'_>,
    types: &AssetTypes,
    client: &Client,
    section: &ClientSection,
    cells: &[String],
    key: &str,
) -> Result<(Desired, bool), String> {
    let mut fields = Fields::new();
    for (target, _) in &layout.columns {
        let Some(name) = plan_field(*target) else {
            continue;
        };
        let cell = layout.cell(cells, *target);
        let value = match target {
            AssetColumn::Type => match cell {
                None => Value::Null,
                Some(t) => match types.find(t) {
                    Some(id) => Value::from(id),
                    None => {
                        return Err(format!(
                            "unknown asset type '{t}'; the asset types are: {}",
                            types.names()
                        ));
                    }
                },
            },
            _ => text(cell),
        };
        fields.insert(name, value);
    }
    if let Some(index) = section.status
        && let Some(status) = cells.get(index).filter(|c| !c.is_empty())
    {
        let Some(id) = section.section.status_id(status) else {
            let known: Vec<&str> = section
                .section
                .statuses
                .iter()
                .flatten()
                .map(|(k, _)| k.as_str())
                .collect();
            return Err(format!(
                "the status '{status}' is not in the mapping file's statuses (known: {})",
                known.join(", ")
            ));
        };
        fields.insert("status_id", Value::from(id));
    }
    let label = layout
        .cell(cells, AssetColumn::InventoryNumber)
        .unwrap_or(key)
        .to_string();
    let mut desired = Desired {
        source_id: key.to_lowercase(),
        secondary: Some(key.to_string()),
        label,
        // A file has no disabled state: a row is there or it is gone.
        enabled: true,
        fields,
        create_only: Fields::new(),
    };
    let props = |name: &str| {
        layout
            .table_column(name)
            .and_then(|i| cells.get(i))
            .filter(|c| !c.is_empty())
            .cloned()
    };
    let mut placed = apply_mapping(&section.mapping, &props, &mut desired);
    // A site named in the row wins over the site rules.
    if let Some((index, sites)) = &section.site
        && let Some(name) = cells.get(*index).filter(|c| !c.is_empty())
    {
        let id = site_named(client, sites, name)?;
        desired.create_only.remove(SITE_FIELD);
        desired.fields.insert(SITE_FIELD, Value::from(id));
        placed = true;
    }
    Ok((desired, placed))
}

/// The value of `column` on a Halo asset, as the plan compares it.
fn asset_value(asset: &Asset, column: AssetColumn) -> Value {
    match column {
        AssetColumn::InventoryNumber => text(asset.inventory_number.as_deref()),
        AssetColumn::KeyField => text(asset.key_field.as_deref()),
        AssetColumn::Field(id) => field_value(asset, id),
        AssetColumn::Type => asset.assettype_id.map_or(Value::Null, Value::from),
        AssetColumn::Client => Value::Null,
    }
}

fn as_key(value: Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The import's link on an asset (lower-cased), if set.
fn link(asset: &Asset, options: &CsvAssetsOptions) -> Option<String> {
    as_key(field_value(asset, options.link_field)).map(|k| k.to_lowercase())
}

/// A Halo asset as the sync engine compares it, with the fields `section` compares.
pub fn current(asset: &Asset, options: &CsvAssetsOptions, section: &ClientSection) -> Current {
    let mut fields = Fields::new();
    for (column, _) in &options.columns {
        if let Some(name) = plan_field(*column) {
            fields.insert(name, asset_value(asset, *column));
        }
    }
    let mut current = Current {
        id: asset.id,
        source_id: link(asset, options),
        secondary: as_key(asset_value(asset, options.match_on)),
        inactive: asset.inactive,
        fields,
    };
    section.current(asset, &mut current);
    current
}

/// A write item for Halo: the link moved into its asset field, then [`shape`]d.
fn shape_item(
    options: &CsvAssetsOptions,
    stored: Stored<'_>,
    asset_type: Option<i64>,
    mut item: Map<String, Value>,
) -> Map<String, Value> {
    if let Some(link) = item.remove(LINK) {
        item.insert(field_key(options.link_field), link);
    }
    shape(stored, asset_type, item)
}

/// Reads `CSV_ASSETS_PATH`; the error names the variable and the file.
fn read_file(options: &CsvAssetsOptions) -> Result<Table, String> {
    spreadsheet::read(&options.path, options.delimiter)
        .map_err(|e| format!("CSV_ASSETS_PATH: {}: {e}", options.path.display()))
}

/// `check`: the file reads, its header has the mapped columns, `CSV_ASSETS_TYPE` exists in
/// Halo, every client's section resolves; says how many rows would be applied and
/// rejected. Reads no assets. Also gives the section of each client of the file (for the
/// asset-type check).
async fn check(
    options: &CsvAssetsOptions,
    halo: &crate::halo::Halo,
) -> Result<(String, Vec<(String, CsvSection)>), String> {
    let table = read_file(options)?;
    let layout = Layout::new(options, &table)?;
    let clients = halo
        .clients()
        .await
        .map_err(|e| format!("reading Halo clients failed: {e}"))?;
    let types = AssetTypes::read(halo).await.map_err(|f| f.message)?;
    types
        .require("CSV_ASSETS_TYPE", &options.asset_type)
        .map_err(|f| f.message)?;
    let index = Clients::new(&clients);
    let custom_fields = CustomFields::default();
    let against = Halos {
        halo,
        types: &types,
        custom_fields: &custom_fields,
    };
    let named = clients_of_rows(&table, &layout, &index);
    let mut sections = resolve_sections(options, &table, &against, &named).await;
    let rows = map_rows(&table, &layout, &index, &types, &sections);
    let good: usize = rows.by_client.values().map(Vec::len).sum();
    let mut line = format!(
        "{}: {good} row(s) for {} client(s)",
        options.path.display(),
        rows.by_client.len()
    );
    if !rows.rejected.is_empty() {
        let lines: Vec<String> = rows
            .rejected
            .iter()
            .map(|r| format!("{} ({})", r.line, r.reason))
            .collect();
        line.push_str(&format!("; rejected lines: {}", lines.join("; ")));
    }
    let mut failed: Vec<&str> = sections
        .values()
        .filter_map(|r| r.as_ref().err().map(|f| f.message.as_str()))
        .collect();
    if !failed.is_empty() {
        failed.sort_unstable();
        return Err(format!("{line}; {}", failed.join("; ")));
    }
    let mut resolved: Vec<(String, CsvSection)> = clients
        .iter()
        .filter_map(|c| {
            let section = sections.remove(&c.id)?.ok()?;
            Some((c.display_name(), section.section))
        })
        .collect();
    resolved.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((line, resolved))
}

async fn run(ctx: &Context<'_>, options: &CsvAssetsOptions) -> ImportReport {
    let started = Instant::now();
    let path = &options.path;
    let table = tracing::info_span!("read_source", source = "file").in_scope(|| read_file(options));
    let (table, layout) = match &table {
        Ok(table) => match Layout::new(options, table) {
            Ok(layout) => (table, layout),
            Err(e) => return JOB.failed(started, Failure::config(e)),
        },
        Err(e) => return JOB.failed(started, Failure::config(e.clone())),
    };
    let read_halo = async {
        let clients = ctx.halo.clients().await;
        let types = AssetTypes::read(ctx.halo).await;
        let assets = ctx.halo.all_assets().await;
        (clients, types, assets)
    };
    let (clients, types, assets) = read_halo.instrument(tracing::info_span!("read_halo")).await;
    let (clients, types, assets) = match (clients, types, assets) {
        (Ok(c), Ok(t), Ok(a)) => (c, t, a),
        (Err(e), _, _) => return JOB.failed(started, Failure::halo_read("clients", &e)),
        (_, Err(failure), _) => return JOB.failed(started, failure),
        (_, _, Err(e)) => return JOB.failed(started, Failure::halo_read("assets", &e)),
    };
    let default_type = match types.require("CSV_ASSETS_TYPE", &options.asset_type) {
        Ok(id) => id,
        Err(failure) => return JOB.failed(started, failure),
    };
    let mut report = ImportReport::new(JOB.import, SPEC.entity);
    let index = Clients::new(&clients);
    let mut assets_by_client: HashMap<i64, Vec<&Asset>> = HashMap::new();
    for asset in &assets {
        if let Some(client) = asset.client_id {
            assets_by_client.entry(client).or_default().push(asset);
        }
    }
    // The clients planned: those the file names and those holding assets linked by this
    // import (their leavers), in this shard; their sections resolved before any row is mapped.
    let named = clients_of_rows(table, &layout, &index);
    let mut planned: Vec<&Client> = clients
        .iter()
        .filter(|c| !c.inactive && ctx.config.shard.owns(&c.id.to_string()))
        .filter(|c| {
            named.iter().any(|n| n.id == c.id)
                || assets_by_client
                    .get(&c.id)
                    .is_some_and(|a| a.iter().any(|a| link(a, options).is_some()))
        })
        .collect();
    planned.sort_by_key(|c| (c.name.clone(), c.id));
    let custom_fields = CustomFields::default();
    let against = Halos {
        halo: ctx.halo,
        types: &types,
        custom_fields: &custom_fields,
    };
    let sections = resolve_sections(options, table, &against, &planned).await;
    let mut rows = map_rows(table, &layout, &index, &types, &sections);
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    report_rejected(ctx, &mut report, &file, &rows.rejected);

    // Assets linked to the key of a rejected row stay as they are: the file still has them.
    let protected: HashSet<String> = rows
        .rejected
        .iter()
        .filter_map(|r| r.key.as_ref().map(|k| k.to_lowercase()))
        .collect();
    let targets = planned
        .into_iter()
        .map(|client| {
            let desired = rows.by_client.remove(&client.id).unwrap_or_default();
            let client_assets: Vec<&Asset> = assets_by_client
                .get(&client.id)
                .map(|a| {
                    a.iter()
                        .copied()
                        .filter(|a| link(a, options).is_none_or(|k| !protected.contains(&k)))
                        .collect()
                })
                .unwrap_or_default();
            let target = Target {
                kind: TargetKind::File,
                id: file.clone(),
                client: client.clone(),
            };
            (target, (desired, client_assets))
        })
        .collect();
    run_targets(
        ctx,
        started,
        report,
        targets,
        async |target, (desired, assets)| match &sections[&target.client.id] {
            Ok(section) => {
                sync_client(
                    ctx,
                    options,
                    target,
                    section,
                    desired,
                    &assets,
                    default_type,
                )
                .await
            }
            Err(failure) => fail(&JOB, target, failure.clone()),
        },
    )
    .await
}

/// Logs and counts the rejected rows, and reports them as one entry of the import.
fn report_rejected(
    ctx: &Context<'_>,
    report: &mut ImportReport,
    file: &str,
    rejected: &[Rejected],
) {
    if rejected.is_empty() {
        return;
    }
    let import = JOB.import;
    for r in rejected {
        tracing::error!(
            import,
            entity = SPEC.entity,
            file,
            line = r.line,
            key = r.key.as_deref().unwrap_or(""),
            action = "failed",
            reason = %r.reason,
            "row rejected"
        );
    }
    ctx.metrics
        .records
        .with_label_values(&[import, SPEC.entity, "failed"])
        .inc_by(rejected.len() as f64);
    let lines: Vec<String> = rejected.iter().map(|r| r.line.to_string()).collect();
    let mut entry = TargetReport::problem(
        TargetKind::File,
        file,
        None,
        Failure::new(
            Severity::Partial,
            format!(
                "{} row(s) rejected (lines {}); the log says why",
                rejected.len(),
                lines.join(", ")
            ),
        ),
    );
    entry.applied.failed = rejected.len();
    entry.rejected = rejected
        .iter()
        .map(|r| format!("line {}", r.line))
        .collect();
    report.targets.push(entry);
}

async fn sync_client(
    ctx: &Context<'_>,
    options: &CsvAssetsOptions,
    target: &Target,
    section: &ClientSection,
    rows: Vec<RowAsset>,
    assets: &[&Asset],
    default_type: i64,
) -> TargetReport {
    // An asset listed without its custom fields is read singly before an update may send
    // them (Halo replaces the array wholesale).
    let mut completed: Vec<Asset> = Vec::new();
    if section.mapping.updates_custom_fields() {
        completed = assets
            .iter()
            .filter(|a| a.customfields.is_none())
            .map(|a| (*a).clone())
            .collect();
        let read = ctx.halo.complete_assets(completed.iter_mut(), |_| true);
        if let Err(e) = read.await {
            return halo_read_failed(&JOB, target, "assets", &e);
        }
    }
    let completed: HashMap<i64, &Asset> = completed.iter().map(|a| (a.id, a)).collect();
    let assets: Vec<&Asset> = assets
        .iter()
        .map(|a| completed.get(&a.id).copied().unwrap_or(*a))
        .collect();
    let current: Vec<Current> = assets
        .iter()
        .map(|a| current(a, options, section))
        .collect();
    let client = target.client.id;
    let unplaced: HashSet<String> = rows
        .iter()
        .filter(|r| !r.placed)
        .map(|r| r.desired.source_id.clone())
        .collect();
    let desired = match with_users(ctx, target, rows, &current).await {
        Ok(desired) => desired,
        Err(e) => return halo_read_failed(&JOB, target, "users", &e),
    };
    let stored: HashMap<i64, Stored<'_>> = assets.iter().map(|a| (a.id, Stored::of(a))).collect();
    let shape_one = |id: Option<i64>, item: Map<String, Value>| match id {
        Some(id) => shape_item(
            options,
            stored.get(&id).copied().unwrap_or_default(),
            None,
            item,
        ),
        None => shape_item(options, Stored::default(), Some(default_type), item),
    };
    let reread = async || -> Result<HashSet<String>, HaloError> {
        let assets = ctx.halo.assets_of_client(client).await?;
        Ok(assets.iter().filter_map(|a| link(a, options)).collect())
    };
    let source = Source {
        desired,
        problem: None,
        unplaced,
    };
    plan_and_apply(
        ctx,
        &JOB,
        target,
        source,
        &current,
        Some(&shape_one),
        reread,
    )
    .await
}

/// The rows' desired assets, the new ones (linked to no asset, matching none by key) with
/// their user (`columns.user`) on create; the client's users are read only when a new
/// asset names one. A user no one or several active users of the client have is left out,
/// with a warning naming the row.
async fn with_users(
    ctx: &Context<'_>,
    target: &Target,
    rows: Vec<RowAsset>,
    current: &[Current],
) -> Result<Vec<Desired>, HaloError> {
    let linked: HashSet<&str> = current
        .iter()
        .filter_map(|c| c.source_id.as_deref())
        .collect();
    let keys: HashSet<String> = current
        .iter()
        .filter_map(|c| c.secondary.as_deref())
        .map(|k| k.trim().to_lowercase())
        .collect();
    let is_new = |r: &RowAsset| {
        !linked.contains(r.desired.source_id.as_str())
            && r.desired
                .secondary
                .as_deref()
                .is_none_or(|k| !keys.contains(&k.trim().to_lowercase()))
    };
    if !rows.iter().any(|r| r.user.is_some() && is_new(r)) {
        return Ok(rows.into_iter().map(|r| r.desired).collect());
    }
    let users = ctx
        .halo
        .users_of_client_as(target.client.id, UserIndex::entry)
        .await?;
    let users = UserIndex::new(users);
    let desired = rows
        .into_iter()
        .map(|r| {
            let new = is_new(&r);
            let RowAsset {
                mut desired,
                user,
                line,
                ..
            } = r;
            if let Some(email) = user.filter(|_| new) {
                let found = users.find(Some(&email));
                if found.is_none() {
                    tracing::warn!(
                        import = JOB.import,
                        file = %target.id,
                        line,
                        key = desired.secondary.as_deref().unwrap_or_default(),
                        user = %email,
                        "no single active user of the client has this e-mail; the new asset gets no user"
                    );
                }
                for (name, value) in people(found).iter() {
                    desired.create_only.insert(*name, value.clone());
                }
            }
            desired
        })
        .collect();
    Ok(desired)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::sources::spreadsheet::parse_csv;
    use crate::sync::{PlanOptions, plan};
    use serde_json::json;

    fn options() -> CsvAssetsOptions {
        CsvAssetsOptions {
            mapping: Default::default(),
            path: PathBuf::from("assets.csv"),
            columns: vec![
                (AssetColumn::InventoryNumber, "Asset Tag".into()),
                (AssetColumn::KeyField, "Serial".into()),
                (AssetColumn::Client, "Customer".into()),
                (AssetColumn::Type, "Type".into()),
                (AssetColumn::Field(12), "RAM".into()),
            ],
            match_on: AssetColumn::KeyField,
            link_field: 99,
            asset_type: "Workstation".into(),
            delimiter: None,
        }
    }

    fn clients() -> Vec<Client> {
        serde_json::from_str(
            r#"[{"id":1,"name":"Contoso Ltd","main_site_id":10},
                {"id":2,"name":"Twin"},{"id":3,"name":"twin "},
                {"id":4,"name":"Old Co","inactive":true}]"#,
        )
        .unwrap()
    }

    fn types() -> AssetTypes {
        AssetTypes::new(
            serde_json::from_str(r#"[{"id":7,"name":"Workstation"},{"id":8,"name":"Laptop"}]"#)
                .unwrap(),
        )
    }

    const FILE: &str = "Asset Tag;Serial;Customer;Type;RAM\n\
        PC-1;SN1;Contoso Ltd;laptop;16 GB\n\
        PC-2;;Contoso Ltd;;\n\
        PC-3;SN3;1;;8 GB\n\
        PC-4;SN4;Twin;;\n\
        PC-5;SN5;Nobody;;\n\
        PC-6;SN6;Old Co;;\n\
        PC-7;SN7;Contoso Ltd;Toaster;\n\
        PC-8;dup;Contoso Ltd;;\n\
        PC-9;DUP;Contoso Ltd;;\n";

    /// A client's section as resolved, from the YAML of a `csv-assets` section, against
    /// the header of `table`.
    fn section(yaml: &str, table: &Table) -> ClientSection {
        let text = format!("imports:\n  csv-assets:\n{yaml}");
        let section = crate::mapping::Mapping::parse(&text, "m.yaml")
            .expect("valid")
            .import::<CsvSection>("csv-assets")
            .expect("valid")
            .for_client(1, "Contoso Ltd");
        let columns = section.columns();
        ClientSection {
            status: columns.status.and_then(|c| table.column(&c)),
            user: columns.user.and_then(|c| table.column(&c)),
            site: None,
            section,
            mapping: ClientMapping::default(),
        }
    }

    fn sections(yaml: &str, table: &Table) -> Sections {
        (1..=4).map(|id| (id, Ok(section(yaml, table)))).collect()
    }

    fn map(file: &str, yaml: &str) -> Rows {
        let table = parse_csv(file.as_bytes(), None).unwrap();
        let opts = options();
        let layout = Layout::new(&opts, &table).unwrap();
        let clients = clients();
        let sections = sections(yaml, &table);
        map_rows(
            &table,
            &layout,
            &Clients::new(&clients),
            &types(),
            &sections,
        )
    }

    fn mapped() -> Rows {
        map(FILE, "")
    }

    fn desired(rows: &Rows, client: i64) -> Vec<Desired> {
        rows.by_client[&client]
            .iter()
            .map(|r| r.desired.clone())
            .collect()
    }

    #[test]
    fn a_status_is_mapped_an_unknown_one_rejects_the_row_and_users_are_kept_for_create() {
        let file = "Asset Tag;Serial;Customer;Type;RAM;State;Owner\n\
            PC-1;SN1;Contoso Ltd;;;  in repair ;ann@contoso.example\n\
            PC-2;SN2;Contoso Ltd;;;;\n\
            PC-3;SN3;Contoso Ltd;;;Lost;\n";
        let yaml =
            "    columns: {status: state, user: OWNER}\n    statuses: {Active: 1, In Repair: 2}\n";
        let rows = map(file, yaml);
        let contoso = &rows.by_client[&1];
        assert_eq!(contoso.len(), 2);
        assert_eq!(
            contoso[0].desired.fields["status_id"], 2,
            "trimmed, any case"
        );
        assert_eq!(contoso[0].user.as_deref(), Some("ann@contoso.example"));
        assert!(
            !contoso[1].desired.fields.contains_key("status_id"),
            "empty: no value"
        );
        assert_eq!(rows.rejected.len(), 1);
        assert_eq!(rows.rejected[0].line, 4);
        assert_eq!(rows.rejected[0].key.as_deref(), Some("SN3"));
        assert!(
            rows.rejected[0]
                .reason
                .contains("'Lost' is not in the mapping file's statuses"),
            "{}",
            rows.rejected[0].reason
        );
    }

    #[test]
    fn rows_map_to_desired_assets_of_their_client() {
        let rows = mapped();
        let contoso = &desired(&rows, 1);
        let ids: Vec<&str> = contoso.iter().map(|d| d.source_id.as_str()).collect();
        assert_eq!(ids, ["sn1", "sn3"], "by name and by id");
        assert_eq!(rows.by_client.len(), 1);
        let d = &contoso[0];
        assert_eq!(d.secondary.as_deref(), Some("SN1"));
        assert_eq!(d.label, "PC-1");
        assert_eq!(d.fields["inventory_number"], "PC-1");
        assert!(
            !d.fields.contains_key("key_field"),
            "key_field is read-only in Halo: matched on, never written"
        );
        assert_eq!(d.fields["assettype_id"], 8, "type by name, any case");
        assert_eq!(d.fields["field:12"], "16 GB");
        assert_eq!(
            contoso[1].fields["assettype_id"],
            Value::Null,
            "no type: default on create"
        );
    }

    #[test]
    fn every_rejected_row_has_its_line_and_reason() {
        let rejected: Vec<(u64, String)> = mapped()
            .rejected
            .into_iter()
            .map(|r| (r.line, r.reason))
            .collect();
        let expect = [
            (3, "match column 'Serial' (key_field) is empty"),
            (5, "several Halo clients are named 'Twin'"),
            (6, "no Halo client is named or has the id 'Nobody'"),
            (7, "Old Co (id 4) is inactive"),
            (
                8,
                "unknown asset type 'Toaster'; the asset types are: Laptop, Workstation",
            ),
            (9, "the key 'dup' is also on line(s) 10"),
            (10, "the key 'DUP' is also on line(s) 9"),
        ];
        assert_eq!(rejected.len(), expect.len(), "{rejected:?}");
        for ((line, reason), (want_line, want)) in rejected.iter().zip(expect) {
            assert_eq!(*line, want_line);
            assert!(reason.contains(want), "line {line}: {reason}");
        }
    }

    #[test]
    fn a_missing_column_names_the_variable_and_the_columns() {
        let table = parse_csv(b"Tag,Serial\n", None).unwrap();
        let opts = options();
        let e = Layout::new(&opts, &table).err().unwrap();
        assert!(e.starts_with("CSV_ASSETS_COLUMNS: inventory_number"), "{e}");
        assert!(e.contains("its columns are: Tag, Serial"), "{e}");
    }

    #[test]
    fn hand_made_assets_are_linked_by_the_match_key_and_the_link_lands_in_its_field() {
        let asset: Asset = serde_json::from_str(
            r#"{"id":5,"inventory_number":"PC-1","key_field":"sn1 ","assettype_id":8,
                "fields":[{"id":3,"value":"keep"},{"id":12,"value":"16 GB"}]}"#,
        )
        .unwrap();
        let opts = options();
        let table = parse_csv(FILE.as_bytes(), None).unwrap();
        let c = current(&asset, &opts, &section("", &table));
        assert_eq!(c.source_id, None, "not linked: made by hand");
        let rows = mapped();
        let plan = plan(
            &SPEC,
            &desired(&rows, 1)[..1],
            &[c],
            &PlanOptions {
                deactivate_missing: true,
                source_complete: true,
                max_deactivations: 50,
                max_deactivation_percent: 100.0,
            },
        );
        assert_eq!(plan.updates.len(), 1, "{plan:?}");
        let item = plan.updates[0].changes.to_map();
        let shaped = shape_item(&opts, Stored::of(&asset), None, item);
        assert_eq!(
            Value::Object(shaped),
            json!({"fields": [
                {"id": 3, "value": "keep"},
                {"id": 12, "value": "16 GB"},
                {"id": 99, "value": "sn1"},
            ]})
        );
    }
}
