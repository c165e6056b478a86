//! Where the user links of `entra-users` come from. Halo's user list answers with the
//! `Users_List` model, which has no `azureoid` (only the full `Users` model, read one record
//! at a time, has it), so a paged read alone cannot tell a linked user from an unlinked one.
//! The links are read in bulk with a SQL report over Halo's own tables (the columns public
//! production scripts use: `USERS.uid`, `USERS.UAzureOID`, `uemail`, `uinactive`, `usite` →
//! `SITE.ssitenum` / `sarea`), and the report is trusted only where its rows agree with the
//! paged read: every listed user must have a row with the same e-mail and state. A user is
//! "unlinked" only when its row says so. When the report cannot be run, the import refuses
//! to write: writing blind would create every linked user again.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;
use serde::{Deserialize, Deserializer};

use crate::halo::model::{flag, id, opt_string};
use crate::halo::{Client, Halo, HaloError, User};
use crate::outcome::{Failure, Severity};

/// The permission the API agent needs for the report, as Halo's API names it.
pub const REPORT_PERMISSION: &str = "edit:reporting";

/// One row of the link report, kept compact (a client's rows are all held while its users
/// are listed; 100k rows are 4.8 MB): the link parsed, the e-mail only as a hash of its
/// comparable form.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LinkRow {
    #[serde(deserialize_with = "id")]
    pub id: i64,
    #[serde(default, deserialize_with = "link")]
    pub azureoid: Option<Link>,
    /// [`email_key`] of the row's e-mail.
    #[serde(
        default = "no_email",
        rename = "emailaddress",
        deserialize_with = "email"
    )]
    pub email_key: u64,
    #[serde(default, deserialize_with = "flag")]
    pub inactive: bool,
}

impl LinkRow {
    pub fn new(id: i64, azureoid: Option<&str>, email: Option<&str>, inactive: bool) -> LinkRow {
        LinkRow {
            id,
            azureoid: azureoid.and_then(Link::parse),
            email_key: email_key(email),
            inactive,
        }
    }
}

/// A user's link as the report holds it, normalized (trimmed, lower-case): an Entra object
/// id in its 16 bytes, any other value as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Guid([u8; 16]),
    Text(Box<str>),
}

impl Link {
    /// `None` for a blank link.
    pub fn parse(link: &str) -> Option<Link> {
        let link = link.trim();
        if link.is_empty() {
            return None;
        }
        Some(Self::guid(link).unwrap_or_else(|| Link::Text(link.to_ascii_lowercase().into())))
    }

    /// A GUID in its canonical form `8-4-4-4-12` (either case), else `None`.
    fn guid(link: &str) -> Option<Link> {
        let bytes = link.as_bytes();
        if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
            return None;
        }
        let mut hex = bytes.iter().filter(|&&b| b != b'-');
        let mut guid = [0u8; 16];
        for byte in &mut guid {
            let mut digit = || (*hex.next()? as char).to_digit(16);
            *byte = u8::try_from(digit()? * 16 + digit()?).ok()?;
        }
        Some(Link::Guid(guid))
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Text(text) => f.write_str(text),
            Link::Guid(guid) => {
                for (i, byte) in guid.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_char('-')?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

fn link<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Link>, D::Error> {
    Ok(opt_string(d)?.as_deref().and_then(Link::parse))
}

fn email<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(email_key(opt_string(d)?.as_deref()))
}

fn no_email() -> u64 {
    email_key(None)
}

/// The e-mail as the report and the list are compared: trimmed, case-insensitive, blank the
/// same as absent; hashed (64 bits: two different addresses agree by chance once in 2^64).
pub fn email_key(email: Option<&str>) -> u64 {
    let email = email.map(str::trim).unwrap_or_default().to_lowercase();
    let mut hasher = FxHasher::default();
    email.hash(&mut hasher);
    hasher.finish()
}

/// The SQL of the link report for one client's users (through their sites, as Halo keeps a
/// user's client on its site). One statement, no comments, no trailing semicolon.
pub fn sql(client_id: i64) -> String {
    format!(
        "SELECT uid AS id, UAzureOID AS azureoid, uemail AS emailaddress, uinactive AS inactive \
         FROM USERS JOIN SITE ON usite = ssitenum WHERE sarea = {client_id}"
    )
}

/// The links of one client's users, sorted by Halo user id (`uid`, the table's key).
#[derive(Debug, Default)]
pub struct Links(Vec<LinkRow>);

/// A listed user the report does not vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub user_id: i64,
    pub what: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user {}: {}", self.user_id, self.what)
    }
}

impl Links {
    pub fn new(mut rows: Vec<LinkRow>) -> Links {
        rows.sort_unstable_by_key(|r| r.id);
        Links(rows)
    }

    /// Runs the link report for `client_id`.
    pub async fn read(halo: &Halo, client_id: i64) -> Result<Links, Failure> {
        halo.report::<LinkRow>(&sql(client_id))
            .await
            .map(Links::new)
            .map_err(|e| explain(&e))
    }

    /// Runs the link report again: the same source as the first read, for creates whose
    /// outcome is unknown.
    pub async fn reread(halo: &Halo, client_id: i64) -> Result<HashSet<String>, HaloError> {
        Ok(Links::new(halo.report::<LinkRow>(&sql(client_id)).await?).linked())
    }

    /// The link of a user of the paged read (`None` = unlinked), or why the report cannot
    /// vouch for it (no row, or a row that disagrees with the list).
    pub fn link_of(&self, user: &User) -> Result<Option<String>, Disagreement> {
        let disagree = |what: String| Disagreement {
            user_id: user.id,
            what,
        };
        let row = self
            .0
            .binary_search_by_key(&user.id, |r| r.id)
            .map(|i| &self.0[i])
            .map_err(|_| disagree("listed by Halo but missing from the link report".into()))?;
        if row.email_key != email_key(user.emailaddress.as_deref()) {
            return Err(disagree(format!(
                "e-mail {:?} in the list, another in the report",
                user.emailaddress.as_deref().unwrap_or("")
            )));
        }
        if row.inactive != user.inactive {
            return Err(disagree(format!(
                "inactive={} in the list, {} in the report",
                user.inactive, row.inactive
            )));
        }
        Ok(row.azureoid.as_ref().map(Link::to_string))
    }

    /// Every source id linked in this client (to reconcile creates whose outcome is unknown).
    pub fn linked(&self) -> HashSet<String> {
        self.0
            .iter()
            .filter_map(|r| r.azureoid.as_ref().map(Link::to_string))
            .collect()
    }
}

/// A failed link report as an operator can act on it. A refused report (403) and a report
/// whose SQL this instance cannot run leave no source of links: exit 2, nothing written.
pub fn explain(e: &HaloError) -> Failure {
    let refuse = |why: String| Failure {
        severity: Severity::Config,
        message: format!(
            "{why}; Halo's user list does not carry the Entra link (azureoid), so without the \
             report every linked user would look new and be created again: nothing was written"
        ),
    };
    match e {
        e if e.is_credentials() => Failure {
            severity: Severity::Config,
            message: e.to_string(),
        },
        HaloError::Http(http) if http.status() == Some(403) => refuse(format!(
            "Halo refused the SQL report that reads user links ({http}); give the integrator's \
             API agent reporting permission ({REPORT_PERMISSION}) in Halo"
        )),
        HaloError::Report { message } => refuse(format!(
            "Halo could not run the SQL report that reads user links ({message}); this \
             instance's database does not have the columns it reads (USERS.uid, \
             USERS.UAzureOID, uemail, uinactive, usite, SITE.ssitenum, sarea)"
        )),
        other => Failure {
            severity: Severity::Failed,
            message: format!("reading Halo user links failed: {other}"),
        },
    }
}

/// `check`: the link report runs for `client` and agrees with the first page of its users.
/// Read-only. Any disagreement fails (exit 2): a run would not write with these links.
pub async fn probe(halo: &Halo, client: &Client) -> Result<String, Failure> {
    let users = halo
        .sample_users(client.id, 50)
        .await
        .map_err(|e| Failure::halo_read("users", &e))?;
    let links = Links::read(halo, client.id).await?;
    let mut linked = 0;
    for user in &users {
        match links.link_of(user) {
            Ok(link) => linked += usize::from(link.is_some()),
            Err(d) => {
                return Err(Failure {
                    severity: Severity::Config,
                    message: format!(
                        "the user-link report does not agree with Halo's user list ({d}); \
                         this instance's database does not answer the report as expected, so \
                         a run would write nothing"
                    ),
                });
            }
        }
    }
    Ok(format!(
        "the SQL report ({REPORT_PERMISSION}) answers and agrees with the paged user list: \
         {} user(s) of {} compared, {linked} linked",
        users.len(),
        client.display_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(json: &str) -> User {
        serde_json::from_str(json).unwrap()
    }

    fn row(id: i64, oid: Option<&str>, email: &str, inactive: bool) -> LinkRow {
        LinkRow::new(id, oid, Some(email), inactive)
    }

    #[test]
    fn rows_parse_as_sql_server_sends_them() {
        let rows: Vec<LinkRow> = serde_json::from_str(
            r#"[{"id":12,"azureoid":"ABC","emailaddress":"a@x.example","inactive":0},
                {"id":13.0,"azureoid":null,"emailaddress":"","inactive":true},
                {"id":"14","azureoid":"  ","inactive":1}]"#,
        )
        .unwrap();
        let links = Links::new(rows);
        assert_eq!(
            links.link_of(&user(r#"{"id":12,"emailaddress":"A@X.example"}"#)),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            links.link_of(&user(r#"{"id":13,"inactive":true}"#)),
            Ok(None),
            "null link: unlinked, proven by the row"
        );
        assert_eq!(
            links.link_of(&user(r#"{"id":14,"inactive":true}"#)),
            Ok(None)
        );
        assert_eq!(links.linked(), HashSet::from(["abc".to_string()]));
    }

    #[test]
    fn a_report_is_trusted_only_where_it_agrees_with_the_list() {
        let links = Links::new(vec![
            row(1, Some("oid-1"), "ann@x.example", false),
            row(2, None, "bob@x.example", false),
            row(3, Some("oid-3"), "cy@x.example", true),
        ]);
        let table: [(&str, Result<Option<&str>, &str>); 5] = [
            (
                r#"{"id":1,"emailaddress":" Ann@X.example "}"#,
                Ok(Some("oid-1")),
            ),
            (r#"{"id":2,"emailaddress":"bob@x.example"}"#, Ok(None)),
            (
                r#"{"id":3,"emailaddress":"cy@x.example","inactive":false}"#,
                Err("inactive=false in the list, true in the report"),
            ),
            (
                r#"{"id":2,"emailaddress":"other@x.example"}"#,
                Err("e-mail \"other@x.example\" in the list, another in the report"),
            ),
            (
                r#"{"id":9,"emailaddress":"new@x.example"}"#,
                Err("listed by Halo but missing from the link report"),
            ),
        ];
        for (listed, expected) in table {
            let got = links.link_of(&user(listed));
            match expected {
                Ok(link) => assert_eq!(got, Ok(link.map(str::to_string)), "{listed}"),
                Err(what) => assert_eq!(got.unwrap_err().what, what, "{listed}"),
            }
        }
    }

    #[test]
    fn links_are_kept_compact_and_read_back_normalized() {
        for (raw, kept) in [
            (
                " 0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9 ",
                "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            ),
            ("not-a-guid", "not-a-guid"),
            (
                "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg",
                "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg",
            ),
            ("LDAP:Ann", "ldap:ann"),
        ] {
            assert_eq!(Link::parse(raw).unwrap().to_string(), kept, "{raw:?}");
        }
        assert!(matches!(
            Link::parse("0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"),
            Some(Link::Guid(_))
        ));
        assert_eq!(Link::parse("  "), None);
        assert_eq!(
            email_key(Some(" A@X.example ")),
            email_key(Some("a@x.example"))
        );
        assert_eq!(email_key(Some(" ")), email_key(None));
        assert_ne!(
            email_key(Some("a@x.example")),
            email_key(Some("b@x.example"))
        );
    }

    #[test]
    fn the_sql_is_one_statement_for_one_client() {
        let sql = sql(42);
        assert!(sql.ends_with("WHERE sarea = 42"));
        assert!(!sql.contains(';') && !sql.contains("--"));
    }
}
