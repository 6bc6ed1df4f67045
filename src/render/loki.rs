//! Loki: one per environment in its monitoring namespace.

use super::meta::{self, Labels};
use crate::model::{Loki, LokiMode};
use crate::names::{object, service_host, Backend};

pub const HTTP_PORT: u16 = 3100;

/// The pods that accept pushes: the write target, or every replica in monolithic mode.
pub fn push_pods(environment: &str, loki: &Loki) -> Labels {
    let component = match loki.mode {
        LokiMode::SimpleScalable => "write",
        LokiMode::Monolithic => "all",
    };
    meta::selector("loki", component, &Backend::Loki.instance(environment))
}

pub fn push_url(monitoring_namespace: &str) -> String {
    format!("http://{}:{HTTP_PORT}/loki/api/v1/push", service_host(object::LOKI_PUSH, monitoring_namespace))
}
