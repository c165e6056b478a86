//! The `entra-users` import: the users of every linked Microsoft Entra ID tenant become
//! Halo users of the client mapped to that tenant (docs/contracts.md, Sync semantics).

use std::collections::HashSet;

use tracing::Instrument;

pub mod options;
pub mod user_links;

use super::mapped::{ClientMapping, CustomFields, StoredCustomFields, check_clients};
use super::packed::{Extra, Packed, PackedSource};
use super::targets::{
    Job, Source, Target, check_tenants, fail, plan_and_apply, run_tenants, source_records,
};
use super::unit::Import;
use super::{Context, ImportReport, TargetReport, text};
use crate::check::Verdicts;
use crate::config::{Common, Env, Validator};
use crate::halo::User;
use crate::mapping::{ImportMapping, UserSection};
use crate::outcome::{Failure, Severity};
use crate::sources::graph::{Graph, GraphUser};
use crate::sync::{Current, Desired, EntitySpec, Fields, Name};
use options::EntraUsersOptions;
use user_links::Links;

pub const SPEC: EntitySpec = EntitySpec {
    entity: "user",
    link_field: "azureoid",
    case_insensitive: &["emailaddress"],
};

/// The Halo fields of a user, in the order of the mapping table (docs/contracts.md).
const FIELDS: [&str; 7] = super::USER_TEXT_FIELDS;

/// Whether a Graph user is in scope: guests only when `ENTRA_USERS_INCLUDE_GUESTS`.
pub fn in_scope(user: &GraphUser, include_guests: bool) -> bool {
    include_guests
        || !user
            .user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("guest"))
}

/// A Graph user as the Halo user it should be. `None` for a user without an id.
pub fn desired(user: &GraphUser) -> Option<Desired> {
    let id = user.id.trim();
    if id.is_empty() {
        return None;
    }
    let email = user
        .mail
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .or(user.user_principal_name.as_deref());
    let fields: Fields = FIELDS
        .into_iter()
        .zip([
            user.display_name.as_deref(),
            user.given_name.as_deref(),
            user.surname.as_deref(),
            email,
            user.job_title.as_deref(),
            user.business_phones.first().map(String::as_str),
            user.mobile_phone.as_deref(),
        ])
        .map(|(name, value)| (name, text(value)))
        .collect();
    Some(Desired {
        source_id: id.to_ascii_lowercase(),
        secondary: email
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty()),
        label: user
            .user_principal_name
            .clone()
            .or_else(|| user.display_name.clone())
            .unwrap_or_else(|| id.to_string()),
        // An account whose state Graph did not say is treated as enabled: the safe side
        // (never a deactivation on missing data).
        enabled: user.account_enabled.unwrap_or(true),
        fields,
        create_only: Fields::new(),
    })
}

/// A Halo user as the sync engine compares it, with its link as the link report read it
/// (the list model has no `azureoid`).
pub fn current(user: &User, link: Option<String>) -> Current {
    let fields: Fields = FIELDS
        .into_iter()
        .zip([
            user.name.as_deref(),
            user.firstname.as_deref(),
            user.surname.as_deref(),
            user.emailaddress.as_deref(),
            user.title.as_deref(),
            user.phonenumber.as_deref(),
            user.mobilenumber.as_deref(),
        ])
        .map(|(name, value)| (name, text(value)))
        .collect();
    Current {
        id: user.id,
        source_id: link,
        secondary: user.emailaddress.clone(),
        inactive: user.inactive,
        fields,
    }
}

/// A packed user: source id, secondary key, label and [`FIELDS`].
type PackedUser = Packed<{ 3 + FIELDS.len() }>;

/// The `entra-users` import.
pub struct EntraUsers;

const JOB: Job = Job {
    import: EntraUsers::NAME,
    spec: &SPEC,
    route: "Users",
};

impl Import for EntraUsers {
    const NAME: &'static str = "entra-users";
    const NEEDS_ENTRA: bool = true;
    const VARS: &'static [crate::config::vars::Var] = options::VARS;
    type Section = UserSection;
    type Options = EntraUsersOptions;
    /// The users' custom field definitions, read once per run when a section names one.
    type Resolved = CustomFields;

    fn options(
        env: &Env,
        v: &mut Validator,
        common: &Common,
        mapping: ImportMapping<UserSection>,
    ) -> Option<EntraUsersOptions> {
        options::options(env, v, common, mapping)
    }

    async fn run(
        ctx: &Context<'_>,
        options: &EntraUsersOptions,
        custom_fields: &CustomFields,
    ) -> ImportReport {
        run_tenants(ctx, &JOB, async |graph: &Graph, target: &Target| {
            sync_tenant(ctx, options, custom_fields, graph, target).await
        })
        .await
    }

    /// The link report (reporting permission, rows that agree with a paged read) on the
    /// first tenant's client; per tenant, its users readable.
    async fn check(ctx: &Context<'_>, options: &EntraUsersOptions, v: &mut Verdicts) {
        match ctx.directory.targets.first() {
            Some(t) => v.add(
                format_args!("{} user links", Self::NAME),
                user_links::probe(ctx.halo, &t.client)
                    .await
                    .map_err(|e| e.message),
            ),
            None => v.add(Self::NAME, Err("no tenant to sync".into())),
        }
        let clients = ctx.directory.targets.iter().map(|t| &t.client);
        check_clients(
            ctx.halo,
            JOB.route,
            Self::NAME,
            &options.mapping,
            clients,
            &[],
            v,
        )
        .await;
        check_tenants(ctx, v, Self::NAME, "users", async |graph, tenant| {
            graph
                .probe_users(
                    tenant,
                    options.filter.as_deref(),
                    &options.mapping.properties(),
                )
                .await
                .map(drop)
        })
        .await;
    }
}

async fn sync_tenant(
    ctx: &Context<'_>,
    options: &EntraUsersOptions,
    custom_fields: &CustomFields,
    graph: &Graph,
    target: &Target,
) -> TargetReport {
    let client = &target.client;
    let section = options
        .mapping
        .for_client(client.id, client.name.as_deref().unwrap_or_default());
    let mapping =
        match ClientMapping::resolve(ctx.halo, JOB.route, &section, client, &[], custom_fields)
            .instrument(tracing::info_span!("resolve_mapping"))
            .await
        {
            Ok(mapping) => mapping,
            Err(e) => return fail(&JOB, target, e),
        };

    // Each page is mapped as it arrives: the raw Graph users of a tenant are never all kept,
    // and the mapped ones are packed (what the mapping file adds is kept beside them).
    let names = FIELDS.map(Name::from).to_vec();
    let mut extras = Vec::new();
    let mut unplaced = HashSet::new();
    let mut count = 0;
    let read = graph
        .users(
            &target.id,
            options.filter.as_deref(),
            &options.mapping.properties(),
            |u| {
                let mut d = in_scope(&u, options.include_guests)
                    .then(|| desired(&u))
                    .flatten()?;
                if !mapping.apply(&|name: &str| u.property(name), &mut d) {
                    unplaced.insert(d.source_id.clone());
                }
                if let Some(extra) = Extra::split(&mut d, &names) {
                    extras.push((count, extra));
                }
                count += 1;
                Some(PackedUser::new(d, &names))
            },
        )
        .instrument(tracing::info_span!("read_source", source = "graph"))
        .await;
    let (packed, problem) = match source_records(&JOB, target, read) {
        Ok(read) => read,
        Err(report) => return *report,
    };

    // Users in sync are settled as their Halo page arrives: neither side keeps their fields.
    let mut source = PackedSource::new(packed, names).with_extras(extras);
    let mut stored = StoredCustomFields::default();
    let read_halo = async {
        let links = Links::read(ctx.halo, client.id).await?;
        let mut disagreement = None;
        let mut current = ctx
            .halo
            .users_of_client_as(client.id, |mut u| {
                let link = links.link_of(&u).unwrap_or_else(|d| {
                    disagreement.get_or_insert(d);
                    None
                });
                let mut current = current(&u, link);
                mapping.current(&u, &mut current);
                let settled = source.settle(&SPEC, &mut current);
                if !settled && mapping.writes_custom_fields() {
                    stored.keep(u.id, u.customfields.take());
                }
                current
            })
            .await
            .map_err(|e| Failure::halo_read("users", &e))?;
        if let Some(d) = disagreement {
            return Err(Failure {
                severity: Severity::Failed,
                message: format!(
                    "the user-link report does not agree with Halo's user list ({d}); links \
                     cannot be trusted, so nothing was written (a user edited during the run \
                     clears on the next run)"
                ),
            });
        }
        stored
            .complete(ctx.halo, "Users", |id, values| {
                let record = User {
                    customfields: Some(values.to_vec()),
                    ..User::default()
                };
                if let Some(c) = current.iter_mut().find(|c| c.id == id) {
                    mapping.current(&record, c);
                }
            })
            .await?;
        Ok(current)
    };
    let current: Vec<Current> = match read_halo.instrument(tracing::info_span!("read_halo")).await {
        Ok(current) => current,
        Err(e) => return fail(&JOB, target, e),
    };
    let desired = source.into_desired();

    // The same link source as the first read: the report.
    let reread = async || Links::reread(ctx.halo, client.id).await;
    let source = Source {
        desired,
        problem,
        unplaced,
    };
    let shape = |id, item| stored.shape(id, item);
    plan_and_apply(ctx, &JOB, target, source, &current, Some(&shape), reread).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn graph_user(json: &str) -> GraphUser {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn mapping_follows_the_design_table() {
        let u = graph_user(
            r#"{"id":"ABC-1","displayName":"Ann Lee","givenName":"Ann","surname":"Lee","mail":null,
                "userPrincipalName":"ann@contoso.example","accountEnabled":false,"jobTitle":" CTO ",
                "businessPhones":["+1 555 0100","+1 555 0101"],"mobilePhone":"","userType":"Member"}"#,
        );
        let d = desired(&u).unwrap();
        assert_eq!(d.source_id, "abc-1");
        assert_eq!(
            d.secondary.as_deref(),
            Some("ann@contoso.example"),
            "UPN when mail is null"
        );
        assert!(!d.enabled);
        assert_eq!(d.fields["name"], "Ann Lee");
        assert_eq!(d.fields["title"], "CTO");
        assert_eq!(d.fields["phonenumber"], "+1 555 0100");
        assert_eq!(
            d.fields["mobilenumber"],
            Value::Null,
            "empty means no value"
        );
        assert_eq!(d.label, "ann@contoso.example");
    }

    #[test]
    fn guests_are_out_of_scope_unless_included() {
        let guest = graph_user(r#"{"id":"g","userType":"Guest"}"#);
        let member = graph_user(r#"{"id":"m","userType":"Member"}"#);
        let unknown = graph_user(r#"{"id":"u"}"#);
        assert!(!in_scope(&guest, false));
        assert!(in_scope(&guest, true));
        assert!(in_scope(&member, false));
        assert!(in_scope(&unknown, false));
    }

    #[test]
    fn users_without_id_are_ignored_and_unknown_state_is_enabled() {
        assert!(desired(&graph_user(r#"{"id":"  "}"#)).is_none());
        assert!(desired(&graph_user(r#"{"id":"x"}"#)).unwrap().enabled);
    }
}
