//! The `ldap-users` import: the user entries of an LDAP directory (Active Directory or
//! OpenLDAP) become Halo users of the client their DN maps to, planned per Halo client with
//! the same engine, apply step and safety rules as `entra-users`.
//!
//! Decisions where docs/contracts.md leaves room:
//! * **Link key.** `objectGUID` (AD, in its display form) or else `entryUUID` (OpenLDAP),
//!   lower-cased, stored in the Halo user field `LDAP_LINK_FIELD` (one of `other1`..`other5`); then
//!   e-mail within the client, then create. Entries without either id are skipped by the
//!   engine (never created: they could not be matched again).
//! * **Clients.** `LDAP_CLIENT_MAP` maps DN suffixes (an OU or a domain) to Halo clients;
//!   the longest matching suffix wins; `LDAP_CLIENT` takes the entries no suffix covers.
//!   Entries covered by neither are out of scope (not read into any plan). A name or id
//!   that matches no active Halo client is a configuration error (exit 2) naming the
//!   variable. Every mapped client is planned, so leavers are found even when a whole OU
//!   is emptied.
//! * **Disabled accounts**: `userAccountControl` with the ACCOUNTDISABLE bit (2) are
//!   disabled in the source: never created, deactivated (with
//!   `INTEGRATOR_DEACTIVATE_MISSING`) when linked. OpenLDAP entries have no such attribute
//!   and count as enabled.
//! * **Partial reads**: an error after some pages syncs what was read and deactivates
//!   nothing in that run.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};
use tokio::time::Instant;
use tracing::Instrument;

pub mod options;

use super::clients::Clients;
use super::targets::{
    Job, Source, Target, TargetKind, halo_read_failed, plan_and_apply, run_targets,
};
use super::unit::Import;
use super::{Context, ImportReport, TargetReport, text};
use crate::check::Verdicts;
use crate::config::{Common, Env, Validator};
use crate::halo::{Client, Halo, HaloError, User};
use crate::mapping::{ImportMapping, UserSection};
use crate::outcome::{Classify, Failure};
use crate::sources::ldap::{self, LdapUser};
use crate::sync::{Current, Desired, EntitySpec, Fields};

/// The plan's name for the link; [`shape`] renames it to `LDAP_LINK_FIELD`.
const LINK: &str = "ldap_users_link";

pub const SPEC: EntitySpec = EntitySpec {
    entity: "user",
    link_field: LINK,
    case_insensitive: &["emailaddress"],
};

pub use options::{LdapUsersOptions, normalize_dn};

/// The `ldap-users` import.
pub struct LdapUsers;

const JOB: Job = Job {
    import: LdapUsers::NAME,
    spec: &SPEC,
    route: "Users",
};

impl Import for LdapUsers {
    const NAME: &'static str = "ldap-users";
    const NEEDS_ENTRA: bool = false;
    const VARS: &'static [crate::config::vars::Var] = options::VARS;
    type Section = UserSection;
    type Options = LdapUsersOptions;
    type Resolved = ();

    fn options(
        env: &Env,
        v: &mut Validator,
        common: &Common,
        mapping: ImportMapping<UserSection>,
    ) -> Option<LdapUsersOptions> {
        options::options(env, v, common, mapping)
    }

    async fn run(ctx: &Context<'_>, options: &LdapUsersOptions, (): &()) -> ImportReport {
        run(ctx, options).await
    }

    /// The mapped clients, the bind and the search; the link field.
    async fn check(ctx: &Context<'_>, options: &LdapUsersOptions, v: &mut Verdicts) {
        v.add(Self::NAME, check(options, ctx.halo).await);
        v.add(
            format_args!("{} link field", Self::NAME),
            Ok(format!(
                "{} is a free-text property of Halo's Users and Users_List models: \
                 the paged user read carries it back",
                options.link_field
            )),
        );
    }
}

/// DN suffixes → Halo clients, resolved against Halo's clients.
pub struct ClientMap<'a> {
    /// Normalized DN suffix → client, longest first.
    suffixes: Vec<(String, &'a Client)>,
    default: Option<&'a Client>,
}

impl<'a> ClientMap<'a> {
    /// Resolves `LDAP_CLIENT_MAP` and `LDAP_CLIENT`; an unknown client names its variable.
    pub fn new(options: &LdapUsersOptions, clients: &Clients<'a>) -> Result<Self, String> {
        let mut suffixes = Vec::new();
        for (dn, name) in &options.client_map {
            let client = clients
                .find(name)
                .map_err(|e| format!("LDAP_CLIENT_MAP: {dn}: {e}"))?;
            suffixes.push((dn.clone(), client));
        }
        suffixes.sort_by_key(|(dn, _)| std::cmp::Reverse(dn.len()));
        let default = match &options.client {
            Some(name) => Some(
                clients
                    .find(name)
                    .map_err(|e| format!("LDAP_CLIENT: {e}"))?,
            ),
            None => None,
        };
        Ok(ClientMap { suffixes, default })
    }

    /// The client of an entry, by its DN.
    pub fn client_of(&self, dn: &str) -> Option<&'a Client> {
        let dn = normalize_dn(dn);
        self.suffixes
            .iter()
            .find(|(suffix, _)| dn == *suffix || dn.ends_with(&format!(",{suffix}")))
            .map(|(_, c)| *c)
            .or(self.default)
    }

    /// Every mapped client, once, by name.
    fn clients(&self) -> Vec<&'a Client> {
        let mut all: Vec<&Client> = self.suffixes.iter().map(|(_, c)| *c).collect();
        all.extend(self.default);
        all.sort_by_key(|c| (c.name.clone(), c.id));
        all.dedup_by_key(|c| c.id);
        all
    }
}

/// A directory entry as the Halo user it should be.
pub fn desired(user: &LdapUser, options: &LdapUsersOptions) -> Desired {
    let value = |attr: &str| {
        user.attrs
            .get(&attr.to_ascii_lowercase())
            .map(String::as_str)
    };
    let fields: Fields = options
        .attributes
        .iter()
        .map(|(field, attr)| (field.clone(), text(value(attr))))
        .collect();
    let email = fields
        .get("emailaddress")
        .and_then(Value::as_str)
        .map(str::to_string);
    Desired {
        source_id: user.id.clone(),
        secondary: email.clone(),
        label: email.unwrap_or_else(|| user.dn.clone()),
        enabled: !user.disabled,
        fields,
        create_only: Fields::new(),
    }
}

/// A Halo user as the sync engine compares it.
pub fn current(user: &User, options: &LdapUsersOptions) -> Current {
    let fields: Fields = options
        .attributes
        .iter()
        .map(|(field, _)| (field.clone(), text(user.text(field).as_deref())))
        .collect();
    Current {
        id: user.id,
        source_id: user
            .text(&options.link_field)
            .map(|s| s.to_ascii_lowercase()),
        secondary: user.emailaddress.clone(),
        inactive: user.inactive,
        fields,
    }
}

/// A write item: the plan's link renamed to `LDAP_LINK_FIELD`.
fn shape(options: &LdapUsersOptions, mut item: Map<String, Value>) -> Map<String, Value> {
    if let Some(link) = item.remove(LINK) {
        item.insert(options.link_field.clone(), link);
    }
    item
}

/// `check`: the mapped clients exist in Halo, the directory binds and the search finds
/// an entry (one is asked for).
async fn check(options: &LdapUsersOptions, halo: &Halo) -> Result<String, String> {
    let clients = halo
        .clients()
        .await
        .map_err(|e| format!("reading Halo clients failed: {e}"))?;
    ClientMap::new(options, &Clients::new(&clients))?;
    if !ldap::probe(options).await.map_err(|e| e.to_string())? {
        return Err(format!(
            "bound to {}, but LDAP_FILTER {} finds no entry under {}",
            options.url, options.filter, options.base_dn
        ));
    }
    Ok(format!(
        "bound to {} as {} and read an entry under {}",
        options.url, options.bind_dn, options.base_dn
    ))
}

async fn run(ctx: &Context<'_>, options: &LdapUsersOptions) -> ImportReport {
    let started = Instant::now();
    let clients = match ctx
        .halo
        .clients()
        .instrument(tracing::info_span!("read_halo"))
        .await
    {
        Ok(c) => c,
        Err(e) => return JOB.failed(started, Failure::halo_read("clients", &e)),
    };
    let index = Clients::new(&clients);
    let map = match ClientMap::new(options, &index) {
        Ok(m) => m,
        Err(e) => return JOB.failed(started, Failure::config(e)),
    };
    let read = ldap::read(options)
        .instrument(tracing::info_span!("read_source", source = "ldap"))
        .await;
    let read = match read {
        Ok(r) => r,
        Err(e) => return JOB.failed(started, Failure::new(e.severity(), e.to_string())),
    };
    let problem = read
        .incomplete
        .map(|p| format!("directory read incomplete: {p}"));
    let mut by_client: BTreeMap<i64, Vec<Desired>> = BTreeMap::new();
    let mut out_of_scope = 0usize;
    for user in &read.users {
        match map.client_of(&user.dn) {
            Some(client) => by_client
                .entry(client.id)
                .or_default()
                .push(desired(user, options)),
            None => out_of_scope += 1,
        }
    }
    if out_of_scope > 0 {
        tracing::info!(
            import = JOB.import,
            entries = out_of_scope,
            "entries outside LDAP_CLIENT_MAP and without LDAP_CLIENT are out of scope"
        );
    }
    let targets = map
        .clients()
        .into_iter()
        .filter(|client| ctx.config.shard.owns(&client.id.to_string()))
        .map(|client| {
            let target = Target {
                kind: TargetKind::Base,
                id: options.base_dn.clone(),
                client: client.clone(),
            };
            let source = Source {
                desired: by_client.remove(&client.id).unwrap_or_default(),
                problem: problem.clone(),
                unplaced: Default::default(),
            };
            (target, source)
        })
        .collect();
    let report = ImportReport::new(JOB.import, SPEC.entity);
    run_targets(ctx, started, report, targets, async |target, source| {
        sync_client(ctx, options, target, source).await
    })
    .await
}

async fn sync_client(
    ctx: &Context<'_>,
    options: &LdapUsersOptions,
    target: &Target,
    source: Source,
) -> TargetReport {
    let client = target.client.id;
    let users = match ctx
        .halo
        .users_of_client(client)
        .instrument(tracing::info_span!("read_halo"))
        .await
    {
        Ok(users) => users,
        Err(e) => return halo_read_failed(&JOB, target, "users", &e),
    };
    let current: Vec<Current> = users.iter().map(|u| current(u, options)).collect();
    let shape_item = |_: Option<i64>, item: Map<String, Value>| shape(options, item);
    let reread = async || -> Result<HashSet<String>, HaloError> {
        let users = ctx.halo.users_of_client(client).await?;
        Ok(users
            .iter()
            .filter_map(|u| u.text(&options.link_field))
            .map(|s| s.to_ascii_lowercase())
            .collect())
    };
    plan_and_apply(
        ctx,
        &JOB,
        target,
        source,
        &current,
        Some(&shape_item),
        reread,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn options() -> LdapUsersOptions {
        LdapUsersOptions {
            mapping: Default::default(),
            url: "ldaps://dc.corp.example".parse().unwrap(),
            starttls: true,
            bind_dn: "cn=reader".into(),
            bind_password: Secret::new("pw"),
            base_dn: "dc=corp,dc=example".into(),
            filter: "(objectClass=person)".into(),
            attributes: vec![
                ("name".into(), "displayName".into()),
                ("emailaddress".into(), "mail".into()),
            ],
            client: Some("Contoso Ltd".into()),
            client_map: vec![
                (
                    normalize_dn("ou=Sales, dc=corp,dc=example"),
                    "Fabrikam Inc".into(),
                ),
                (
                    normalize_dn("ou=EU,ou=Sales,dc=corp,dc=example"),
                    "3".into(),
                ),
            ],
            link_field: "other5".into(),
            ca_file: None,
            page_size: 500,
            timeout: std::time::Duration::from_secs(5),
        }
    }

    fn clients() -> Vec<Client> {
        serde_json::from_str(
            r#"[{"id":1,"name":"Contoso Ltd"},{"id":2,"name":"Fabrikam Inc"},{"id":3,"name":"Fabrikam EU"}]"#,
        )
        .unwrap()
    }

    #[test]
    fn the_longest_dn_suffix_wins_then_the_default_client() {
        let clients = clients();
        let index = Clients::new(&clients);
        let map = ClientMap::new(&options(), &index).unwrap();
        let of = |dn: &str| map.client_of(dn).map(|c| c.id);
        assert_eq!(of("CN=Ann, OU=EU,OU=Sales,DC=corp,DC=example"), Some(3));
        assert_eq!(of("cn=Bob,ou=Sales,dc=corp,dc=example"), Some(2));
        assert_eq!(
            of("cn=Eve,ou=PreSales,dc=corp,dc=example"),
            Some(1),
            "not a suffix"
        );
        let ids: Vec<i64> = map.clients().iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 3, 2]);

        let mut no_default = options();
        no_default.client = None;
        let map = ClientMap::new(&no_default, &index).unwrap();
        assert_eq!(
            map.client_of("cn=Eve,dc=corp,dc=example").map(|c| c.id),
            None
        );

        let mut unknown = options();
        unknown.client = Some("Nobody".into());
        let e = ClientMap::new(&unknown, &index).err().unwrap();
        assert!(e.starts_with("LDAP_CLIENT: no Halo client"), "{e}");
    }

    #[test]
    fn entries_map_to_users_and_the_link_lands_in_its_field() {
        let user = LdapUser {
            dn: "cn=Ann,dc=corp,dc=example".into(),
            id: "5f3a".into(),
            disabled: true,
            attrs: [
                ("displayname".to_string(), " Ann Lee ".to_string()),
                ("mail".to_string(), "Ann@corp.example".to_string()),
            ]
            .into(),
        };
        let d = desired(&user, &options());
        assert_eq!(d.source_id, "5f3a");
        assert_eq!(d.secondary.as_deref(), Some("Ann@corp.example"));
        assert!(!d.enabled);
        assert_eq!(d.fields["name"], "Ann Lee");
        let halo: User = serde_json::from_str(
            r#"{"id":9,"name":"Ann Lee","emailaddress":"ann@corp.example","other5":"5F3A"}"#,
        )
        .unwrap();
        let c = current(&halo, &options());
        assert_eq!(c.source_id.as_deref(), Some("5f3a"));
        let mut item = Map::new();
        item.insert(LINK.into(), Value::from("5f3a"));
        assert_eq!(
            Value::Object(shape(&options(), item)),
            serde_json::json!({"other5": "5f3a"})
        );
    }
}
