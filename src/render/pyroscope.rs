//! Pyroscope (Phase 3): one per environment, monolithic.

use super::meta::{self, Labels};
use crate::names::{object, service_host, Backend};

pub const HTTP_PORT: u16 = 4040;

pub fn pods(environment: &str) -> Labels {
    meta::selector("pyroscope", "all", &Backend::Pyroscope.instance(environment))
}

pub fn url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}", service_host(object::PYROSCOPE, monitoring_namespace))
}
