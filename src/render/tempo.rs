//! Tempo: one per environment, monolithic.

use super::meta::{self, Labels};
use crate::names::{object, service_host, Backend};

pub const HTTP_PORT: u16 = 3200;
pub const OTLP_GRPC_PORT: u16 = 4317;

pub fn pods(environment: &str) -> Labels {
    meta::selector("tempo", "all", &Backend::Tempo.instance(environment))
}

/// Where collectors send OTLP traces (gRPC, plaintext inside the cluster).
pub fn otlp_endpoint(monitoring_namespace: &str) -> String {
    format!("{}:{OTLP_GRPC_PORT}", service_host(object::TEMPO, monitoring_namespace))
}
