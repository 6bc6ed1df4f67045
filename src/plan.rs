//! The plan: every Kubernetes object of every target, as typed values.
//!
//! Renderers produce [`Object`]s; the emitter turns them into bytes. Nothing in between is YAML.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, PodSpec, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, Metadata, NamespaceResourceScope, Resource};
use serde::Serialize;

use crate::model::Tenancy;

/// An OpenShift Route (`route.openshift.io/v1`), which k8s-openapi does not carry. Only the
/// fields obsc sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub metadata: ObjectMeta,
    pub spec: RouteSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub to: RouteTarget,
    pub port: RoutePort,
    pub tls: RouteTls,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteTarget {
    pub kind: String,
    pub name: String,
    pub weight: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutePort {
    pub target_port: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTls {
    pub termination: String,
    pub insecure_edge_termination_policy: String,
}

/// A Prometheus Operator PodMonitor (`monitoring.coreos.com/v1`), which k8s-openapi does not
/// carry: the cluster's monitoring stack scrapes the pods it selects. Only the fields obsc sets
/// (prometheus-operator example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitor {
    pub metadata: ObjectMeta,
    pub spec: PodMonitorSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    /// The pods to scrape, in the PodMonitor's own namespace.
    pub selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// The name of a container port of the selected pods.
    pub port: String,
    pub path: String,
}

/// A Prometheus Operator PrometheusRule (`monitoring.coreos.com/v1`): alerting rules the
/// cluster's monitoring stack evaluates. Only the fields obsc sets (prometheus-operator
/// example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrometheusRule {
    pub metadata: ObjectMeta,
    pub spec: PrometheusRuleSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrometheusRuleSpec {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// `Scope` of a k8s-openapi type, as a value: the emitter refuses cluster-scoped objects in
/// namespaced targets, and this is where it learns which ones are.
trait ScopeKind {
    const CLUSTER: bool;
}
impl ScopeKind for ClusterResourceScope {
    const CLUSTER: bool = true;
}
impl ScopeKind for NamespaceResourceScope {
    const CLUSTER: bool = false;
}

macro_rules! objects {
    ($($variant:ident),* $(,)?) => {
        /// One Kubernetes object. Each boxed: the structs are large (a Deployment several
        /// kilobytes) and a plan holds ten objects per managed namespace, so inline variants made
        /// every object as large as the largest kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Object {
            $($variant(Box<$variant>),)*
            Route(Box<Route>),
            PodMonitor(Box<PodMonitor>),
            PrometheusRule(Box<PrometheusRule>),
        }

        impl Object {
            pub fn api_version(&self) -> &'static str {
                match self {
                    $(Object::$variant(_) => <$variant as Resource>::API_VERSION,)*
                    Object::Route(_) => "route.openshift.io/v1",
                    Object::PodMonitor(_) | Object::PrometheusRule(_) => "monitoring.coreos.com/v1",
                }
            }

            pub fn kind(&self) -> &'static str {
                match self {
                    $(Object::$variant(_) => <$variant as Resource>::KIND,)*
                    Object::Route(_) => "Route",
                    Object::PodMonitor(_) => "PodMonitor",
                    Object::PrometheusRule(_) => "PrometheusRule",
                }
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$variant(o) => o.metadata(),)*
                    Object::Route(o) => &o.metadata,
                    Object::PodMonitor(o) => &o.metadata,
                    Object::PrometheusRule(o) => &o.metadata,
                }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Object::$variant(o) => o.metadata_mut(),)*
                    Object::Route(o) => &mut o.metadata,
                    Object::PodMonitor(o) => &mut o.metadata,
                    Object::PrometheusRule(o) => &mut o.metadata,
                }
            }

            pub fn cluster_scoped(&self) -> bool {
                match self {
                    $(Object::$variant(_) => <<$variant as Resource>::Scope as ScopeKind>::CLUSTER,)*
                    Object::Route(_) | Object::PodMonitor(_) | Object::PrometheusRule(_) => false,
                }
            }
        }

        impl Serialize for Object {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Object::$variant(o) => o.serialize(s),)*
                    Object::Route(o) => Document { api_version: "route.openshift.io/v1", kind: "Route", body: o }.serialize(s),
                    Object::PodMonitor(o) => Document { api_version: "monitoring.coreos.com/v1", kind: "PodMonitor", body: o }.serialize(s),
                    Object::PrometheusRule(o) => Document { api_version: "monitoring.coreos.com/v1", kind: "PrometheusRule", body: o }.serialize(s),
                }
            }
        }

        $(impl From<$variant> for Object {
            fn from(o: $variant) -> Self { Object::$variant(Box::new(o)) }
        })*
    };
}

objects!(
    Namespace,
    ServiceAccount,
    Role,
    RoleBinding,
    ConfigMap,
    PersistentVolumeClaim,
    Service,
    Deployment,
    StatefulSet,
    Job,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    Ingress,
);

impl From<Route> for Object {
    fn from(o: Route) -> Self {
        Object::Route(Box::new(o))
    }
}

impl From<PodMonitor> for Object {
    fn from(o: PodMonitor) -> Self {
        Object::PodMonitor(Box::new(o))
    }
}

impl From<PrometheusRule> for Object {
    fn from(o: PrometheusRule) -> Self {
        Object::PrometheusRule(Box::new(o))
    }
}

/// An object of a kind k8s-openapi does not carry, with its apiVersion and kind.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

/// What identifies an object in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{} in {}", self.kind, self.name, self.namespace)
        }
    }
}

impl Object {
    /// The pod template's spec of a workload object.
    pub fn pod_spec(&self) -> Option<&PodSpec> {
        match self {
            Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            Object::StatefulSet(s) => s.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            Object::Job(j) => j.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            _ => None,
        }
    }

    pub fn pod_spec_mut(&mut self) -> Option<&mut PodSpec> {
        match self {
            Object::Deployment(d) => d.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
            Object::StatefulSet(s) => s.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
            Object::Job(j) => j.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
            _ => None,
        }
    }

    /// Every container image a workload object runs.
    pub fn images(&self) -> Vec<String> {
        self.pod_spec()
            .map(|s| {
                s.containers.iter().chain(s.init_containers.iter().flatten()).filter_map(|c| c.image.clone()).collect()
            })
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        self.metadata().namespace.as_deref().unwrap_or_default()
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            api_version: self.api_version().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }
}

/// Everything one target holds.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    pub tenancy: Tenancy,
    pub objects: Vec<Object>,
    /// Component config files written beside the objects (the same text the ConfigMaps carry),
    /// so that upstream validators (`alloy fmt`, `loki -verify-config`) can read them. Keyed by
    /// path relative to the target directory.
    pub config_files: BTreeMap<String, String>,
}

/// Every target of the platform, and the flows between its pods that the configs dial.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub targets: BTreeMap<String, TargetPlan>,
    pub flows: Vec<Flow>,
}

/// One connection a component's configuration makes (or a cluster service makes to it): who
/// dials, whom, on which port, and why. The NetworkPolicies must allow each at both ends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    /// Shared: one endpoint is an end of many flows (every collector dials the same
    /// distributors), and a copy of its labels per flow was a large platform's biggest table.
    pub from: Arc<Endpoint>,
    pub to: Arc<Endpoint>,
    pub port: u16,
    pub protocol: Protocol,
    /// What dials, in a few words (`collector pushes logs`).
    pub why: String,
}

/// One end of a flow: pods selected by labels in a namespace (an empty selector: any pod there),
/// or an address outside every namespace (the API server, a database outside the cluster).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Pods {
        namespace: String,
        /// Labels the namespace carries besides `kubernetes.io/metadata.name` (OpenShift's
        /// router namespaces carry a policy-group label).
        namespace_labels: BTreeMap<String, String>,
        pods: BTreeMap<String, String>,
        /// Whether obsc runs these pods (then the plan must hold them); `false` for pods that run
        /// beside obsc's (a database in the tools namespace) or in namespaces obsc does not own.
        ours: bool,
    },
    /// An address no pod selector reaches; `cidr` is what an ipBlock must contain.
    Address { what: String, cidr: String },
}

impl Endpoint {
    /// Pods obsc renders (or, with an empty selector, any pod of a namespace).
    pub fn pods(namespace: &str, pods: &BTreeMap<String, String>) -> Endpoint {
        Endpoint::Pods {
            namespace: namespace.to_string(),
            namespace_labels: BTreeMap::new(),
            pods: pods.clone(),
            ours: true,
        }
    }

    /// Pods someone else runs, selected by their labels.
    pub fn their_pods(namespace: &str, pods: &BTreeMap<String, String>) -> Endpoint {
        Endpoint::Pods {
            namespace: namespace.to_string(),
            namespace_labels: BTreeMap::new(),
            pods: pods.clone(),
            ours: false,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Pods { namespace, pods, .. } if pods.is_empty() => write!(f, "any pod in `{namespace}`"),
            Endpoint::Pods { namespace, pods, .. } => {
                let labels: Vec<String> = pods.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "pods {{{}}} in `{namespace}`", labels.join(","))
            }
            Endpoint::Address { what, cidr } => write!(f, "{what} ({cidr})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

impl Plan {
    /// Adds a part's objects and config files to their targets (the flows stay this plan's).
    pub fn absorb(&mut self, part: Plan) {
        for (name, t) in part.targets {
            match self.targets.get_mut(&name) {
                Some(mine) => {
                    mine.objects.extend(t.objects);
                    mine.config_files.extend(t.config_files);
                }
                None => {
                    self.targets.insert(name, t);
                }
            }
        }
    }

    /// How many objects the plan holds.
    pub fn object_count(&self) -> usize {
        self.targets.values().map(|t| t.objects.len()).sum()
    }

    /// Image reference -> the objects that run it (`<target>: <object>`), for `obsc pins`.
    pub fn image_users(&self) -> BTreeMap<String, Vec<String>> {
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (target, plan) in &self.targets {
            for o in &plan.objects {
                for image in o.images() {
                    users.entry(image).or_default().push(format!("{target}: {}", o.key()));
                }
            }
        }
        users
    }
}
