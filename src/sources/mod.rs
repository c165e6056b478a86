//! Clients of the source systems the imports read (read-only): Microsoft Graph, LDAP
//! directories, tabular files (CSV / XLSX).

pub mod graph;
pub mod ldap;
pub mod spreadsheet;
