//! The simulated Halo SQL report endpoint (`/api/Report`): ad hoc reports
//! (`_loadreportonly`), saved reports and `GET /api/Report/{id}?loadreport=true`.
//!
//! Each run builds an in-memory SQLite database from the current [`World`] and executes the
//! client's SQL for real. Only tables and columns evidenced in public Halo SQL exist:
//!
//! | table | columns |
//! |---|---|
//! | `USERS` | `uid`, `uusername`, `uemail`, `usite`, `uinactive`, `UAzureOID`, `uextn`, `umobile` |
//! | `SITE` | `ssitenum`, `sarea` (client id), `sdesc`, `SIsInvoiceSite`, `SIsInactive` |
//! | `AREA` | `aarea`, `aareadesc`, `AIsInactive` |
//!
//! Text columns compare case-insensitively (`COLLATE NOCASE`), as under SQL Server's default
//! collation. Halo's rules are enforced: one read-only `SELECT` (or `WITH`) statement, without
//! `--` comments, trailing semicolon or `DECLARE`. SQL that breaks them or fails still answers
//! 200, with `report.loaded: false` and `report.load_error`.

use std::collections::HashSet;

use axum::http::StatusCode;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use serde_json::{Map, Value, json};

use super::Ctx;
use super::halo::{
    Item, Reject, Reply, flag, id_value, not_found, ok_json, parse_id, reject, write_items,
    write_response,
};
use super::world::{HaloReport, World};

/// The schema of the report database.
const SCHEMA: &str = "
CREATE TABLE AREA (
    aarea INTEGER PRIMARY KEY,
    aareadesc TEXT COLLATE NOCASE,
    AIsInactive INTEGER NOT NULL
);
CREATE TABLE SITE (
    ssitenum INTEGER PRIMARY KEY,
    sarea INTEGER,
    sdesc TEXT COLLATE NOCASE,
    SIsInvoiceSite INTEGER NOT NULL,
    SIsInactive INTEGER NOT NULL
);
CREATE TABLE USERS (
    uid INTEGER PRIMARY KEY,
    uusername TEXT COLLATE NOCASE,
    uemail TEXT COLLATE NOCASE,
    usite INTEGER,
    uinactive INTEGER NOT NULL,
    UAzureOID TEXT COLLATE NOCASE,
    uextn TEXT COLLATE NOCASE,
    umobile TEXT COLLATE NOCASE
);
";

/// The answer when the agent lacks reporting permission.
pub(super) fn forbidden() -> Reject {
    reject(
        StatusCode::FORBIDDEN,
        "You do not have permission to run reports (edit:reporting)",
    )
}

/// `POST /api/Report`: items with `_loadreportonly: true` run their `sql` and answer the
/// report with its rows; the others create (no `id`) or update a saved report and answer the
/// saved record. Every item is validated before anything is saved.
pub(super) fn post(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let (items, single) = write_items(ctx)?;
    let mut planned = Vec::with_capacity(items.len());
    for (index, map) in items.iter().enumerate() {
        let item = Item { index, map };
        let load_only = item.bool("_loadreportonly")?.unwrap_or(false);
        let id = item.id()?;
        let mut report = match id.and_then(|id| saved(world, id)) {
            Some(report) => report.clone(),
            None if load_only || id.is_none() => HaloReport {
                id: id.unwrap_or(0),
                name: String::new(),
                sql: String::new(),
            },
            None => return Err(item.err(format!("id {} does not exist", id.unwrap_or(0)))),
        };
        let create = report.id == 0;
        for (key, slot) in [("name", &mut report.name), ("sql", &mut report.sql)] {
            match item.string(key)? {
                Some(value) => *slot = value.unwrap_or_default(),
                None if create && !load_only => {
                    return Err(item.err(format!("{key} is required")));
                }
                None => {}
            }
        }
        if !load_only {
            item.check_name(&report.name)?;
        }
        planned.push((report, load_only));
    }
    let mut answers = Vec::with_capacity(planned.len());
    for (mut report, load_only) in planned {
        if load_only {
            let content = load(world, &report.sql);
            answers.push(report_json(&report, true, Some(content)));
            continue;
        }
        if report.id == 0 {
            report.id = world.next_halo_id();
            world.halo.reports.push(report.clone());
        } else if let Some(slot) = world.halo.reports.iter_mut().find(|r| r.id == report.id) {
            *slot = report.clone();
        }
        answers.push(report_json(&report, true, None));
    }
    Ok(write_response(answers, single))
}

/// `GET /api/Report/{id}[?loadreport=true]`: the saved report, run only when asked.
pub(super) fn get(ctx: &Ctx<'_>, world: &World, raw_id: &str) -> Reply {
    let id = parse_id(raw_id)?;
    let report = saved(world, id).ok_or_else(|| not_found(id))?;
    let content = flag(ctx, "loadreport").then(|| load(world, &report.sql));
    Ok(ok_json(report_json(report, false, content)))
}

fn saved(world: &World, id: i64) -> Option<&HaloReport> {
    world.halo.reports.iter().find(|r| r.id == id)
}

/// The `AnalyzerProfile` answer; `content` becomes its `report`.
fn report_json(report: &HaloReport, float: bool, content: Option<Value>) -> Value {
    let mut value = json!({
        "id": id_value(report.id, float),
        "name": report.name,
        "sql": report.sql,
    });
    if let (Some(content), Value::Object(map)) = (content, &mut value) {
        map.insert("report".into(), content);
    }
    value
}

/// Runs `sql` over `world`: the `ReportContent` with `loaded` and `rows`, or with
/// `loaded: false` and `load_error`.
fn load(world: &World, sql: &str) -> Value {
    match run(world, sql) {
        Ok(rows) => json!({"loaded": true, "rows": rows}),
        Err(error) => json!({"loaded": false, "load_error": error}),
    }
}

/// The rows of `sql`, each an object keyed by the column names (aliases) SQLite reports.
fn run(world: &World, sql: &str) -> Result<Vec<Value>, String> {
    check_halo_rules(sql)?;
    let db = database(world).map_err(|e| format!("Could not build the report data: {e}"))?;
    let mut statement = db.prepare(sql).map_err(|e| e.to_string())?;
    if !statement.readonly() {
        return Err(NOT_A_QUERY.to_string());
    }
    let names: Vec<String> = statement.column_names().map(str::to_string).collect();
    let mut rows = statement.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let mut object = Map::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let cell = row.get_ref(i).map_err(|e| e.to_string())?;
            object.insert(name.clone(), cell_json(cell));
        }
        out.push(Value::Object(object));
    }
    Ok(out)
}

const NOT_A_QUERY: &str = "Only a read-only SELECT statement can be run as a report";

/// Halo's own limits on report SQL, checked before SQLite sees it (SQLite alone would accept
/// comments and a trailing semicolon). More than one statement is refused by
/// [`Connection::prepare`].
fn check_halo_rules(sql: &str) -> Result<(), String> {
    if sql.contains("--") {
        return Err("Comments (--) are not allowed in report SQL".to_string());
    }
    if sql.trim_end().ends_with(';') {
        return Err("A trailing semicolon is not allowed in report SQL".to_string());
    }
    let first: String = sql
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    if first.eq_ignore_ascii_case("declare") {
        return Err("DECLARE is not allowed in report SQL".to_string());
    }
    // A read-only statement may still be ATTACH, BEGIN or PRAGMA: only queries are reports.
    if !(first.eq_ignore_ascii_case("select") || first.eq_ignore_ascii_case("with")) {
        return Err(NOT_A_QUERY.to_string());
    }
    Ok(())
}

/// A fresh in-memory database holding `world`'s clients, sites and users.
fn database(world: &World) -> rusqlite::Result<Connection> {
    let mut db = Connection::open_in_memory()?;
    db.execute_batch(SCHEMA)?;
    let tx = db.transaction()?;
    {
        let mut area =
            tx.prepare("INSERT INTO AREA (aarea, aareadesc, AIsInactive) VALUES (?1, ?2, ?3)")?;
        for client in &world.halo.clients {
            area.insert(params![client.id, client.name, client.inactive])?;
        }
        let main_sites: HashSet<(i64, i64)> = world
            .halo
            .clients
            .iter()
            .map(|c| (c.id, c.main_site_id))
            .collect();
        let mut site = tx.prepare(
            "INSERT INTO SITE (ssitenum, sarea, sdesc, SIsInvoiceSite, SIsInactive) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for s in &world.halo.sites {
            let invoice = main_sites.contains(&(s.client_id, s.id));
            site.insert(params![s.id, s.client_id, s.name, invoice, s.inactive])?;
        }
        let mut user = tx.prepare(
            "INSERT INTO USERS (uid, uusername, uemail, usite, uinactive, UAzureOID, uextn, \
             umobile) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for u in &world.halo.users {
            user.insert(params![
                u.id,
                u.name,
                u.emailaddress,
                u.site_id,
                u.inactive,
                u.azureoid,
                u.phonenumber,
                u.mobilenumber,
            ])?;
        }
    }
    tx.commit()?;
    Ok(db)
}

/// One cell as JSON: numbers, strings and null (a blob as lossy UTF-8 text).
fn cell_json(cell: ValueRef<'_>) -> Value {
    match cell {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{HaloSite, HaloUser};

    /// The production query of a public M365→Halo contact sync.
    const USERS_SQL: &str = "SELECT UAzureOID AS azureoid, uemail, usite AS site_id, uusername, uid AS id, uextn, umobile, uinactive AS inactive, aarea AS client_id FROM USERS LEFT JOIN SITE ON usite = ssitenum LEFT JOIN AREA ON sarea = aarea";
    /// Clients with their main (invoice) site, from the same client.
    const CLIENTS_SQL: &str = "SELECT aarea AS id, aareadesc AS name, ssitenum AS main_site_id FROM AREA LEFT JOIN SITE ON aarea = sarea WHERE SIsInvoiceSite = 1";

    struct Ids {
        alpha: i64,
        alpha_main: i64,
        branch: i64,
        beta: i64,
        beta_main: i64,
        alice: i64,
        bob: i64,
        carol: i64,
    }

    fn user(name: &str, email: &str, client_id: i64, site_id: i64) -> HaloUser {
        HaloUser {
            id: 0,
            name: name.to_string(),
            firstname: String::new(),
            surname: String::new(),
            emailaddress: email.to_string(),
            azureoid: None,
            other: Default::default(),
            site_id,
            client_id,
            inactive: false,
            title: None,
            phonenumber: None,
            mobilenumber: None,
            customfields: Vec::new(),
        }
    }

    /// Alpha (main site and an inactive branch) and Beta (inactive); Alice (linked, phone) at Alpha's
    /// main site, Bob (unlinked, inactive) at the branch, Carol (linked, mobile) at Beta.
    fn world() -> (World, Ids) {
        let mut world = World::empty();
        let alpha = world.add_client("Alpha", &[]);
        let beta = world.add_client("Beta", &[]);
        let branch = world.next_halo_id();
        world.halo.sites.push(HaloSite {
            id: branch,
            name: "Branch".to_string(),
            client_id: alpha,
            inactive: true,
        });
        world.halo.clients[1].inactive = true;
        let main = |w: &World, c: i64| w.client(c).map_or(0, |c| c.main_site_id);
        let (alpha_main, beta_main) = (main(&world, alpha), main(&world, beta));
        let mut a = user("Alice Archer", "alice@alpha.example", alpha, alpha_main);
        a.azureoid = Some("oid-alice".to_string());
        a.phonenumber = Some("+1 425 555 0101".to_string());
        let alice = world.add_halo_user(a);
        let mut b = user("Bob Baker", "bob@alpha.example", alpha, branch);
        b.inactive = true;
        let bob = world.add_halo_user(b);
        let mut c = user("Carol Clark", "carol@beta.example", beta, beta_main);
        c.azureoid = Some("oid-carol".to_string());
        c.mobilenumber = Some("+1 206 555 0303".to_string());
        let carol = world.add_halo_user(c);
        let ids = Ids {
            alpha,
            alpha_main,
            branch,
            beta,
            beta_main,
            alice,
            bob,
            carol,
        };
        (world, ids)
    }

    /// The rows of `sql`, sorted by their `id` column when there is one.
    fn rows(world: &World, sql: &str) -> Vec<Value> {
        let mut rows = run(world, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.sort_by_key(|r| r["id"].as_i64());
        rows
    }

    fn load_error(world: &World, sql: &str) -> String {
        let content = load(world, sql);
        assert_eq!(content["loaded"], false, "{sql}: {content}");
        assert!(content.get("rows").is_none(), "{content}");
        content["load_error"]
            .as_str()
            .unwrap_or_else(|| panic!("{sql}: no load_error in {content}"))
            .to_string()
    }

    #[test]
    fn the_production_users_query_returns_every_user_with_site_and_client() {
        let (world, ids) = world();
        assert_eq!(
            rows(&world, USERS_SQL),
            vec![
                json!({"azureoid": "oid-alice", "uemail": "alice@alpha.example",
                       "site_id": ids.alpha_main, "uusername": "Alice Archer", "id": ids.alice,
                       "uextn": "+1 425 555 0101", "umobile": null, "inactive": 0,
                       "client_id": ids.alpha}),
                json!({"azureoid": null, "uemail": "bob@alpha.example", "site_id": ids.branch,
                       "uusername": "Bob Baker", "id": ids.bob, "uextn": null, "umobile": null,
                       "inactive": 1, "client_id": ids.alpha}),
                json!({"azureoid": "oid-carol", "uemail": "carol@beta.example",
                       "site_id": ids.beta_main, "uusername": "Carol Clark", "id": ids.carol,
                       "uextn": null, "umobile": "+1 206 555 0303", "inactive": 0,
                       "client_id": ids.beta}),
            ]
        );
    }

    #[test]
    fn the_production_clients_query_returns_each_client_with_its_main_site() {
        let (world, ids) = world();
        assert_eq!(
            rows(&world, CLIENTS_SQL),
            vec![
                json!({"id": ids.alpha, "name": "Alpha", "main_site_id": ids.alpha_main}),
                json!({"id": ids.beta, "name": "Beta", "main_site_id": ids.beta_main}),
            ]
        );
        let flags = "SELECT aarea AS id, AIsInactive AS inactive FROM AREA";
        assert_eq!(
            rows(&world, flags),
            vec![
                json!({"id": ids.alpha, "inactive": 0}),
                json!({"id": ids.beta, "inactive": 1}),
            ]
        );
        let sites = "SELECT ssitenum AS id, sdesc, SIsInvoiceSite, SIsInactive FROM SITE";
        assert_eq!(
            rows(&world, sites)[2],
            json!({"id": ids.branch, "sdesc": "Branch", "SIsInvoiceSite": 0, "SIsInactive": 1})
        );
    }

    #[test]
    fn filters_aliases_and_case_insensitive_comparison() {
        let (world, ids) = world();
        let per_client = format!(
            "SELECT uid AS id, UAzureOID AS azureoid FROM USERS JOIN SITE ON usite = ssitenum WHERE sarea = {}",
            ids.alpha
        );
        assert_eq!(
            rows(&world, &per_client),
            vec![
                json!({"id": ids.alice, "azureoid": "oid-alice"}),
                json!({"id": ids.bob, "azureoid": null}),
            ]
        );
        // Identifiers and text comparisons ignore case, like SQL Server's default collation;
        // the keys are the aliases exactly as written, and expressions work.
        let sql = "select UID as Id, upper(UUSERNAME) AS [Shout], 1.5 AS half FROM users \
                   WHERE uemail = 'CAROL@Beta.Example'";
        assert_eq!(
            run(&world, sql).expect("runs"),
            vec![json!({"Id": ids.carol, "Shout": "CAROL CLARK", "half": 1.5})]
        );
        assert_eq!(
            load(
                &world,
                "SELECT count(*) AS n FROM USERS WHERE uinactive = 0"
            ),
            json!({"loaded": true, "rows": [{"n": 2}]})
        );
    }

    #[test]
    fn bad_or_forbidden_sql_is_a_load_error() {
        let (world, _) = world();
        let before = world.clone();
        for sql in [
            "SELEC uid FROM USERS",
            "SELECT uphone FROM USERS",
            "SELECT uid FROM TICKETS",
            "",
        ] {
            load_error(&world, sql);
        }
        assert!(
            load_error(&world, "SELECT uid FROM USERS; SELECT ssitenum FROM SITE")
                .contains("Multiple statements")
        );
        assert!(load_error(&world, "SELECT uid FROM USERS -- every user").contains("--"));
        assert!(load_error(&world, "SELECT uid FROM USERS ; ").contains("semicolon"));
        assert!(load_error(&world, "DECLARE @x int").contains("DECLARE"));
        for sql in [
            "DELETE FROM USERS",
            "UPDATE USERS SET uinactive = 1",
            "INSERT INTO AREA (aarea, aareadesc, AIsInactive) VALUES (99, 'x', 0)",
            "DROP TABLE USERS",
            "CREATE TABLE t (x)",
            "ATTACH DATABASE ':memory:' AS other",
            "PRAGMA user_version = 3",
            "WITH gone AS (SELECT uid FROM USERS) DELETE FROM USERS WHERE uid IN gone",
        ] {
            assert_eq!(load_error(&world, sql), NOT_A_QUERY, "{sql}");
        }
        assert_eq!(world, before);
    }
}
