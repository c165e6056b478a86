//! Clients of the source systems the imports read (read-only): Microsoft Graph, tabular
//! files (CSV / XLSX).

pub mod graph;
pub mod spreadsheet;
