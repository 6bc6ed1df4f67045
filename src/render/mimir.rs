//! Mimir: one per environment, monolithic with replicas.

use super::meta::{self, Labels};
use crate::names::{object, service_host, Backend};

pub const HTTP_PORT: u16 = 8080;

pub fn pods(environment: &str) -> Labels {
    meta::selector("mimir", "all", &Backend::Mimir.instance(environment))
}

/// Prometheus remote-write endpoint.
pub fn push_url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}/api/v1/push", service_host(object::MIMIR, monitoring_namespace))
}
