//! Facts: what the topology implies, worked out once, typed, for the checker and the renderers
//! alike. A fact both sides need lives here and nowhere else: the checker judges the topology
//! and these facts, the renderers build objects from them, and neither imports the other.
//!
//! - [`addresses`]: every component's pods (selector labels), ports, Services and URLs.
//! - [`placement`]: which target and role each namespace has.
//! - [`retention`]: each namespace's tier and each environment's tier periods.
//! - [`datasources`]: which datasources a Grafana provisions and their UIDs.
//!
//! Bucket names live in [`crate::buckets`], Secret names in [`crate::secrets`], naming rules and
//! fixed object names in [`crate::names`].

pub mod addresses;
pub mod datasources;
pub mod placement;
pub mod retention;
pub mod scrape;
