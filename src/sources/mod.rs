//! Clients of the source systems the imports read from (read-only).

pub mod graph;
