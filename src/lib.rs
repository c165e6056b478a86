//! halo-integrator: keeps HaloPSA in sync with the systems where people and devices live.

pub mod sim;
