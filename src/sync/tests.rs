//! Table-driven tests of the planner: one row per rule or edge case, each checked for the
//! exact plan and for convergence (applying the plan and planning again writes nothing).

use serde_json::{Value, json};

use super::*;

const SPEC: EntitySpec = EntitySpec {
    entity: "user",
    link_field: "azureoid",
    case_insensitive: &["emailaddress"],
};

/// A desired user: enabled, `name` and `emailaddress` set, e-mail as secondary key.
fn want(oid: &str, email: &str) -> Desired {
    Desired {
        source_id: oid.to_owned(),
        secondary: Some(email.to_owned()),
        label: email.to_owned(),
        enabled: true,
        fields: Fields::from([
            ("name".to_owned(), json!(format!("Name {oid}"))),
            ("emailaddress".to_owned(), json!(email)),
        ]),
        create_only: Fields::new(),
    }
}

/// A Halo user holding exactly what `want(oid, email)` would write.
fn have(id: i64, oid: Option<&str>, email: &str) -> Current {
    let name = oid.map_or_else(|| format!("Hand-made {id}"), |oid| format!("Name {oid}"));
    Current {
        id,
        source_id: oid.map(str::to_owned),
        secondary: Some(email.to_owned()),
        inactive: false,
        fields: Fields::from([
            ("name".to_owned(), json!(name)),
            ("emailaddress".to_owned(), json!(email)),
        ]),
    }
}

trait Build: Sized {
    fn fields_mut(&mut self) -> &mut Fields;
    /// Sets (or, with `None`, removes) one field.
    fn with(mut self, name: &str, value: Option<Value>) -> Self {
        match value {
            Some(value) => self.fields_mut().insert(name.to_owned(), value),
            None => self.fields_mut().remove(name),
        };
        self
    }
}

impl Build for Desired {
    fn fields_mut(&mut self) -> &mut Fields {
        &mut self.fields
    }
}

impl Build for Current {
    fn fields_mut(&mut self) -> &mut Fields {
        &mut self.fields
    }
}

impl Desired {
    fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }
}

impl Current {
    fn inactive(mut self) -> Self {
        self.inactive = true;
        self
    }
}

/// Deactivation on, complete source, thresholds out of the way.
fn opts() -> PlanOptions {
    PlanOptions {
        deactivate_missing: true,
        source_complete: true,
        max_deactivations: 1000,
        max_deactivation_percent: 100.0,
    }
}

fn keep_missing() -> PlanOptions {
    PlanOptions {
        deactivate_missing: false,
        ..opts()
    }
}

fn incomplete() -> PlanOptions {
    PlanOptions {
        source_complete: false,
        ..opts()
    }
}

/// One line per action, in plan order, then the unchanged count and any withheld reason.
fn render(plan: &Plan) -> Vec<String> {
    let json = |fields: &Fields| serde_json::to_string(fields).unwrap();
    let mut lines = Vec::new();
    for c in &plan.creates {
        lines.push(format!("create {} {}", c.source_id, json(&c.fields)));
    }
    for u in &plan.updates {
        let reactivate = if u.reactivate { " reactivate" } else { "" };
        lines.push(format!("update #{} {}{reactivate}", u.id, json(&u.changes)));
    }
    for d in &plan.deactivations {
        lines.push(format!("deactivate #{} {:?}", d.id, d.reason));
    }
    for s in &plan.skipped {
        lines.push(format!("skip {}: {:?}", s.source_id, s.reason));
    }
    lines.push(format!("unchanged={}", plan.unchanged));
    if let Some(w) = &plan.withheld {
        lines.push(format!("withheld {w:?}"));
    }
    lines
}

/// What the caller would do with the plan, on the in-memory Halo records.
fn apply(plan: &Plan, desired: &[Desired], current: &[Current]) -> Vec<Current> {
    let mut records = current.to_vec();
    let first_new_id = records.iter().map(|c| c.id).max().unwrap_or(0) + 1000;
    for (id, create) in (first_new_id..).zip(&plan.creates) {
        let d = desired
            .iter()
            .find(|d| d.source_id == create.source_id)
            .unwrap();
        let mut fields = create.fields.clone();
        let link = fields.remove(SPEC.link_field).unwrap();
        records.push(Current {
            id,
            source_id: link.as_str().map(str::to_owned),
            secondary: d.secondary.clone(),
            inactive: false,
            fields,
        });
    }
    for update in &plan.updates {
        let record = records.iter_mut().find(|c| c.id == update.id).unwrap();
        for (name, value) in &update.changes {
            match name.as_str() {
                "azureoid" => record.source_id = value.as_str().map(str::to_owned),
                INACTIVE_FIELD => record.inactive = value.as_bool().unwrap(),
                "emailaddress" => {
                    record.secondary = value.as_str().map(str::to_owned);
                    record.fields.insert(*name, value.clone());
                }
                _ => {
                    record.fields.insert(*name, value.clone());
                }
            }
        }
    }
    for deactivate in &plan.deactivations {
        let record = records.iter_mut().find(|c| c.id == deactivate.id).unwrap();
        record.inactive = true;
    }
    records
}

struct Case {
    name: &'static str,
    desired: Vec<Desired>,
    current: Vec<Current>,
    opts: PlanOptions,
    expect: &'static [&'static str],
}

fn case(
    name: &'static str,
    desired: Vec<Desired>,
    current: Vec<Current>,
    opts: PlanOptions,
    expect: &'static [&'static str],
) -> Case {
    Case {
        name,
        desired,
        current,
        opts,
        expect,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // --- matching precedence (rule 1) and convergence ---
        case(
            "empty in, empty out",
            vec![],
            vec![],
            opts(),
            &["unchanged=0"],
        ),
        case(
            "new source record is created with the link field",
            vec![want("a", "ann@x.com")],
            vec![],
            opts(),
            &[
                r#"create a {"azureoid":"a","emailaddress":"ann@x.com","name":"Name a"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "an e-mail its linked owner gives up in this plan is free for another account",
            vec![want("a", "ann@x.com"), want("b", "dee@x.com")],
            vec![have(1, Some("a"), "dee@x.com").with("name", Some(json!("Name a")))],
            opts(),
            &[
                r#"create b {"azureoid":"b","emailaddress":"dee@x.com","name":"Name b"}"#,
                r#"update #1 {"emailaddress":"ann@x.com"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "linked and identical is unchanged",
            vec![want("a", "ann@x.com")],
            vec![have(1, Some("a"), "ann@x.com")],
            opts(),
            &["unchanged=1"],
        ),
        case(
            "only changed fields are written",
            vec![want("a", "ann@x.com").with("title", Some(json!("Boss")))],
            vec![have(1, Some("a"), "ann@x.com").with("title", Some(json!("Intern")))],
            opts(),
            &[r#"update #1 {"title":"Boss"}"#, "unchanged=0"],
        ),
        case(
            "a field missing in Halo is written",
            vec![want("a", "ann@x.com").with("title", Some(json!("Boss")))],
            vec![have(1, Some("a"), "ann@x.com")],
            opts(),
            &[r#"update #1 {"title":"Boss"}"#, "unchanged=0"],
        ),
        case(
            "link wins over secondary key",
            vec![want("a", "ann@x.com")],
            vec![
                have(1, None, "ann@x.com"),
                have(2, Some("a"), "other@x.com"),
            ],
            opts(),
            &[r#"update #2 {"emailaddress":"ann@x.com"}"#, "unchanged=0"],
        ),
        case(
            "unlinked record matched by e-mail gets the link",
            vec![want("a", "ann@x.com")],
            vec![have(1, None, "ann@x.com")],
            opts(),
            &[
                r#"update #1 {"azureoid":"a","name":"Name a"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "blank link counts as unlinked",
            vec![want("a", "ann@x.com")],
            vec![
                have(1, Some(""), "ann@x.com").with("name", Some(json!("Name a"))),
                have(2, Some("  "), "bob@x.com"),
            ],
            opts(),
            &[r#"update #1 {"azureoid":"a"}"#, "unchanged=0"],
        ),
        case(
            "case-variant and padded e-mail matches and is not rewritten",
            vec![want("a", " Ann@X.COM ")],
            vec![have(1, None, "ann@x.com").with("name", Some(json!("Name a")))],
            opts(),
            &[r#"update #1 {"azureoid":"a"}"#, "unchanged=0"],
        ),
        case(
            "case-variant e-mail on a linked record is unchanged",
            vec![want("a", "ANN@x.com")],
            vec![have(1, Some("a"), "ann@X.com")],
            opts(),
            &["unchanged=1"],
        ),
        case(
            "a really different e-mail is rewritten",
            vec![want("a", "ann.new@x.com")],
            vec![have(1, Some("a"), "ann@x.com")],
            opts(),
            &[
                r#"update #1 {"emailaddress":"ann.new@x.com"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "link match is exact, not case-insensitive",
            vec![want("A", "ann@x.com")],
            vec![have(1, Some("a"), "bob@x.com")],
            opts(),
            &[
                r#"create A {"azureoid":"A","emailaddress":"ann@x.com","name":"Name A"}"#,
                "deactivate #1 MissingFromSource",
                "unchanged=0",
            ],
        ),
        case(
            "no secondary key and no link: create",
            vec![want("a", "ann@x.com").no_secondary()],
            vec![have(1, None, "ann@x.com")],
            opts(),
            &[
                r#"create a {"azureoid":"a","emailaddress":"ann@x.com","name":"Name a"}"#,
                "unchanged=0",
            ],
        ),
        // --- blank values never clear; numbers compare numerically ---
        case(
            "null and empty desired values never clear Halo values",
            vec![
                want("a", "ann@x.com")
                    .with("title", Some(Value::Null))
                    .with("phonenumber", Some(json!("")))
                    .with("mobilenumber", Some(json!("   "))),
            ],
            vec![
                have(1, Some("a"), "ann@x.com")
                    .with("title", Some(json!("Boss")))
                    .with("phonenumber", Some(json!("+1 555")))
                    .with("mobilenumber", Some(json!("+1 666"))),
            ],
            opts(),
            &["unchanged=1"],
        ),
        case(
            "null and empty desired values are left out of creates",
            vec![
                want("a", "ann@x.com")
                    .with("title", Some(Value::Null))
                    .with("phonenumber", Some(json!(""))),
            ],
            vec![],
            opts(),
            &[
                r#"create a {"azureoid":"a","emailaddress":"ann@x.com","name":"Name a"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "12 equals 12.0 and \"12\"",
            vec![
                want("a", "ann@x.com")
                    .with("site_id", Some(json!(12)))
                    .with("priority", Some(json!(3.0))),
            ],
            vec![
                have(1, Some("a"), "ann@x.com")
                    .with("site_id", Some(json!(12.0)))
                    .with("priority", Some(json!("3"))),
            ],
            opts(),
            &["unchanged=1"],
        ),
        case(
            "12 differs from 12.5",
            vec![want("a", "ann@x.com").with("site_id", Some(json!(12)))],
            vec![have(1, Some("a"), "ann@x.com").with("site_id", Some(json!(12.5)))],
            opts(),
            &[r#"update #1 {"site_id":12}"#, "unchanged=0"],
        ),
        case(
            "a link field among the desired fields is ignored",
            vec![want("a", "ann@x.com").with("azureoid", Some(json!("zzz")))],
            vec![have(1, Some("a"), "ann@x.com")],
            opts(),
            &["unchanged=1"],
        ),
        // --- one current record per desired record (rule 2) ---
        case(
            "duplicate source ids: all copies skipped, linked record untouched",
            vec![
                want("a", "ann@x.com"),
                want("b", "bob@x.com"),
                want("a", "ann2@x.com"),
            ],
            vec![have(1, Some("a"), "old@x.com")],
            opts(),
            &[
                r#"create b {"azureoid":"b","emailaddress":"bob@x.com","name":"Name b"}"#,
                "skip a: DuplicateInSource",
                "skip a: DuplicateInSource",
                "unchanged=0",
            ],
        ),
        case(
            "two source records claiming one unlinked record: neither wins",
            vec![want("a", "ann@x.com"), want("b", "ANN@x.com")],
            vec![have(7, None, "ann@x.com")],
            opts(),
            &[
                r#"skip a: ContestedSecondary { key: "ann@x.com", id: 7, source_ids: ["a", "b"] }"#,
                r#"skip b: ContestedSecondary { key: "ann@x.com", id: 7, source_ids: ["a", "b"] }"#,
                "unchanged=0",
            ],
        ),
        case(
            "a disabled claimant also blocks the claim",
            vec![want("a", "ann@x.com"), want("b", "ann@x.com").disabled()],
            vec![have(7, None, "ann@x.com")],
            opts(),
            &[
                r#"skip a: ContestedSecondary { key: "ann@x.com", id: 7, source_ids: ["a", "b"] }"#,
                r#"skip b: ContestedSecondary { key: "ann@x.com", id: 7, source_ids: ["a", "b"] }"#,
                "unchanged=0",
            ],
        ),
        case(
            "same e-mail, no match: both created",
            vec![want("a", "shared@x.com"), want("b", "Shared@x.com")],
            vec![],
            opts(),
            &[
                r#"create a {"azureoid":"a","emailaddress":"shared@x.com","name":"Name a"}"#,
                r#"create b {"azureoid":"b","emailaddress":"Shared@x.com","name":"Name b"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "one links by id, the other claims by e-mail: both fine",
            vec![want("a", "ann@x.com"), want("b", "bob@x.com")],
            vec![have(1, Some("a"), "ann@x.com"), have(2, None, "bob@x.com")],
            opts(),
            &[
                r#"update #2 {"azureoid":"b","name":"Name b"}"#,
                "unchanged=1",
            ],
        ),
        // --- ambiguity in Halo (rule 3) ---
        case(
            "several records linked to one id: skipped, none touched or deactivated",
            vec![want("a", "ann@x.com").with("title", Some(json!("Boss")))],
            vec![
                have(1, Some("a"), "ann@x.com"),
                have(2, Some("a"), "ann@x.com"),
            ],
            opts(),
            &["skip a: AmbiguousLink { ids: [1, 2] }", "unchanged=0"],
        ),
        case(
            "several unlinked records with the e-mail: skipped",
            vec![want("a", "ann@x.com")],
            vec![have(1, None, "Ann@x.com"), have(2, None, "ann@x.com ")],
            opts(),
            &[
                r#"skip a: AmbiguousSecondary { key: "ann@x.com", ids: [1, 2] }"#,
                "unchanged=0",
            ],
        ),
        case(
            "unlinked + linked-elsewhere with the e-mail: the unlinked one matches",
            vec![want("a", "ann@x.com")],
            vec![
                have(1, Some("z"), "ann@x.com").inactive(),
                have(2, None, "ann@x.com"),
            ],
            opts(),
            &[
                r#"update #2 {"azureoid":"a","name":"Name a"}"#,
                "unchanged=0",
            ],
        ),
        case(
            "e-mail linked to another source id: skipped, not duplicated",
            vec![want("new", "ann@x.com")],
            vec![have(1, Some("old"), "ann@x.com")],
            opts(),
            &[
                "deactivate #1 MissingFromSource",
                r#"skip new: SecondaryLinkedToOther { key: "ann@x.com", linked: [LinkedRecord { id: 1, source_id: "old" }] }"#,
                "unchanged=0",
            ],
        ),
        case(
            "e-mail linked to another source id that is still in the source",
            vec![want("a", "ann@x.com"), want("b", "ann@x.com")],
            vec![have(1, Some("a"), "ann@x.com")],
            opts(),
            &[
                r#"skip b: SecondaryLinkedToOther { key: "ann@x.com", linked: [LinkedRecord { id: 1, source_id: "a" }] }"#,
                "unchanged=1",
            ],
        ),
        case(
            "empty source id is skipped, not created",
            vec![want("", "ann@x.com"), want(" ", "bob@x.com")],
            vec![have(1, None, "ann@x.com")],
            opts(),
            &[
                "skip : MissingSourceId",
                "skip  : MissingSourceId",
                "unchanged=0",
            ],
        ),
        // --- disabled source records (rule 4) ---
        case(
            "disabled and not in Halo: never created",
            vec![want("a", "ann@x.com").disabled()],
            vec![],
            opts(),
            &["skip a: DisabledNotInHalo", "unchanged=0"],
        ),
        case(
            "disabled, linked, active: deactivated, no field changes",
            vec![
                want("a", "ann@x.com")
                    .disabled()
                    .with("title", Some(json!("Boss"))),
            ],
            vec![have(1, Some("a"), "ann@x.com")],
            opts(),
            &["deactivate #1 DisabledInSource", "unchanged=0"],
        ),
        case(
            "disabled, linked, active, deactivation off: unchanged",
            vec![want("a", "ann@x.com").disabled()],
            vec![have(1, Some("a"), "ann@x.com")],
            keep_missing(),
            &["unchanged=1"],
        ),
        case(
            "disabled, linked, already inactive: unchanged",
            vec![want("a", "ann@x.com").disabled()],
            vec![have(1, Some("a"), "ann@x.com").inactive()],
            opts(),
            &["unchanged=1"],
        ),
        case(
            "disabled, matched by e-mail, active: link written and deactivated",
            vec![want("a", "ann@x.com").disabled()],
            vec![have(1, None, "ann@x.com")],
            opts(),
            &[
                r#"update #1 {"azureoid":"a"}"#,
                "deactivate #1 DisabledInSource",
                "unchanged=0",
            ],
        ),
        case(
            "disabled, matched by e-mail, deactivation off: only the link",
            vec![want("a", "ann@x.com").disabled()],
            vec![have(1, None, "ann@x.com")],
            keep_missing(),
            &[r#"update #1 {"azureoid":"a"}"#, "unchanged=0"],
        ),
        case(
            "disabled, matched by e-mail, inactive: only the link",
            vec![want("a", "ann@x.com").disabled()],
            vec![have(1, None, "ann@x.com").inactive()],
            opts(),
            &[r#"update #1 {"azureoid":"a"}"#, "unchanged=0"],
        ),
        // --- reactivation (rule 5) ---
        case(
            "enabled and linked to an inactive record: reactivated",
            vec![want("a", "ann@x.com")],
            vec![have(1, Some("a"), "ann@x.com").inactive()],
            keep_missing(),
            &[r#"update #1 {"inactive":false} reactivate"#, "unchanged=0"],
        ),
        case(
            "reactivation carries changed fields",
            vec![want("a", "ann@x.com").with("title", Some(json!("Boss")))],
            vec![have(1, Some("a"), "ann@x.com").inactive()],
            opts(),
            &[
                r#"update #1 {"inactive":false,"title":"Boss"} reactivate"#,
                "unchanged=0",
            ],
        ),
        case(
            "enabled, matched by e-mail to an inactive record: linked and reactivated",
            vec![want("a", "ann@x.com")],
            vec![have(1, None, "ann@x.com").inactive()],
            opts(),
            &[
                r#"update #1 {"azureoid":"a","inactive":false,"name":"Name a"} reactivate"#,
                "unchanged=0",
            ],
        ),
        case(
            "reactivation is not withheld by an incomplete source",
            vec![want("a", "ann@x.com")],
            vec![have(1, Some("a"), "ann@x.com").inactive()],
            incomplete(),
            &[r#"update #1 {"inactive":false} reactivate"#, "unchanged=0"],
        ),
        // --- records missing from the source (rule 6) ---
        case(
            "linked, active, missing: deactivated, in current order",
            vec![want("b", "bob@x.com")],
            vec![
                have(3, Some("c"), "cat@x.com"),
                have(2, Some("b"), "bob@x.com"),
                have(1, Some("a"), "ann@x.com"),
            ],
            opts(),
            &[
                "deactivate #3 MissingFromSource",
                "deactivate #1 MissingFromSource",
                "unchanged=1",
            ],
        ),
        case(
            "missing, deactivation off: untouched",
            vec![],
            vec![have(1, Some("a"), "ann@x.com")],
            keep_missing(),
            &["unchanged=0"],
        ),
        case(
            "missing and already inactive: not a candidate",
            vec![],
            vec![have(1, Some("a"), "ann@x.com").inactive()],
            opts(),
            &["unchanged=0"],
        ),
        case(
            "hand-made records are never touched",
            vec![want("a", "ann@x.com")],
            vec![
                have(1, Some("a"), "ann@x.com"),
                have(2, None, "bob@x.com"),
                have(3, Some(""), "cat@x.com"),
                have(4, None, "dan@x.com").inactive(),
            ],
            opts(),
            &["unchanged=1"],
        ),
        // --- incomplete source (rule 7) ---
        case(
            "incomplete source: no deactivations, creates and updates still happen",
            vec![
                want("a", "ann@x.com").with("title", Some(json!("Boss"))),
                want("b", "bob@x.com"),
                want("d", "dan@x.com").disabled(),
            ],
            vec![
                have(1, Some("a"), "ann@x.com"),
                have(3, Some("c"), "cat@x.com"),
                have(4, Some("d"), "dan@x.com"),
            ],
            incomplete(),
            &[
                r#"create b {"azureoid":"b","emailaddress":"bob@x.com","name":"Name b"}"#,
                r#"update #1 {"title":"Boss"}"#,
                "unchanged=1",
                "withheld SourceIncomplete { candidates: 2 }",
            ],
        ),
        case(
            "incomplete source without candidates: nothing withheld",
            vec![want("a", "ann@x.com")],
            vec![have(1, Some("a"), "ann@x.com")],
            incomplete(),
            &["unchanged=1"],
        ),
        // --- safety threshold (rule 8); more boundaries in `thresholds` ---
        case(
            "threshold trips: deactivations withheld, the rest planned",
            vec![
                want("a", "ann@x.com").with("title", Some(json!("Boss"))),
                want("n", "new@x.com"),
                want("r", "rea@x.com"),
                want("d", "dan@x.com").disabled(),
            ],
            vec![
                have(1, Some("a"), "ann@x.com"),
                have(2, Some("b"), "bob@x.com"),
                have(3, Some("r"), "rea@x.com").inactive(),
                have(4, Some("d"), "dan@x.com"),
            ],
            PlanOptions {
                max_deactivations: 1,
                ..opts()
            },
            &[
                r#"create n {"azureoid":"n","emailaddress":"new@x.com","name":"Name n"}"#,
                r#"update #1 {"title":"Boss"}"#,
                r#"update #3 {"inactive":false} reactivate"#,
                "unchanged=1",
                "withheld Threshold { candidates: 2, linked_active: 4, max_deactivations: 1, max_percent: 100.0 }",
            ],
        ),
        case(
            "records the plan links or reactivates are in the threshold base (at the limit)",
            base_growth(),
            base_growth_current(),
            PlanOptions {
                max_deactivation_percent: 50.0,
                ..opts()
            },
            &[
                r#"update #1 {"azureoid":"d"}"#,
                r#"update #2 {"inactive":false} reactivate"#,
                r#"update #3 {"azureoid":"s","inactive":false,"name":"Name s"} reactivate"#,
                "deactivate #1 DisabledInSource",
                "deactivate #5 MissingFromSource",
                "unchanged=0",
            ],
        ),
        case(
            "records the plan links or reactivates are in the threshold base (over)",
            base_growth(),
            base_growth_current(),
            PlanOptions {
                max_deactivation_percent: 49.0,
                ..opts()
            },
            &[
                r#"update #1 {"azureoid":"d"}"#,
                r#"update #2 {"inactive":false} reactivate"#,
                r#"update #3 {"azureoid":"s","inactive":false,"name":"Name s"} reactivate"#,
                "unchanged=0",
                "withheld Threshold { candidates: 2, linked_active: 4, max_deactivations: 1000, max_percent: 49.0 }",
            ],
        ),
        // --- determinism (rule 9) and unchanged (rule 10) ---
        case(
            "output follows input order",
            vec![
                want("z", "zed@x.com"),
                want("m", "max@x.com").with("title", Some(json!("T"))),
                want("a", "ann@x.com"),
                want("q", "q@x.com").disabled(),
                want("k", "kim@x.com").with("title", Some(json!("T"))),
                want("p", "pat@x.com").disabled(),
            ],
            vec![
                have(5, Some("k"), "kim@x.com"),
                have(6, Some("y"), "yan@x.com"),
                have(4, Some("m"), "max@x.com"),
                have(3, Some("x"), "xi@x.com"),
            ],
            opts(),
            &[
                r#"create z {"azureoid":"z","emailaddress":"zed@x.com","name":"Name z"}"#,
                r#"create a {"azureoid":"a","emailaddress":"ann@x.com","name":"Name a"}"#,
                r#"update #4 {"title":"T"}"#,
                r#"update #5 {"title":"T"}"#,
                "deactivate #6 MissingFromSource",
                "deactivate #3 MissingFromSource",
                "skip q: DisabledNotInHalo",
                "skip p: DisabledNotInHalo",
                "unchanged=0",
            ],
        ),
        case(
            "withheld disabled record counts as unchanged",
            vec![want("a", "ann@x.com").disabled()],
            vec![have(1, Some("a"), "ann@x.com")],
            incomplete(),
            &["unchanged=1", "withheld SourceIncomplete { candidates: 1 }"],
        ),
    ]
}

/// A disabled account found by e-mail (#1), a reactivation (#2), an inactive record found by
/// e-mail (#3), a hand-made record (#4, never in the base) and a missing one (#5).
fn base_growth() -> Vec<Desired> {
    vec![
        want("d", "dan@x.com").disabled(),
        want("r", "rea@x.com"),
        want("s", "sam@x.com"),
    ]
}

fn base_growth_current() -> Vec<Current> {
    vec![
        have(1, None, "dan@x.com"),
        have(2, Some("r"), "rea@x.com").inactive(),
        have(3, None, "sam@x.com").inactive(),
        have(4, None, "hand@x.com"),
        have(5, Some("gone"), "gone@x.com"),
    ]
}

impl Desired {
    fn no_secondary(mut self) -> Self {
        self.secondary = None;
        self
    }
}

#[test]
fn plan_table() {
    for case in cases() {
        let plan = plan(&SPEC, &case.desired, &case.current, &case.opts);
        assert_eq!(render(&plan), case.expect, "case: {}", case.name);
        assert_eq!(plan.entity, "user");
    }
}

/// A key index keeps `current` order under a key and trusts only the records' own keys: a
/// record whose hash collides is checked and left out.
#[test]
fn key_index_checks_each_candidate() {
    let a = source_key("a");
    let index = KeyIndex::new([(a, 2), (source_key("b"), 3), (a, 0), (a, 1)].into_iter());
    let found = index.get("a", |i| i != 1).map(|f| f.as_slice().to_vec());
    assert_eq!(found, Some(vec![0, 2]));
    let one = index.get("a", |i| i == 2).map(|f| f.as_slice().to_vec());
    assert_eq!(one, Some(vec![2]));
    assert!(index.get("a", |_| false).is_none());
    assert!(index.get("c", |_| true).is_none());
}

/// Settles `current` as an import does while Halo's records arrive, then drops the fields
/// of the settled desired records; returns which were settled.
fn settle_all(desired: &mut [Desired], current: &mut [Current]) -> Vec<bool> {
    let mut settle = Settle::new(desired.iter().map(|d| d.source_id.as_str()));
    for c in current.iter_mut() {
        if let Some(i) = settle.candidate(c) {
            settle.record(&SPEC, i, &desired[i], c);
        }
    }
    let settled = settle.settled().to_vec();
    for (d, _) in desired.iter_mut().zip(&settled).filter(|(_, s)| **s) {
        d.fields = Fields::new();
    }
    settled
}

/// Every table case plans the same with its records settled, and the settled records are
/// exactly those linked to their source id with nothing to write.
#[test]
fn settling_keeps_every_table_plan() {
    for case in cases() {
        let mut desired = case.desired.clone();
        let mut current = case.current.clone();
        settle_all(&mut desired, &mut current);
        let settled = plan(&SPEC, &desired, &current, &case.opts);
        assert_eq!(render(&settled), case.expect, "case: {}", case.name);
    }
    let mut desired = vec![
        want("oid-1", "ann@x.example"),
        want("oid-2", "bob@x.example").with("title", Some(json!("CTO"))),
        want("oid-3", "cy@x.example"),
    ];
    let mut current = [
        have(1, Some("oid-1"), "ann@x.example"),
        have(2, Some("oid-2"), "bob@x.example"),
        have(3, None, "cy@x.example"),
    ];
    assert_eq!(
        settle_all(&mut desired, &mut current),
        [true, false, false],
        "in sync / a changed title / not linked"
    );
    assert!(desired[0].fields.is_empty() && current[0].fields.is_empty());
    assert!(!desired[1].fields.is_empty() && !desired[2].fields.is_empty());
}

#[test]
fn second_plan_after_applying_the_first_is_empty() {
    for case in cases() {
        let first = plan(&SPEC, &case.desired, &case.current, &case.opts);
        let applied = apply(&first, &case.desired, &case.current);
        let second = plan(&SPEC, &case.desired, &applied, &case.opts);
        assert!(
            second.is_empty(),
            "case: {}\nsecond plan: {:?}",
            case.name,
            render(&second)
        );
        assert_eq!(
            second.skipped.len(),
            first.skipped.len(),
            "case: {}",
            case.name
        );
    }
}

/// `n` linked, active, identical Halo users `u0..`, and the source records of the first
/// `keep` of them (the rest are missing from the source).
fn population(n: usize, keep: usize) -> (Vec<Desired>, Vec<Current>) {
    let current: Vec<Current> = (0..n)
        .map(|i| have(i as i64 + 1, Some(&format!("u{i}")), &format!("u{i}@x.com")))
        .collect();
    let desired = (0..keep)
        .map(|i| want(&format!("u{i}"), &format!("u{i}@x.com")))
        .collect();
    (desired, current)
}

#[test]
fn thresholds() {
    // (name, linked active, missing, max count, max percent, tripped)
    let rows: &[(&str, usize, usize, u64, f64, bool)] = &[
        ("count exactly at the limit", 10, 3, 3, 100.0, false),
        ("count one over the limit", 10, 4, 3, 100.0, true),
        ("percent exactly at the limit", 20, 2, 50, 10.0, false),
        ("percent one over the limit", 20, 3, 50, 10.0, true),
        ("fractional percent at the limit", 40, 1, 50, 2.5, false),
        ("fractional percent over the limit", 40, 2, 50, 2.5, true),
        ("both limits exceeded", 10, 10, 5, 50.0, true),
        ("zero candidates never trip", 10, 0, 0, 0.0, false),
        ("zero candidates, nothing linked", 0, 0, 0, 0.0, false),
        ("max 0 blocks any deactivation", 10, 1, 0, 100.0, true),
        ("everyone missing at 100 percent", 10, 10, 50, 100.0, false),
        ("default limits, 5 of 50", 50, 5, 50, 10.0, false),
        ("default limits, 6 of 50", 50, 6, 50, 10.0, true),
    ];
    for &(name, linked, missing, max, percent, tripped) in rows {
        let (desired, current) = population(linked, linked - missing);
        let opts = PlanOptions {
            max_deactivations: max,
            max_deactivation_percent: percent,
            ..opts()
        };
        let plan = plan(&SPEC, &desired, &current, &opts);
        assert_eq!(plan.unchanged, linked - missing, "{name}");
        if tripped {
            assert!(plan.deactivations.is_empty(), "{name}");
            assert_eq!(
                plan.withheld,
                Some(Withheld::Threshold {
                    candidates: missing,
                    linked_active: linked,
                    max_deactivations: max,
                    max_percent: percent,
                }),
                "{name}"
            );
        } else {
            assert_eq!(plan.deactivations.len(), missing, "{name}");
            assert_eq!(plan.withheld, None, "{name}");
        }
    }
}

#[test]
fn inactive_and_unlinked_records_are_not_in_the_threshold_base() {
    // 10 linked active + many inactive / hand-made: 2 missing of 10 is 20 % > 10 %.
    let (desired, mut current) = population(10, 8);
    current.extend((0..50).map(|i| have(100 + i, None, &format!("h{i}@x.com"))));
    current.extend((0..50).map(|i| have(200 + i, Some(&format!("gone{i}")), "g@x.com").inactive()));
    let opts = PlanOptions {
        max_deactivation_percent: 10.0,
        ..opts()
    };
    let plan = plan(&SPEC, &desired, &current, &opts);
    assert!(matches!(
        plan.withheld,
        Some(Withheld::Threshold {
            candidates: 2,
            linked_active: 10,
            ..
        })
    ));
}

#[test]
fn counts_and_display() {
    let desired = vec![
        want("new", "new@x.com"),
        want("chg", "chg@x.com").with("title", Some(json!("T"))),
        want("rea", "rea@x.com"),
        want("same", "same@x.com"),
        want("off", "off@x.com").disabled(),
        want("", "nobody@x.com"),
    ];
    let current = vec![
        have(1, Some("chg"), "chg@x.com"),
        have(2, Some("rea"), "rea@x.com").inactive(),
        have(3, Some("same"), "same@x.com"),
        have(4, Some("off"), "off@x.com"),
        have(5, Some("gone"), "gone@x.com"),
    ];
    let plan = plan(&SPEC, &desired, &current, &opts());
    let counts = plan.counts();
    assert_eq!(
        counts,
        PlanCounts {
            create: 1,
            update: 1,
            deactivate: 2,
            reactivate: 1,
            unchanged: 1,
            skipped: 1,
        }
    );
    assert_eq!(
        counts.to_string(),
        "create=1 update=1 deactivate=2 reactivate=1 unchanged=1 skipped=1"
    );
    assert!(!plan.is_empty());
    assert!(Plan::default().is_empty());
    assert_eq!(
        Plan::default().counts().to_string(),
        "create=0 update=0 deactivate=0 reactivate=0 unchanged=0 skipped=0"
    );
}

#[test]
fn is_empty_ignores_skips_and_withheld() {
    let plan = plan(
        &SPEC,
        &[want("a", "a@x.com").disabled()],
        &[have(9, Some("b"), "b@x.com")],
        &incomplete(),
    );
    assert_eq!(plan.skipped.len(), 1);
    assert!(plan.withheld.is_some());
    assert!(plan.is_empty());
}

#[test]
fn deactivations_name_the_source_record() {
    let plan = plan(
        &SPEC,
        &[want("a", "ann@x.com").disabled()],
        &[have(1, None, "ann@x.com"), have(2, Some("b"), "bob@x.com")],
        &opts(),
    );
    let named: Vec<(i64, &str, &str, DeactivateReason)> = plan
        .deactivations
        .iter()
        .map(|d| (d.id, d.source_id.as_str(), d.label.as_str(), d.reason))
        .collect();
    assert_eq!(
        named,
        [
            (1, "a", "ann@x.com", DeactivateReason::DisabledInSource),
            (2, "b", "bob@x.com", DeactivateReason::MissingFromSource),
        ]
    );
}

#[test]
fn plan_serializes_readably() {
    let plan = plan(
        &SPEC,
        &[
            want("a", "ann@x.com"),
            want("b", "bob@x.com"),
            want("b", "bob@x.com"),
        ],
        &[
            have(1, Some("a"), "ann@x.com").inactive(),
            have(2, Some("c"), "c@x.com"),
        ],
        &incomplete(),
    );
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        json!({
            "entity": "user",
            "creates": [],
            "updates": [{
                "id": 1,
                "source_id": "a",
                "label": "ann@x.com",
                "changes": {"inactive": false},
                "previous": {"inactive": true},
                "reactivate": true,
            }],
            "deactivations": [],
            "unchanged": 0,
            "skipped": [
                {"source_id": "b", "label": "bob@x.com", "reason": {"kind": "duplicate_in_source"}},
                {"source_id": "b", "label": "bob@x.com", "reason": {"kind": "duplicate_in_source"}},
            ],
            "withheld": {"kind": "source_incomplete", "candidates": 1},
        })
    );
    assert_eq!(
        serde_json::to_value(plan.counts()).unwrap(),
        json!({"create": 0, "update": 0, "deactivate": 0, "reactivate": 1, "unchanged": 0, "skipped": 2})
    );
    let deactivate = Deactivate {
        id: 1,
        source_id: "a".into(),
        label: "a".into(),
        reason: DeactivateReason::MissingFromSource,
    };
    assert_eq!(
        serde_json::to_value(deactivate).unwrap()["reason"],
        "missing_from_source"
    );
}

#[test]
fn skip_reasons_tell_the_operator_what_to_fix() {
    let rows: Vec<(SkipReason, &[&str])> = vec![
        (SkipReason::MissingSourceId, &["no id"]),
        (SkipReason::DuplicateInSource, &["more than once"]),
        (
            SkipReason::DisabledNotInHalo,
            &["disabled", "never created"],
        ),
        (
            SkipReason::AmbiguousLink { ids: vec![1, 2] },
            &["1, 2", "clear the link"],
        ),
        (
            SkipReason::AmbiguousSecondary {
                key: "a@x.com".into(),
                ids: vec![3, 4],
            },
            &["3, 4", "\"a@x.com\"", "link field"],
        ),
        (
            SkipReason::SecondaryLinkedToOther {
                key: "a@x.com".into(),
                linked: vec![LinkedRecord {
                    id: 5,
                    source_id: "old".into(),
                }],
            },
            &["5 (linked to old)", "\"a@x.com\"", "clear the link field"],
        ),
        (
            SkipReason::ContestedSecondary {
                key: "a@x.com".into(),
                id: 6,
                source_ids: vec!["a".into(), "b".into()],
            },
            &["a, b", "record 6", "\"a@x.com\""],
        ),
    ];
    for (reason, needles) in rows {
        let text = reason.to_string();
        for needle in needles {
            assert!(text.contains(needle), "{text:?} lacks {needle:?}");
        }
    }
    assert_eq!(
        DeactivateReason::DisabledInSource.to_string(),
        "disabled in the source"
    );
    assert_eq!(
        DeactivateReason::MissingFromSource.to_string(),
        "no longer in the source"
    );
    let threshold = Withheld::Threshold {
        candidates: 7,
        linked_active: 20,
        max_deactivations: 5,
        max_percent: 10.0,
    };
    assert_eq!(
        threshold.to_string(),
        "7 deactivation(s) withheld: more than the safety threshold of 5 or 10% of 20 linked \
         active records"
    );
    assert_eq!(
        Withheld::SourceIncomplete { candidates: 2 }.to_string(),
        "2 deactivation(s) withheld: the source read was incomplete"
    );
}

#[test]
fn asset_spec_works_the_same() {
    const ASSETS: EntitySpec = EntitySpec {
        entity: "asset",
        link_field: "intune_id",
        case_insensitive: &[],
    };
    let desired = [Desired {
        source_id: "dev-1".into(),
        secondary: Some("SN-001".into()),
        label: "LAPTOP-1".into(),
        enabled: true,
        fields: Fields::from([("inventory_number", json!("LAPTOP-1"))]),
        create_only: Fields::new(),
    }];
    let current = [Current {
        id: 42,
        source_id: None,
        secondary: Some("sn-001 ".into()),
        inactive: false,
        fields: Fields::from([("inventory_number", json!("laptop-1"))]),
    }];
    let plan = plan(&ASSETS, &desired, &current, &opts());
    assert_eq!(plan.entity, "asset");
    assert_eq!(
        render(&plan),
        [
            r#"update #42 {"intune_id":"dev-1","inventory_number":"LAPTOP-1"}"#,
            "unchanged=0"
        ]
    );
}

#[test]
fn create_only_fields_go_into_creates_and_never_into_updates() {
    let with_people = |oid: &str, email: &str| {
        let mut d = want(oid, email);
        d.create_only = Fields::from([
            ("users".to_owned(), json!([{"id": 7}])),
            ("blank".to_owned(), json!("  ")),
        ]);
        d
    };
    // New: the create carries them (blank ones left out). Existing, linked and equal: no
    // write, whatever Halo holds for them. Existing and changed: the update has only the
    // compared fields. Matched by e-mail: the link, never the create-only fields.
    let desired = [
        with_people("new", "new@x.com"),
        with_people("same", "same@x.com"),
        with_people("chg", "chg@x.com").with("name", Some(json!("Renamed"))),
        with_people("mail", "mail@x.com"),
    ];
    let current = [
        have(1, Some("same"), "same@x.com"),
        have(2, Some("chg"), "chg@x.com"),
        have(3, None, "mail@x.com"),
    ];
    let plan = plan(&SPEC, &desired, &current, &opts());
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.creates[0].fields["users"], json!([{"id": 7}]));
    assert!(!plan.creates[0].fields.contains_key("blank"));
    assert_eq!(plan.unchanged, 1);
    assert_eq!(plan.updates.len(), 2);
    for u in &plan.updates {
        assert!(!u.changes.contains_key("users"), "{u:?}");
    }
}

/// Property-based tests: random source and Halo states — duplicates already in Halo,
/// case-variant e-mails, missing fields, inactive records — against the engine's
/// promises. Failing cases are kept in `proptest-regressions/` and replayed first.
mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::select;

    const OIDS: &[&str] = &["a", "b", "c", "d", "e", "f"];
    const EMAILS: &[&str] = &[
        "ann@x.com",
        "ANN@x.com",
        " bob@x.com",
        "cy@x.com",
        "dee@x.com",
    ];
    const VALUES: &[&str] = &["", "Boss", "Intern", "  Boss "];

    fn value() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            select(VALUES).prop_map(|v| Some(json!(v))),
        ]
    }

    fn desired() -> impl Strategy<Value = Desired> {
        (
            select(OIDS),
            proptest::option::of(select(EMAILS)),
            any::<bool>(),
            value(),
        )
            .prop_map(|(oid, email, enabled, title)| {
                let mut d = want(oid, email.unwrap_or("")).with("title", title);
                if email.is_none() {
                    d.secondary = None;
                    d.fields.remove("emailaddress");
                }
                d.enabled = enabled || oid < "c";
                d
            })
    }

    fn current() -> impl Strategy<
        Value = (
            Option<&'static str>,
            Option<&'static str>,
            bool,
            Option<Value>,
        ),
    > {
        (
            proptest::option::of(select(OIDS)),
            proptest::option::of(select(EMAILS)),
            any::<bool>(),
            value(),
        )
    }

    fn currents() -> impl Strategy<Value = Vec<Current>> {
        proptest::collection::vec(current(), 0..8).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (oid, email, inactive, title))| {
                    let mut c = have(i as i64 + 1, oid, email.unwrap_or("")).with("title", title);
                    if email.is_none() {
                        c.secondary = None;
                        c.fields.remove("emailaddress");
                    }
                    c.inactive = inactive;
                    c
                })
                .collect()
        })
    }

    fn options() -> impl Strategy<Value = PlanOptions> {
        (any::<bool>(), any::<bool>(), 0u64..6, 0.0f64..=100.0).prop_map(
            |(deactivate_missing, source_complete, max_deactivations, max_deactivation_percent)| {
                PlanOptions {
                    deactivate_missing,
                    source_complete,
                    max_deactivations,
                    max_deactivation_percent,
                }
            },
        )
    }

    fn same_key(a: &Option<String>, b: &Option<String>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => {
                let (a, b) = (a.trim(), b.trim());
                !a.is_empty() && a.eq_ignore_ascii_case(b)
            }
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Applying a plan and planning again writes nothing (thresholds out of the way).
        #[test]
        fn applying_a_plan_converges(desired in proptest::collection::vec(desired(), 0..8), current in currents(), mut opts in options()) {
            opts.max_deactivations = u64::MAX;
            opts.max_deactivation_percent = 100.0;
            let first = plan(&SPEC, &desired, &current, &opts);
            let after = apply(&first, &desired, &current);
            let second = plan(&SPEC, &desired, &after, &opts);
            prop_assert!(second.is_empty(), "second plan not empty: {:?}\nfirst: {:?}", render(&second), render(&first));
        }

        /// Settling the records in sync as Halo's records arrive changes no plan, whether
        /// few records are in sync (as generated) or most (after applying a plan).
        #[test]
        fn settling_changes_no_plan(desired in proptest::collection::vec(desired(), 0..8), current in currents(), opts in options()) {
            let first = plan(&SPEC, &desired, &current, &opts);
            let after = apply(&first, &desired, &current);
            for current in [current, after] {
                let expected = plan(&SPEC, &desired, &current, &opts);
                let mut settled_desired = desired.clone();
                let mut settled_current = current.clone();
                settle_all(&mut settled_desired, &mut settled_current);
                let got = plan(&SPEC, &settled_desired, &settled_current, &opts);
                prop_assert_eq!(format!("{got:?}"), format!("{expected:?}"));
            }
        }

        /// No create duplicates a record whose match key Halo already has, no record is
        /// written twice, and deactivations respect the switches and the thresholds.
        #[test]
        fn plans_never_duplicate_and_respect_safety(desired in proptest::collection::vec(desired(), 0..8), current in currents(), opts in options()) {
            let p = plan(&SPEC, &desired, &current, &opts);
            for c in &p.creates {
                prop_assert!(!current.iter().any(|h| h.source_id.as_deref() == Some(c.source_id.as_str())), "create of a linked id {}", c.source_id);
                let d = desired.iter().find(|d| d.source_id == c.source_id).unwrap();
                prop_assert!(d.enabled, "disabled account created");
                // An existing record may hold the e-mail only if this plan moves it away
                // (its own source record changed address).
                let after = apply(&p, &desired, &current);
                let holders = current.iter().filter(|h| {
                    let now = after.iter().find(|a| a.id == h.id).unwrap();
                    same_key(&h.secondary, &d.secondary) && same_key(&now.secondary, &d.secondary)
                });
                prop_assert_eq!(holders.count(), 0, "create of an e-mail Halo already has: {:?}", d.secondary);
            }
            let mut updated: Vec<i64> = p.updates.iter().map(|u| u.id).collect();
            updated.sort();
            updated.dedup();
            prop_assert_eq!(updated.len(), p.updates.len(), "a record updated twice");
            if !opts.deactivate_missing || !opts.source_complete {
                prop_assert!(p.deactivations.is_empty());
            }
            prop_assert!(p.deactivations.len() as u64 <= opts.max_deactivations);
            for d in &p.deactivations {
                let record = current.iter().find(|c| c.id == d.id).unwrap();
                let linked = record.source_id.as_deref().is_some_and(|s| !s.is_empty())
                    || p.updates.iter().any(|u| u.id == d.id && u.changes.contains_key(SPEC.link_field));
                prop_assert!(linked, "deactivation of a record not linked to the source: {:?}", record);
                prop_assert!(!record.inactive, "deactivation of an inactive record");
            }
        }
    }
}
