//! What the cluster's monitoring stack scrapes: one PodMonitor per component and namespace
//! (`crate::facts::scrape`), selecting exactly the pods of the component's own NetworkPolicy on
//! their metrics port. The flows in `render::flows` open that port to the stack's namespace
//! alone; `verify` proves the selector finds pods that declare the port.

use super::meta;
use crate::facts::scrape::{self, Scraped};
use crate::plan::{PodMetricsEndpoint, PodMonitor, PodMonitorSpec};

/// The PodMonitor of one scraped component.
pub fn pod_monitor(s: &Scraped) -> PodMonitor {
    PodMonitor {
        metadata: meta::object(&s.name, &s.namespace, &s.pods),
        spec: PodMonitorSpec {
            selector: meta::match_labels(&s.pods),
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: s.port_name.to_string(),
                path: scrape::PATH.to_string(),
            }],
        },
    }
}
