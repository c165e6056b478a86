//! The options of `ldap-users`: the `LDAP_*` variables, validated only when the import is
//! enabled.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::config::vars::{Var, own, own_secret};
use crate::config::{Common, Env, Secret, Validator};
use crate::imports::USER_TEXT_FIELDS;
use crate::mapping::{ImportMapping, UserSection};

/// The Halo user fields `ldap-users` can fill (`LDAP_ATTRIBUTES` targets).
pub const LDAP_USER_FIELDS: &[&str] = &USER_TEXT_FIELDS;

/// Where `ldap-users` may keep its link (`LDAP_LINK_FIELD`): the free-text properties on
/// both Halo's `Users` and `Users_List` models, so that the paged read carries the link.
/// Halo users have no `ldap_id`.
pub const LDAP_LINK_FIELDS: &[&str] = &["other1", "other2", "other3", "other4", "other5"];

/// `LDAP_ATTRIBUTES` when unset (inetOrgPerson / Active Directory names).
const LDAP_DEFAULT_ATTRIBUTES: &str = "name=displayName,firstname=givenName,surname=sn,emailaddress=mail,title=title,phonenumber=telephoneNumber,mobilenumber=mobile";

/// Options of the `ldap-users` import (`LDAP_*`); present only when it is enabled.
#[derive(Debug, Clone)]
pub struct LdapUsersOptions {
    /// Its section of the mapping file.
    pub mapping: ImportMapping<UserSection>,
    /// `LDAP_URL`: `ldap://` (StartTLS unless `LDAP_STARTTLS=false`) or `ldaps://`.
    pub url: Url,
    pub starttls: bool,
    pub bind_dn: String,
    pub bind_password: Secret,
    pub base_dn: String,
    pub filter: String,
    /// Halo user field → LDAP attribute, in the order given.
    pub attributes: Vec<(String, String)>,
    /// `LDAP_CLIENT`: the Halo client (name or id) of entries no `LDAP_CLIENT_MAP` DN covers.
    pub client: Option<String>,
    /// `LDAP_CLIENT_MAP`: base DN (lower-cased, no spaces after commas) → Halo client.
    pub client_map: Vec<(String, String)>,
    /// `LDAP_LINK_FIELD`: the Halo user field holding the directory id.
    pub link_field: String,
    /// `LDAP_CA_FILE`: PEM CA certificates trusted for the TLS connection.
    pub ca_file: Option<PathBuf>,
    pub page_size: i32,
    pub timeout: Duration,
}

/// A DN compared by suffix: lower-cased, blanks around `,` and `=` removed.
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|p| p.trim().to_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Its rows of the variable table.
pub(super) const VARS: &[Var] = &[
    own("LDAP_URL", "required"),
    own("LDAP_STARTTLS", "true"),
    own("LDAP_CA_FILE", "system roots"),
    own("LDAP_BIND_DN", "required"),
    own_secret("LDAP_BIND_PASSWORD", "required"),
    own("LDAP_BASE_DN", "required"),
    own("LDAP_FILTER", "(objectClass=person)"),
    own("LDAP_ATTRIBUTES", LDAP_DEFAULT_ATTRIBUTES),
    own("LDAP_CLIENT", "unset"),
    own("LDAP_CLIENT_MAP", "unset"),
    own("LDAP_LINK_FIELD", "required"),
    own("LDAP_PAGE_SIZE", "500"),
];

/// The `LDAP_*` variables, as read.
struct Raw {
    url: Option<String>,
    starttls: Option<String>,
    bind_dn: Option<String>,
    bind_password: Option<String>,
    bind_password_file: Option<String>,
    base_dn: Option<String>,
    filter: Option<String>,
    attributes: Option<String>,
    client: Option<String>,
    client_map: Option<String>,
    link_field: Option<String>,
    ca_file: Option<String>,
    page_size: Option<String>,
}

/// Reads and validates the `LDAP_*` variables.
pub(super) fn options(
    env: &Env,
    v: &mut Validator,
    common: &Common,
    mapping: ImportMapping<UserSection>,
) -> Option<LdapUsersOptions> {
    let raw = Raw {
        url: env.get("LDAP_URL"),
        starttls: env.get("LDAP_STARTTLS"),
        bind_dn: env.get("LDAP_BIND_DN"),
        bind_password: env.get("LDAP_BIND_PASSWORD"),
        bind_password_file: env.get("LDAP_BIND_PASSWORD_FILE"),
        base_dn: env.get("LDAP_BASE_DN"),
        filter: env.get("LDAP_FILTER"),
        attributes: env.get("LDAP_ATTRIBUTES"),
        client: env.get("LDAP_CLIENT"),
        client_map: env.get("LDAP_CLIENT_MAP"),
        link_field: env.get("LDAP_LINK_FIELD"),
        ca_file: env.get("LDAP_CA_FILE"),
        page_size: env.get("LDAP_PAGE_SIZE"),
    };
    read(v, raw, common, mapping)
}

fn read(
    v: &mut Validator,
    raw: Raw,
    common: &Common,
    mapping: ImportMapping<UserSection>,
) -> Option<LdapUsersOptions> {
    let (allow_insecure, timeout) = (common.allow_insecure, common.timeout);
    let url = v
        .required(
            "LDAP_URL",
            raw.url,
            "the directory, e.g. ldaps://dc1.corp.example",
        )
        .and_then(|u| match Url::parse(&u) {
            Ok(url) if matches!(url.scheme(), "ldap" | "ldaps") && url.host().is_some() => {
                Some(url)
            }
            _ => {
                v.error(
                    "LDAP_URL",
                    format!("expected ldap://host[:port] or ldaps://host[:port], got '{u}'"),
                );
                None
            }
        });
    let starttls = match Validator::optional(raw.starttls).as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            v.error(
                "LDAP_STARTTLS",
                format!("expected `true` or `false`, got '{other}'"),
            );
            true
        }
    };
    if let Some(url) = &url
        && url.scheme() == "ldap"
        && !starttls
        && !allow_insecure
        && !url.host_str().is_some_and(is_loopback_host)
    {
        v.error(
            "LDAP_STARTTLS",
            "plain ldap:// without StartTLS sends the bind password in clear; allowed only for loopback hosts or with INTEGRATOR_ALLOW_INSECURE_HTTP=true",
        );
    }
    let bind_dn = v.required(
        "LDAP_BIND_DN",
        raw.bind_dn,
        "the DN of the account that reads the directory",
    );
    let bind_password = match v.secret(
        "LDAP_BIND_PASSWORD",
        raw.bind_password,
        raw.bind_password_file,
    ) {
        Some(None) => {
            v.error(
                "LDAP_BIND_PASSWORD",
                "required: the password of LDAP_BIND_DN (or LDAP_BIND_PASSWORD_FILE)",
            );
            None
        }
        other => other.flatten(),
    };
    let base_dn = v.required(
        "LDAP_BASE_DN",
        raw.base_dn,
        "where the users are, e.g. dc=corp,dc=example",
    );
    let filter = Validator::optional(raw.filter).unwrap_or_else(|| "(objectClass=person)".into());
    if !(filter.starts_with('(') && filter.ends_with(')')) {
        v.error(
            "LDAP_FILTER",
            format!(
                "expected an LDAP filter in parentheses, e.g. (objectClass=person), got '{filter}'"
            ),
        );
    }
    let attributes = attributes(
        v,
        &Validator::optional(raw.attributes).unwrap_or_else(|| LDAP_DEFAULT_ATTRIBUTES.into()),
    );
    let client = Validator::optional(raw.client);
    let mut client_map = Vec::new();
    for pair in Validator::optional(raw.client_map)
        .iter()
        .flat_map(|m| m.split(';'))
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match pair.rsplit_once('=') {
            Some((dn, name)) if dn.contains('=') && !name.trim().is_empty() => {
                client_map.push((normalize_dn(dn), name.trim().to_string()));
            }
            _ => v.error(
                "LDAP_CLIENT_MAP",
                format!("expected `ou=Sales,dc=corp,dc=example=Client name` entries separated by `;`, got '{pair}'"),
            ),
        }
    }
    if client.is_none() && client_map.is_empty() {
        v.error(
            "LDAP_CLIENT",
            "required: the Halo client (name or id) of the directory's users, or LDAP_CLIENT_MAP to map OUs to clients",
        );
    }
    let link_field = match Validator::optional(raw.link_field) {
        Some(field) if LDAP_LINK_FIELDS.contains(&field.to_ascii_lowercase().as_str()) => {
            field.to_ascii_lowercase()
        }
        other => {
            v.error(
                "LDAP_LINK_FIELD",
                format!(
                    "required: one of {}, the free-text user properties Halo stores and \
                     returns in its user list, where the import keeps each user's directory \
                     id; pick one nothing else uses{}",
                    LDAP_LINK_FIELDS.join(", "),
                    other.map(|v| format!(", got '{v}'")).unwrap_or_default()
                ),
            );
            String::new()
        }
    };
    let page_size = match Validator::optional(raw.page_size) {
        None => 500,
        Some(size) => match size.parse::<i32>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                v.error(
                    "LDAP_PAGE_SIZE",
                    format!("expected a page size from 1 to 10000, got '{size}'"),
                );
                500
            }
        },
    };
    Some(LdapUsersOptions {
        mapping,
        url: url?,
        starttls,
        bind_dn: bind_dn?,
        bind_password: bind_password?,
        base_dn: base_dn?,
        filter,
        attributes: attributes?,
        client,
        client_map,
        link_field,
        ca_file: Validator::optional(raw.ca_file).map(PathBuf::from),
        page_size,
        timeout,
    })
}

/// `field=attribute,...` over [`LDAP_USER_FIELDS`]; `name` must be mapped.
fn attributes(v: &mut Validator, list: &str) -> Option<Vec<(String, String)>> {
    const VAR: &str = "LDAP_ATTRIBUTES";
    let mut mapped: Vec<(String, String)> = Vec::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = pair
            .split_once('=')
            .map(|(f, a)| (f.trim().to_ascii_lowercase(), a.trim()));
        match parsed {
            Some((field, attr))
                if LDAP_USER_FIELDS.contains(&field.as_str())
                    && !attr.is_empty()
                    && !mapped.iter().any(|(f, _)| *f == field) =>
            {
                mapped.push((field, attr.to_string()));
            }
            _ => {
                v.error(
                    VAR,
                    format!(
                        "expected `field=attribute` pairs, each field once, fields: {}; got '{pair}'",
                        LDAP_USER_FIELDS.join(", ")
                    ),
                );
                return None;
            }
        }
    }
    if !mapped.iter().any(|(f, _)| f == "name") {
        v.error(
            VAR,
            "expected a `name=attribute` mapping (Halo requires a name)",
        );
        return None;
    }
    Some(mapped)
}

/// `localhost` or a loopback IP (for URLs whose host the `url` crate keeps opaque, such
/// as `ldap://127.0.0.1`).
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
