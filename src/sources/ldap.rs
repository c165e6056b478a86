//! An LDAP directory (Active Directory or OpenLDAP) as a source of users, through `ldap3`
//! over rustls: `ldaps://` or `ldap://` with StartTLS (CA from `LDAP_CA_FILE`, else the
//! system roots), a simple bind, and a subtree search paged with the Simple Paged Results
//! control, so directories larger than the server's size limit are read completely.
//!
//! The bind password is sent once, in the bind request; it is never part of an error.

use std::collections::HashMap;
use std::sync::Arc;

use ldap3::adapters::{EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};

use crate::imports::ldap_users::LdapUsersOptions;

/// One directory entry, as the import needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUser {
    pub dn: String,
    /// `objectGUID` (AD, in its usual string form) or `entryUUID` (OpenLDAP), lower-case;
    /// empty when the entry has neither.
    pub id: String,
    /// `userAccountControl` has the ACCOUNTDISABLE bit (2).
    pub disabled: bool,
    /// The first value of each requested attribute, by lower-cased attribute name.
    pub attrs: HashMap<String, String>,
}

/// Why the directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LdapReadError {
    /// The bind was refused (wrong DN or password): a configuration problem.
    #[error("the directory refused the bind as LDAP_BIND_DN: {0}")]
    Credentials(String),
    /// `LDAP_CA_FILE` is unreadable or holds no certificate.
    #[error("LDAP_CA_FILE: {0}")]
    CaFile(String),
    /// Connecting, TLS or the search failed.
    #[error("{0}")]
    Failed(String),
}

/// What a read gave: the entries, and why they may be incomplete (an error after some
/// pages; then nothing may be deactivated).
pub struct LdapRead {
    pub users: Vec<LdapUser>,
    pub incomplete: Option<String>,
}

/// The attributes to ask for: the mapped ones (`LDAP_ATTRIBUTES` and those the mapping
/// file reads), the ids and the account state, each once (names are case-insensitive).
fn requested(options: &LdapUsersOptions) -> Vec<String> {
    let mut attrs: Vec<String> = Vec::new();
    let all = (options.attributes.iter().map(|(_, a)| a.clone()))
        .chain(options.mapping.properties())
        .chain(["objectGUID", "entryUUID", "userAccountControl"].map(String::from));
    for attr in all {
        if !attrs.iter().any(|a| a.eq_ignore_ascii_case(&attr)) {
            attrs.push(attr);
        }
    }
    attrs
}

/// AD's `objectGUID` bytes in its display form (the first three groups little-endian).
pub fn guid_string(b: &[u8]) -> Option<String> {
    let b: &[u8; 16] = b.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// An entry as an [`LdapUser`].
pub fn user(entry: SearchEntry) -> LdapUser {
    let find = |name: &str| -> Option<&Vec<String>> {
        entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    // objectGUID is binary; ldap3 files it under `attrs` when its bytes happen to be UTF-8.
    let guid = entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("objectGUID"))
        .and_then(|(_, v)| v.first().cloned())
        .or_else(|| {
            find("objectGUID")
                .and_then(|v| v.first())
                .map(|s| s.as_bytes().to_vec())
        })
        .and_then(|b| guid_string(&b));
    let id = guid
        .or_else(|| {
            find("entryUUID")
                .and_then(|v| v.first())
                .map(|s| s.trim().to_ascii_lowercase())
        })
        .unwrap_or_default();
    let disabled = find("userAccountControl")
        .and_then(|v| v.first())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .is_some_and(|uac| uac & 2 != 0);
    let attrs = entry
        .attrs
        .iter()
        .filter_map(|(k, v)| {
            v.first()
                .map(|first| (k.to_ascii_lowercase(), first.clone()))
        })
        .collect();
    LdapUser {
        dn: entry.dn,
        id,
        disabled,
        attrs,
    }
}

/// The TLS configuration: the CAs of `LDAP_CA_FILE`, if given.
fn tls_config(
    options: &LdapUsersOptions,
) -> Result<Option<Arc<rustls::ClientConfig>>, LdapReadError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let Some(path) = &options.ca_file else {
        return Ok(None);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| LdapReadError::CaFile(format!("{}: {e}", path.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| LdapReadError::CaFile(format!("{}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(LdapReadError::CaFile(format!(
            "{}: no PEM certificate in the file",
            path.display()
        )));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LdapReadError::Failed(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

fn failed(what: &str, e: LdapError) -> LdapReadError {
    LdapReadError::Failed(format!("{what}: {e}"))
}

/// Connects (TLS as configured) and binds as `LDAP_BIND_DN`.
async fn connect(options: &LdapUsersOptions) -> Result<ldap3::Ldap, LdapReadError> {
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(options.timeout)
        .set_starttls(options.starttls && options.url.scheme() == "ldap");
    if let Some(config) = tls_config(options)? {
        settings = settings.set_config(config);
    }
    let (conn, mut ldap) = LdapConnAsync::from_url_with_settings(settings, &options.url)
        .await
        .map_err(|e| failed(&format!("connecting to {}", options.url), e))?;
    ldap3::drive!(conn);
    ldap.with_timeout(options.timeout);
    let bind = ldap
        .simple_bind(&options.bind_dn, options.bind_password.expose())
        .await
        .map_err(|e| failed("bind", e))?;
    if bind.rc != 0 {
        // 49 invalidCredentials, 48 inappropriateAuthentication, 50 insufficientAccessRights...
        return Err(LdapReadError::Credentials(format!(
            "result code {} {}",
            bind.rc, bind.text
        )));
    }
    Ok(ldap)
}

/// For `check`: binds and runs the search for one entry (a size limit hit is fine).
/// Returns whether an entry was found.
pub async fn probe(options: &LdapUsersOptions) -> Result<bool, LdapReadError> {
    let mut ldap = connect(options).await?;
    let result = ldap
        .with_search_options(ldap3::SearchOptions::new().sizelimit(1))
        .search(
            &options.base_dn,
            Scope::Subtree,
            &options.filter,
            requested(options),
        )
        .await
        .map_err(|e| failed("search", e))?;
    let _ = ldap.unbind().await;
    // 4 = sizeLimitExceeded: more than the one entry asked for.
    if !matches!(result.1.rc, 0 | 4) {
        return Err(LdapReadError::Failed(format!(
            "search: result code {} {}",
            result.1.rc, result.1.text
        )));
    }
    Ok(!result.0.is_empty())
}

/// Binds and reads every entry under `LDAP_BASE_DN` matching `LDAP_FILTER`, page by page.
pub async fn read(options: &LdapUsersOptions) -> Result<LdapRead, LdapReadError> {
    let mut ldap = connect(options).await?;
    let adapters: Vec<Box<dyn ldap3::adapters::Adapter<'_, String, Vec<String>>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(options.page_size)),
    ];
    let mut search = ldap
        .streaming_search_with(
            adapters,
            &options.base_dn,
            Scope::Subtree,
            &options.filter,
            requested(options),
        )
        .await
        .map_err(|e| failed("search", e))?;
    let mut users = Vec::new();
    let mut incomplete = None;
    loop {
        match search.next().await {
            Ok(Some(entry)) => users.push(user(SearchEntry::construct(entry))),
            Ok(None) => break,
            Err(e) => {
                incomplete = Some(format!(
                    "the search stopped after {} entries: {e}",
                    users.len()
                ));
                break;
            }
        }
    }
    let result = search.finish().await;
    if incomplete.is_none() && result.rc != 0 {
        incomplete = Some(format!(
            "the search ended with result code {} {}",
            result.rc, result.text
        ));
    }
    let _ = ldap.unbind().await;
    if users.is_empty()
        && let Some(problem) = incomplete
    {
        return Err(LdapReadError::Failed(problem));
    }
    Ok(LdapRead { users, incomplete })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(attrs: &[(&str, &str)], guid: Option<Vec<u8>>) -> SearchEntry {
        SearchEntry {
            dn: "cn=Ann,ou=Sales,dc=corp,dc=example".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            bin_attrs: guid
                .map(|g| [("objectGUID".to_string(), vec![g])].into())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn object_guid_wins_in_ad_byte_order_then_entry_uuid() {
        let guid: Vec<u8> = (0u8..16).collect();
        let u = user(entry(&[("entryUUID", "X")], Some(guid)));
        assert_eq!(u.id, "03020100-0504-0706-0809-0a0b0c0d0e0f");
        let u = user(entry(&[("entryUUID", " 5F3A-B ")], None));
        assert_eq!(u.id, "5f3a-b");
        assert_eq!(user(entry(&[], None)).id, "");
        assert_eq!(guid_string(&[1, 2, 3]), None);
    }

    #[test]
    fn account_disable_bit_means_disabled() {
        for (uac, disabled) in [("512", false), ("514", true), ("66050", true), ("x", false)] {
            let u = user(entry(&[("userAccountControl", uac)], None));
            assert_eq!(u.disabled, disabled, "{uac}");
        }
        assert!(!user(entry(&[], None)).disabled, "OpenLDAP: no attribute");
        let u = user(entry(&[("Mail", "ann@corp.example")], None));
        assert_eq!(u.attrs["mail"], "ann@corp.example", "names lower-cased");
    }
}
