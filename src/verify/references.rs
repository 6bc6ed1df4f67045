//! Objects that name other objects: every workload's selector matches its own pods, every
//! Service and PodMonitor selects pods of the plan on ports they declare, and every HPA, PDB,
//! Route, Ingress,
//! StatefulSet `serviceName`, RoleBinding and pod ServiceAccount names something that exists.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ContainerPort, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::network::selects;
use super::Problem;
use crate::plan::Object;

/// A pod template of the plan: where it runs, its labels, its container ports.
pub struct Pods<'a> {
    pub owner: &'a Object,
    pub namespace: &'a str,
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<&'a ContainerPort>,
}

/// Every pod template of the plan, by namespace: computed once, read by the reference and the
/// network checks.
pub struct Templates<'a>(BTreeMap<&'a str, Vec<Pods<'a>>>);

impl<'a> Templates<'a> {
    pub fn of(objects: &[&'a Object]) -> Templates<'a> {
        let mut by_namespace: BTreeMap<&str, Vec<Pods>> = BTreeMap::new();
        for p in pods(objects) {
            by_namespace.entry(p.namespace).or_default().push(p);
        }
        Templates(by_namespace)
    }

    pub fn in_namespace(&self, namespace: &str) -> impl Iterator<Item = &Pods<'a>> {
        self.0.get(namespace).into_iter().flatten()
    }
}

fn pods<'a>(objects: &[&'a Object]) -> Vec<Pods<'a>> {
    let mut out = Vec::new();
    for o in objects {
        let template: Option<&PodTemplateSpec> = match o {
            Object::Deployment(d) => d.spec.as_ref().map(|s| &s.template),
            Object::StatefulSet(s) => s.spec.as_ref().map(|s| &s.template),
            Object::Job(j) => j.spec.as_ref().map(|s| &s.template),
            _ => None,
        };
        let Some(t) = template else { continue };
        let labels = t.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        let ports = t.spec.iter().flat_map(|s| s.containers.iter()).flat_map(|c| c.ports.iter().flatten()).collect();
        out.push(Pods { owner: o, namespace: o.namespace(), labels, ports });
    }
    out
}

/// Checks what the objects of `checked` name; names are looked up in `visible` (which holds
/// `checked` and everything they may name), pods in `templates` (of `visible`).
pub fn check(checked: &[&Object], visible: &[&Object], templates: &Templates) -> Vec<Problem> {
    let names: BTreeSet<(&str, &str, &str)> = visible.iter().map(|o| (o.kind(), o.namespace(), o.name())).collect();
    let exists = |kind: &str, ns: &str, name: &str| names.contains(&(kind, ns, name));
    let selected = |ns: &str, selector: &LabelSelector| -> Vec<&Pods> {
        templates.in_namespace(ns).filter(|p| selects(selector, &p.labels)).collect()
    };
    let mut found = Vec::new();
    for o in checked {
        let ns = o.namespace();
        let mut say = |p: String| found.push(Problem::of(o, p));
        let own = |selector: &LabelSelector, template: &PodTemplateSpec, say: &mut dyn FnMut(String)| {
            let labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
            if !selects(selector, &labels) {
                say("its selector does not match its own pod template's labels".to_string());
            }
        };
        match o {
            Object::Deployment(d) => {
                if let Some(s) = &d.spec {
                    own(&s.selector, &s.template, &mut say);
                }
            }
            Object::StatefulSet(s) => {
                if let Some(spec) = &s.spec {
                    own(&spec.selector, &spec.template, &mut say);
                    if let Some(service) = &spec.service_name {
                        if !exists("Service", ns, service) {
                            say(format!("its serviceName `{service}` is not a Service of the plan"));
                        }
                    }
                }
            }
            Object::Service(svc) => {
                let Some(spec) = &svc.spec else { continue };
                let Some(selector) = &spec.selector else { continue };
                let selector = LabelSelector { match_labels: Some(selector.clone()), ..LabelSelector::default() };
                let targets = selected(ns, &selector);
                if targets.is_empty() {
                    say("it selects no pod of the plan".to_string());
                }
                for port in spec.ports.iter().flatten() {
                    let protocol = port.protocol.as_deref().unwrap_or("TCP");
                    let target = port.target_port.clone().unwrap_or(IntOrString::Int(port.port));
                    for p in &targets {
                        let declared = p.ports.iter().any(|c| {
                            c.protocol.as_deref().unwrap_or("TCP") == protocol
                                && match &target {
                                    IntOrString::Int(n) => c.container_port == *n,
                                    IntOrString::String(name) => c.name.as_deref() == Some(name.as_str()),
                                }
                        });
                        if !declared {
                            let shown = match &target {
                                IntOrString::Int(n) => n.to_string(),
                                IntOrString::String(s) => s.clone(),
                            };
                            say(format!(
                                "its port `{}` targets `{shown}`/{protocol}, which {} does not declare",
                                port.name.as_deref().unwrap_or_default(),
                                p.owner.key()
                            ));
                        }
                    }
                }
            }
            Object::HorizontalPodAutoscaler(h) => {
                if let Some(t) = h.spec.as_ref().map(|s| &s.scale_target_ref) {
                    if !exists(&t.kind, ns, &t.name) {
                        say(format!("it scales {}/{}, which is not in the plan", t.kind, t.name));
                    }
                }
            }
            Object::PodDisruptionBudget(p) => {
                if let Some(selector) = p.spec.as_ref().and_then(|s| s.selector.as_ref()) {
                    if selected(ns, selector).is_empty() {
                        say("its selector matches no pod of the plan".to_string());
                    }
                }
            }
            Object::Route(r) => {
                if !exists("Service", ns, &r.spec.to.name) {
                    say(format!("it routes to Service `{}`, which is not in the plan", r.spec.to.name));
                } else if !service_has_port(visible, ns, &r.spec.to.name, &r.spec.port.target_port) {
                    say(format!("Service `{}` has no port `{}`", r.spec.to.name, r.spec.port.target_port));
                }
            }
            Object::Ingress(i) => {
                let backends = i
                    .spec
                    .iter()
                    .flat_map(|s| s.rules.iter().flatten())
                    .flat_map(|r| r.http.iter())
                    .flat_map(|h| h.paths.iter());
                for path in backends {
                    let Some(b) = &path.backend.service else { continue };
                    if !exists("Service", ns, &b.name) {
                        say(format!("it sends to Service `{}`, which is not in the plan", b.name));
                    } else if let Some(port) = b.port.as_ref().and_then(|p| p.name.clone()) {
                        if !service_has_port(visible, ns, &b.name, &port) {
                            say(format!("Service `{}` has no port `{port}`", b.name));
                        }
                    }
                }
            }
            Object::PodMonitor(m) => {
                let pods = selected(ns, &m.spec.selector);
                if pods.is_empty() {
                    say("its selector matches no pod of the plan".to_string());
                }
                for endpoint in &m.spec.pod_metrics_endpoints {
                    for p in &pods {
                        if !p.ports.iter().any(|c| c.name.as_deref() == Some(endpoint.port.as_str())) {
                            say(format!(
                                "it scrapes port `{}`, which {} does not declare",
                                endpoint.port,
                                p.owner.key()
                            ));
                        }
                    }
                }
            }
            Object::RoleBinding(b) => {
                if b.role_ref.kind == "Role" && !exists("Role", ns, &b.role_ref.name) {
                    say(format!("it binds Role `{}`, which is not in the plan", b.role_ref.name));
                }
                for s in b.subjects.iter().flatten().filter(|s| s.kind == "ServiceAccount") {
                    let subject_ns = s.namespace.as_deref().unwrap_or(ns);
                    if !exists("ServiceAccount", subject_ns, &s.name) {
                        say(format!(
                            "it binds ServiceAccount `{}` of `{subject_ns}`, which is not in the plan",
                            s.name
                        ));
                    }
                }
            }
            _ => {}
        }
        if let Some(account) = o.pod_spec().and_then(|s| s.service_account_name.as_deref()) {
            if account != "default" && !exists("ServiceAccount", ns, account) {
                say(format!("its pods run as ServiceAccount `{account}`, which is not in the plan"));
            }
        }
    }
    found
}

fn service_has_port(objects: &[&Object], ns: &str, service: &str, port: &str) -> bool {
    objects.iter().any(|o| match o {
        Object::Service(s) if o.namespace() == ns && o.name() == service => s
            .spec
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .any(|p| p.name.as_deref() == Some(port) || p.port.to_string() == port),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object<T: serde::de::DeserializeOwned + Into<Object>>(v: serde_json::Value) -> Object {
        serde_json::from_value::<T>(v).unwrap().into()
    }

    fn deployment(name: &str, labels: serde_json::Value, selector: serde_json::Value) -> Object {
        object::<k8s_openapi::api::apps::v1::Deployment>(json!({
            "metadata": { "name": name, "namespace": "ns" },
            "spec": { "selector": { "matchLabels": selector }, "template": { "metadata": { "labels": labels },
                "spec": { "containers": [{ "name": "c", "ports": [{ "name": "http", "containerPort": 3000 }] }] } } }
        }))
    }

    fn problems(objects: &[Object]) -> Vec<String> {
        let refs: Vec<&Object> = objects.iter().collect();
        check(&refs, &refs, &Templates::of(&refs))
            .into_iter()
            .map(|p| format!("{}: {}", p.subject, p.problem))
            .collect()
    }

    #[test]
    fn a_selector_that_misses_its_template_is_found() {
        let d = deployment("web", json!({ "app": "web" }), json!({ "app": "api" }));
        assert_eq!(
            problems(&[d]),
            vec!["Deployment/web in ns: its selector does not match its own pod template's labels"]
        );
    }

    #[test]
    fn services_select_pods_on_declared_ports() {
        let d = deployment("web", json!({ "app": "web" }), json!({ "app": "web" }));
        let good = object::<k8s_openapi::api::core::v1::Service>(
            json!({ "metadata": { "name": "web", "namespace": "ns" },
            "spec": { "selector": { "app": "web" }, "ports": [{ "name": "http", "port": 80, "targetPort": "http" }] } }),
        );
        let wrong_port = object::<k8s_openapi::api::core::v1::Service>(
            json!({ "metadata": { "name": "web2", "namespace": "ns" },
            "spec": { "selector": { "app": "web" }, "ports": [{ "name": "grpc", "port": 9095, "targetPort": "grpc" }] } }),
        );
        let nobody =
            object::<k8s_openapi::api::core::v1::Service>(json!({ "metadata": { "name": "none", "namespace": "ns" },
            "spec": { "selector": { "app": "gone" }, "ports": [] } }));
        assert_eq!(
            problems(&[d, good, wrong_port, nobody]),
            vec![
                "Service/web2 in ns: its port `grpc` targets `grpc`/TCP, which Deployment/web in ns does not declare",
                "Service/none in ns: it selects no pod of the plan",
            ]
        );
    }

    #[test]
    fn named_objects_must_exist() {
        let hpa = object::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>(json!({
            "metadata": { "name": "h", "namespace": "ns" },
            "spec": { "maxReplicas": 2, "scaleTargetRef": { "kind": "Deployment", "name": "missing" } } }));
        let binding = object::<k8s_openapi::api::rbac::v1::RoleBinding>(json!({
            "metadata": { "name": "b", "namespace": "ns" },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r" },
            "subjects": [{ "kind": "ServiceAccount", "name": "sa", "namespace": "other" }] }));
        let sts = object::<k8s_openapi::api::apps::v1::StatefulSet>(json!({
            "metadata": { "name": "s", "namespace": "ns" },
            "spec": { "serviceName": "headless", "selector": { "matchLabels": { "a": "s" } },
                "template": { "metadata": { "labels": { "a": "s" } }, "spec": { "containers": [] } } } }));
        assert_eq!(
            problems(&[hpa, binding, sts]),
            vec![
                "HorizontalPodAutoscaler/h in ns: it scales Deployment/missing, which is not in the plan",
                "RoleBinding/b in ns: it binds Role `r`, which is not in the plan",
                "RoleBinding/b in ns: it binds ServiceAccount `sa` of `other`, which is not in the plan",
                "StatefulSet/s in ns: its serviceName `headless` is not a Service of the plan",
            ]
        );
    }

    #[test]
    fn disruption_budgets_routes_and_accounts_name_what_exists() {
        let d = object::<k8s_openapi::api::apps::v1::Deployment>(json!({
            "metadata": { "name": "web", "namespace": "ns" },
            "spec": { "selector": { "matchLabels": { "app": "web" } }, "template": { "metadata": { "labels": { "app": "web" } },
                "spec": { "serviceAccountName": "web", "containers": [{ "name": "c", "ports": [{ "name": "http", "containerPort": 3000 }] }] } } }
        }));
        let svc = object::<k8s_openapi::api::core::v1::Service>(
            json!({ "metadata": { "name": "web", "namespace": "ns" },
            "spec": { "selector": { "app": "web" }, "ports": [{ "name": "http", "port": 80, "targetPort": "http" }] } }),
        );
        let pdb = object::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(
            json!({ "metadata": { "name": "p", "namespace": "ns" },
            "spec": { "maxUnavailable": 1, "selector": { "matchLabels": { "app": "api" } } } }),
        );
        let route: Object = crate::plan::Route {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("r".to_string()),
                namespace: Some("ns".to_string()),
                ..Default::default()
            },
            spec: crate::plan::RouteSpec {
                host: None,
                to: crate::plan::RouteTarget { kind: "Service".to_string(), name: "web".to_string(), weight: 100 },
                port: crate::plan::RoutePort { target_port: "https".to_string() },
                tls: crate::plan::RouteTls {
                    termination: "edge".to_string(),
                    insecure_edge_termination_policy: "Redirect".to_string(),
                },
            },
        }
        .into();
        assert_eq!(
            problems(&[d, svc, pdb, route]),
            vec![
                "Deployment/web in ns: its pods run as ServiceAccount `web`, which is not in the plan",
                "PodDisruptionBudget/p in ns: its selector matches no pod of the plan",
                "Route/r in ns: Service `web` has no port `https`",
            ]
        );
    }
}
