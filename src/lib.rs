//! obsc compiles an observability topology written in Nickel into reproducible Kubernetes YAML,
//! one directory per target. See ARCHITECTURE.md for the map.

pub mod diag;
pub mod load;
pub mod model;
pub mod pins;
