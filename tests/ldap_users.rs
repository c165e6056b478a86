//! End-to-end tests of the `ldap-users` import against a real OpenLDAP `slapd` (Debian
//! packages `slapd ldap-utils openssl`, installed by `scripts/test` from
//! `scripts/checks/ldap.apt`). Each test starts its own slapd on a free loopback port with a
//! temporary configuration (size limit 500, so only a paged search reads the whole
//! directory), a test CA and server certificate made with the `openssl` CLI for StartTLS,
//! and a generated directory of a few thousand entries; the compiled binary then syncs it
//! into the simulated Halo.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use halo_integrator::sim::{HaloUser, World};

const SUFFIX: &str = "dc=example,dc=test";
const READER: &str = "cn=reader,dc=example,dc=test";
const READER_PASSWORD: &str = "Reader-Pa55-never-logged";
const ROOT_PASSWORD: &str = "root-secret";
/// Entries under ou=People (→ Contoso Ltd) and ou=Sales,ou=People (→ Fabrikam Inc).
const PEOPLE: usize = 2000;
const SALES: usize = 500;

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running slapd, stopped (by its pid) when dropped.
struct Slapd {
    dir: tempfile::TempDir,
    pid: i32,
    port: u16,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid this test started.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
        }
    }
}

fn mail(ou: &str, n: usize) -> String {
    format!("{ou}{n}@example.test")
}

fn dn(ou: &str, n: usize) -> String {
    match ou {
        "sales" => format!("uid=sales{n},ou=Sales,ou=People,{SUFFIX}"),
        _ => format!("uid=user{n},ou=People,{SUFFIX}"),
    }
}

/// The directory: base, OUs, the reader account and the users; `disabled` users carry
/// `userAccountControl: 514` (AD's ACCOUNTDISABLE bit), the others 512.
fn directory_ldif(disabled: &[usize]) -> String {
    let mut ldif = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: ou=People,{SUFFIX}\nobjectClass: organizationalUnit\nou: People\n\n\
         dn: ou=Sales,ou=People,{SUFFIX}\nobjectClass: organizationalUnit\nou: Sales\n\n\
         dn: {READER}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: reader\nsn: reader\nuserPassword: {READER_PASSWORD}\n\n"
    );
    for (ou, count) in [("user", PEOPLE), ("sales", SALES)] {
        for n in 0..count {
            let uac = if ou == "user" && disabled.contains(&n) {
                514
            } else {
                512
            };
            ldif.push_str(&format!(
                "dn: {}\nobjectClass: inetOrgPerson\nobjectClass: adAccount\nuid: {ou}{n}\ncn: Given{n} Sur{n}\n\
                 displayName: Given{n} Sur{n}\ngivenName: Given{n}\nsn: Sur{n}\nmail: {}\ntitle: Engineer\n\
                 telephoneNumber: +1 555 {n:04}\nuserAccountControl: {uac}\n\n",
                dn(ou, n),
                mail(ou, n)
            ));
        }
    }
    ldif
}

impl Slapd {
    fn start(disabled: &[usize]) -> Slapd {
        Slapd::start_with(disabled, "size.prtotal=unlimited")
    }

    /// `paged_limit`: the `size.prtotal` limit of paged searches.
    fn start_with(disabled: &[usize], paged_limit: &str) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_certificates(d);
        std::fs::write(
            d.join("ad.schema"),
            "attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch \
             SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )\n\
             objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'adAccount' AUXILIARY MAY userAccountControl )\n",
        )
        .unwrap();
        std::fs::create_dir(d.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             include {d}/ad.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {d}/slapd.pid\n\
             TLSCACertificateFile {d}/ca.pem\n\
             TLSCertificateFile {d}/server.pem\n\
             TLSCertificateKeyFile {d}/server.key\n\
             database mdb\n\
             maxsize 268435456\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"cn=admin,{SUFFIX}\"\n\
             rootpw {ROOT_PASSWORD}\n\
             directory {d}/db\n\
             limits * size.soft=500 size.hard=500 {paged_limit}\n",
            d = d.display()
        );
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        std::fs::write(d.join("data.ldif"), directory_ldif(disabled)).unwrap();
        run_ok(
            Command::new("slapadd")
                .args(["-q", "-f"])
                .arg(d.join("slapd.conf"))
                .arg("-l")
                .arg(d.join("data.ldif")),
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // slapd's parent exits once the daemon listens.
        run_ok(
            Command::new("slapd")
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .arg("-h")
                .arg(format!("ldap://127.0.0.1:{port}/")),
        );
        let pid = std::fs::read_to_string(d.join("slapd.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The daemon may still be opening its listener when its parent has exited (seen on
        // a loaded machine): wait until it accepts connections, for at most 10 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "slapd does not accept connections on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Slapd { dir, pid, port }
    }

    fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Applies `ldif` as the directory administrator (`ldapmodify`, plain LDAP: loopback).
    fn modify(&self, ldif: &str) {
        let path = self.dir.path().join("change.ldif");
        std::fs::write(&path, ldif).unwrap();
        run_ok(
            Command::new("ldapmodify")
                .args(["-x", "-H", &self.url(), "-D", &format!("cn=admin,{SUFFIX}")])
                .args(["-w", ROOT_PASSWORD, "-f"])
                .arg(&path),
        );
    }

    /// The `entryUUID` of `dn` (what the import links by).
    fn entry_uuid(&self, dn: &str) -> String {
        let out = run_ok(
            Command::new("ldapsearch")
                .args([
                    "-x",
                    "-LLL",
                    "-H",
                    &self.url(),
                    "-D",
                    READER,
                    "-w",
                    READER_PASSWORD,
                ])
                .args(["-s", "base", "-b", dn, "entryUUID"]),
        );
        out.lines()
            .find_map(|l| l.strip_prefix("entryUUID: "))
            .unwrap_or_else(|| panic!("no entryUUID for {dn}: {out}"))
            .to_string()
    }
}

/// A CA and a server certificate for 127.0.0.1, made with the openssl CLI.
fn make_certificates(d: &Path) {
    let openssl = |args: &[&str]| {
        run_ok(Command::new("openssl").current_dir(d).args(args));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=halo-integrator test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

/// Clients Contoso Ltd and Fabrikam Inc, and two hand-made Contoso users with directory
/// e-mails (user5 enabled, user7 disabled in the directory); returns (world, contoso, fabrikam).
fn world() -> (World, i64, i64) {
    let mut w = World::empty();
    let contoso = w.add_client("Contoso Ltd", &[]);
    let fabrikam = w.add_client("Fabrikam Inc", &[]);
    let site = w.client(contoso).unwrap().main_site_id;
    for n in [5, 7] {
        w.add_halo_user(HaloUser {
            id: 0,
            name: format!("Given{n} Sur{n}"),
            firstname: format!("Given{n}"),
            surname: format!("Sur{n}"),
            emailaddress: mail("user", n).to_uppercase(),
            azureoid: None,
            other: Default::default(),
            site_id: site,
            client_id: contoso,
            inactive: false,
            title: Some("Engineer".into()),
            phonenumber: Some(format!("+1 555 {n:04}")),
            mobilenumber: None,
            customfields: Vec::new(),
        });
    }
    (w, contoso, fabrikam)
}

fn env_for_ldap(sim: &Sim, slapd: &Slapd) -> Vec<(String, String)> {
    let mut env = env_for(sim);
    for (k, v) in [
        ("INTEGRATOR_IMPORTS", "ldap-users".to_string()),
        ("LDAP_URL", slapd.url()),
        ("LDAP_BIND_DN", READER.into()),
        ("LDAP_BIND_PASSWORD", READER_PASSWORD.into()),
        ("LDAP_BASE_DN", format!("ou=People,{SUFFIX}")),
        ("LDAP_FILTER", "(objectClass=inetOrgPerson)".into()),
        ("LDAP_CLIENT", "Contoso Ltd".into()),
        ("LDAP_LINK_FIELD", LINK_FIELD.into()),
        (
            "LDAP_CLIENT_MAP",
            format!("ou=Sales, ou=People,{SUFFIX}=Fabrikam Inc"),
        ),
        ("LDAP_CA_FILE", slapd.ca().display().to_string()),
        ("LDAP_PAGE_SIZE", "200".into()),
    ] {
        set(&mut env, k, &v);
    }
    env
}

/// Where the import keeps the directory id: a free-text property Halo users really have.
const LINK_FIELD: &str = "other5";

fn users_by_ldap_id(w: &World) -> std::collections::HashMap<String, HaloUser> {
    let mut map = std::collections::HashMap::new();
    for u in &w.halo.users {
        if let Some(id) = u.other.get(LINK_FIELD) {
            assert!(
                map.insert(id.clone(), u.clone()).is_none(),
                "two users linked to {id}"
            );
        }
    }
    map
}

#[tokio::test]
async fn a_paged_starttls_sync_links_creates_and_then_writes_nothing() {
    let slapd = Slapd::start(&[7, 10, 11]);
    // The size limit is real: an unpaged search stops at 500 entries (exit 4 = sizeLimitExceeded).
    let unpaged = Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-H",
            &slapd.url(),
            "-D",
            READER,
            "-w",
            READER_PASSWORD,
        ])
        .args(["-b", SUFFIX, "(objectClass=inetOrgPerson)", "dn"])
        .output()
        .unwrap();
    assert_eq!(unpaged.status.code(), Some(4), "{unpaged:?}");

    let (w, contoso, fabrikam) = world();
    let sim = start(w).await;
    let mut env = env_for_ldap(&sim, &slapd);
    set(&mut env, "RUST_LOG", "debug");
    let first = run(&env, &["run"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stderr.contains("\"level\":\"DEBUG\""),
        "debug logging on"
    );
    assert!(
        !first.all_output().contains(READER_PASSWORD),
        "the bind password leaked into the output"
    );
    let w = sim.world();
    let linked = users_by_ldap_id(&w);
    // Every enabled entry once; disabled 10 and 11 never created; 7 linked by e-mail.
    assert_eq!(linked.len(), PEOPLE + SALES - 2, "{first:?}");
    assert_eq!(w.halo.users.len(), PEOPLE + SALES - 2, "no duplicates");
    let user5 = &linked[&slapd.entry_uuid(&dn("user", 5))];
    assert_eq!(
        user5.id, w.halo.users[0].id,
        "the hand-made user was linked by e-mail"
    );
    let user7 = &linked[&slapd.entry_uuid(&dn("user", 7))];
    assert!(
        !user7.inactive,
        "disabled, but INTEGRATOR_DEACTIVATE_MISSING is off"
    );
    let sales = &linked[&slapd.entry_uuid(&dn("sales", 3))];
    assert_eq!(
        (sales.client_id, sales.name.as_str()),
        (fabrikam, "Given3 Sur3")
    );
    let user9 = &linked[&slapd.entry_uuid(&dn("user", 9))];
    assert_eq!(user9.client_id, contoso);
    assert_eq!(user9.emailaddress, mail("user", 9));
    assert_eq!(user9.phonenumber.as_deref(), Some("+1 555 0009"));

    sim.clear_requests();
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(
        user_writes(&sim.requests()),
        0,
        "second run must not write: {second:?}"
    );

    // Leavers: one entry deleted, one disabled; only with INTEGRATOR_DEACTIVATE_MISSING.
    slapd.modify(&format!(
        "dn: {}\nchangetype: delete\n\ndn: {}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n",
        dn("user", 20),
        dn("user", 21)
    ));
    let gone = w
        .halo
        .users
        .iter()
        .find(|u| u.emailaddress == mail("user", 20));
    let gone = gone.unwrap().id;
    let disabled = linked[&slapd.entry_uuid(&dn("user", 21))].id;
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    let third = run(&env, &["run"]).await;
    assert_eq!(third.code, 0, "{third:?}");
    let w = sim.world();
    let inactive: Vec<i64> = w
        .halo
        .users
        .iter()
        .filter(|u| u.inactive)
        .map(|u| u.id)
        .collect();
    let mut expected = vec![gone, disabled, user7.id];
    expected.sort();
    assert_eq!(inactive, expected, "{third:?}");
}

#[tokio::test]
async fn a_wrong_bind_password_exits_2_and_tls_is_verified() {
    let slapd = Slapd::start(&[]);
    let (w, _, _) = world();
    let sim = start(w).await;
    let mut env = env_for_ldap(&sim, &slapd);
    let wrong = "Wrong-Pa55-also-never-logged";
    set(&mut env, "LDAP_BIND_PASSWORD", wrong);
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.all_output()
            .contains("refused the bind as LDAP_BIND_DN"),
        "{out:?}"
    );
    assert!(out.all_output().contains("result code 49"), "{out:?}");
    assert!(
        !out.all_output().contains(wrong),
        "password in the output: {out:?}"
    );
    assert_eq!(user_writes(&sim.requests()), 0);

    // The same password from a mounted file works, and `check` says so.
    let file = slapd.dir.path().join("bind-password");
    std::fs::write(&file, format!("{READER_PASSWORD}\n")).unwrap();
    unset(&mut env, "LDAP_BIND_PASSWORD");
    set(
        &mut env,
        "LDAP_BIND_PASSWORD_FILE",
        &file.display().to_string(),
    );
    let check = run(&env, &["check"]).await;
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check.stdout.contains("and read an entry under ou=People"),
        "{check:?}"
    );
    assert!(!check.all_output().contains(READER_PASSWORD));

    // Without the test CA the server certificate is not trusted: no silent plain text.
    unset(&mut env, "LDAP_CA_FILE");
    let untrusted = run(&env, &["run"]).await;
    assert_eq!(untrusted.code, 1, "{untrusted:?}");
    assert!(
        untrusted
            .all_output()
            .contains("connecting to ldap://127.0.0.1"),
        "{untrusted:?}"
    );
}

#[tokio::test]
async fn a_search_cut_short_by_the_server_deactivates_nothing() {
    // The server stops every paged search after 1,000 entries (of 2,500).
    let slapd = Slapd::start_with(&[], "size.prtotal=1000");
    let (mut w, contoso, fabrikam) = world();
    // Every entry already in Halo and linked, as after an earlier complete run.
    let out = run_ok(
        Command::new("ldapsearch")
            .args([
                "-x",
                "-LLL",
                "-H",
                &slapd.url(),
                "-D",
                &format!("cn=admin,{SUFFIX}"),
            ])
            .args(["-w", ROOT_PASSWORD, "-b", &format!("ou=People,{SUFFIX}")])
            .args(["(objectClass=inetOrgPerson)", "entryUUID", "mail"]),
    );
    w.halo.users.clear();
    let mut linked = 0;
    for entry in out.split("\n\n").filter(|e| e.contains("entryUUID")) {
        let field = |name: &str| {
            entry
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap()
                .to_string()
        };
        let (uuid, email) = (field("entryUUID: "), field("mail: "));
        let client = if email.starts_with("sales") {
            fabrikam
        } else {
            contoso
        };
        let n: usize = email
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .split('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        w.add_halo_user(HaloUser {
            id: 0,
            name: format!("Given{n} Sur{n}"),
            firstname: format!("Given{n}"),
            surname: format!("Sur{n}"),
            emailaddress: email,
            azureoid: None,
            other: [(LINK_FIELD.to_string(), uuid)].into(),
            site_id: w.client(client).unwrap().main_site_id,
            client_id: client,
            inactive: false,
            title: Some("Engineer".into()),
            phonenumber: Some(format!("+1 555 {n:04}")),
            mobilenumber: None,
            customfields: Vec::new(),
        });
        linked += 1;
    }
    assert_eq!(linked, PEOPLE + SALES);
    let sim = start(w).await;
    let mut env = env_for_ldap(&sim, &slapd);
    set(&mut env, "INTEGRATOR_DEACTIVATE_MISSING", "true");
    set(&mut env, "INTEGRATOR_MAX_DEACTIVATIONS", "100000");
    set(&mut env, "INTEGRATOR_MAX_DEACTIVATION_PERCENT", "100");
    let out = run(&env, &["run"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.all_output().contains("directory read incomplete"),
        "{out:?}"
    );
    let w = sim.world();
    assert!(
        w.halo.users.iter().all(|u| !u.inactive),
        "a partial read deactivated users"
    );
    assert_eq!(
        user_writes(&sim.requests()),
        0,
        "what was read is in sync: {out:?}"
    );
}

/// Entries for the mapping-file test, all `employeeType: mapped` (the test's filter): two
/// under `ou=People` (Contoso), two under a new `ou=Leeds,ou=People` (Contoso) and two
/// under `ou=Sales,ou=People` (Fabrikam).
fn mapped_entries_ldif() -> String {
    let mut ldif = format!(
        "dn: ou=Leeds,ou=People,{SUFFIX}\nchangetype: add\nobjectClass: organizationalUnit\nou: Leeds\n\n"
    );
    for (uid, ou, department, number) in [
        ("hq1", "", Some("IT"), "E1"),
        ("hq2", "", Some("Finance"), "E2"),
        ("leeds1", "ou=Leeds,", Some("Ops"), "E3"),
        ("leeds2", "ou=Leeds,", None, "E4"),
        ("salesm1", "ou=Sales,", Some("Sales"), "E5"),
        ("salesm2", "ou=Sales,", Some("Ops"), "E6"),
    ] {
        ldif.push_str(&format!(
            "dn: uid={uid},{ou}ou=People,{SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\n\
             uid: {uid}\ncn: {uid}\nsn: {uid}\ndisplayName: {uid}\nmail: {uid}@example.test\n\
             employeeType: mapped\nemployeeNumber: {number}\n"
        ));
        if let Some(department) = department {
            ldif.push_str(&format!("departmentNumber: {department}\n"));
        }
        ldif.push('\n');
    }
    ldif
}

/// The mapping file: OU=Leeds → "Leeds Office"; the department (its attribute name in
/// another case) → CFDepartment always, the employee number → custom field 144 on create;
/// Fabrikam places by department and skips the others. `fabrikam_site` names the site of
/// Fabrikam's rule.
fn mapping_yaml(fabrikam_site: &str) -> String {
    format!(
        r#"imports:
  ldap-users:
    sites:
      - when: {{ou: Leeds}}
        site: Leeds Office
    fields:
      - {{from: DepartmentNumber, to: {{custom_field: CFDepartment}}}}
      - {{from: employeeNumber, to: {{custom_field: 144}}, "on": create}}
clients:
  "Fabrikam Inc":
    ldap-users:
      sites: [{{when: {{departmentNumber: Sales}}, site: "{fabrikam_site}"}}]
      default_site: skip
"#
    )
}

fn custom(user: &HaloUser, id: i64) -> Option<&str> {
    user.customfields
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.value.as_str())
}

#[tokio::test]
async fn the_mapping_file_places_by_ou_maps_custom_fields_and_fails_only_its_client() {
    use halo_integrator::sim::{
        HaloCustomFieldValue, HaloSite, USER_CF_DEPARTMENT, USER_CF_EMPLOYEE_ID, USER_CF_OFFICE,
    };
    let slapd = Slapd::start(&[]);
    slapd.modify(&mapped_entries_ldif());
    let (mut w, contoso, fabrikam) = world();
    let main = w.client(contoso).unwrap().main_site_id;
    let leeds_site = w.next_halo_id();
    w.halo.sites.push(HaloSite {
        id: leeds_site,
        name: "Leeds Office".into(),
        client_id: contoso,
        inactive: false,
    });
    // hq1 is in Halo already (matched by e-mail), with a department the mapping owns and
    // an office set by hand, which it does not.
    let mut hq1 = w.halo.users[0].clone();
    hq1.id = 0;
    hq1.name = "hq1".into();
    hq1.emailaddress = "hq1@example.test".into();
    hq1.customfields = vec![
        HaloCustomFieldValue {
            id: USER_CF_DEPARTMENT,
            value: "Old".into(),
        },
        HaloCustomFieldValue {
            id: USER_CF_OFFICE,
            value: "Desk 12".into(),
        },
    ];
    w.add_halo_user(hq1);
    let sim = start(w).await;
    let mut env = env_for_ldap(&sim, &slapd);
    set(
        &mut env,
        "LDAP_FILTER",
        "(&(objectClass=inetOrgPerson)(employeeType=mapped))",
    );
    let file = slapd.dir.path().join("mapping.yaml");
    std::fs::write(&file, mapping_yaml("Main")).unwrap();
    set(
        &mut env,
        "INTEGRATOR_CONFIG_FILE",
        &file.display().to_string(),
    );

    let first = run(&env, &["run"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    let w = sim.world();
    let by_uid = |w: &World, uid: &str| {
        let email = format!("{uid}@example.test");
        w.halo
            .users
            .iter()
            .find(|u| u.emailaddress == email)
            .cloned()
    };
    let user = |uid: &str| by_uid(&w, uid).unwrap_or_else(|| panic!("{uid}: {first:?}"));
    for uid in ["leeds1", "leeds2"] {
        assert_eq!(user(uid).site_id, leeds_site, "{uid} is in OU=Leeds");
    }
    let hq2 = user("hq2");
    assert_eq!(hq2.site_id, main, "no rule matches: the main site");
    assert_eq!(custom(&hq2, USER_CF_DEPARTMENT), Some("Finance"));
    assert_eq!(
        custom(&hq2, USER_CF_EMPLOYEE_ID),
        Some("E2"),
        "written on create"
    );
    assert_eq!(custom(&user("leeds1"), USER_CF_DEPARTMENT), Some("Ops"));
    let hq1 = user("hq1");
    assert_eq!(hq1.site_id, main, "not moved: no rule matches it");
    assert_eq!(custom(&hq1, USER_CF_DEPARTMENT), Some("IT"), "updated");
    assert_eq!(custom(&hq1, USER_CF_OFFICE), Some("Desk 12"), "kept");
    assert_eq!(custom(&hq1, USER_CF_EMPLOYEE_ID), None, "on: create only");
    let sales = user("salesm1");
    assert_eq!(
        (sales.client_id, sales.site_id),
        (fabrikam, w.client(fabrikam).unwrap().main_site_id)
    );
    assert!(by_uid(&w, "salesm2").is_none(), "default_site: skip");
    assert!(
        first
            .all_output()
            .contains("no site rule of the mapping file matches"),
        "{first:?}"
    );
    assert!(
        first
            .stdout
            .contains("created=1 updated=0 deactivated=0 reactivated=0 unchanged=0 skipped=1"),
        "Fabrikam counts the skipped entry: {first:?}"
    );

    // A create-only source value that changes is not rewritten; nothing else changed.
    slapd.modify(&format!(
        "dn: uid=hq2,ou=People,{SUFFIX}\nchangetype: modify\nreplace: employeeNumber\nemployeeNumber: E9\n"
    ));
    sim.clear_requests();
    let second = run(&env, &["run"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(user_writes(&sim.requests()), 0, "{second:?}");

    // A site name Fabrikam does not have fails Fabrikam only (exit 3), naming it; `check`
    // says so too, and that Contoso's section resolves.
    std::fs::write(&file, mapping_yaml("Nowhere")).unwrap();
    let third = run(&env, &["run"]).await;
    assert_eq!(third.code, 3, "{third:?}");
    assert!(third.all_output().contains("\"Nowhere\""), "{third:?}");
    assert_eq!(user_writes(&sim.requests()), 0, "{third:?}");
    assert!(
        third.stdout.contains("unchanged=4 skipped=0 failed=0"),
        "Contoso still synced: {third:?}"
    );
    let check = run(&env, &["check"]).await;
    assert_ne!(check.code, 0, "{check:?}");
    assert!(
        check
            .stdout
            .contains("ok   ldap-users mapping → Contoso Ltd")
            && check.stdout.contains("1 site rule, 2 field mappings"),
        "{check:?}"
    );
    assert!(
        check
            .stdout
            .contains("FAIL ldap-users mapping → Fabrikam Inc")
            && check.stdout.contains("\"Nowhere\""),
        "{check:?}"
    );

    // A user who moves into OU=Leeds moves to its site; the create-only value stays.
    std::fs::write(&file, mapping_yaml("Main")).unwrap();
    slapd.modify(&format!(
        "dn: uid=hq2,ou=People,{SUFFIX}\nchangetype: modrdn\nnewrdn: uid=hq2\ndeleteoldrdn: 1\n\
         newsuperior: ou=Leeds,ou=People,{SUFFIX}\n"
    ));
    let moved = run(&env, &["run"]).await;
    assert_eq!(moved.code, 0, "{moved:?}");
    let hq2 = by_uid(&sim.world(), "hq2").expect("hq2");
    assert_eq!(hq2.site_id, leeds_site, "{moved:?}");
    assert_eq!(custom(&hq2, USER_CF_EMPLOYEE_ID), Some("E2"));
    assert_eq!(custom(&hq2, USER_CF_DEPARTMENT), Some("Finance"));
}
