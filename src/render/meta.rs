//! Labels and metadata every rendered object carries.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

pub type Labels = BTreeMap<String, String>;

pub const NAME: &str = "app.kubernetes.io/name";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Set on every Namespace by Kubernetes itself; NetworkPolicies select namespaces by it.
pub const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// The labels that select a workload's pods: name, component and instance. Selectors stay
/// this small because a Deployment's selector can never change after creation.
pub fn selector(name: &str, component: &str, instance: &str) -> Labels {
    BTreeMap::from([
        (NAME.to_string(), name.to_string()),
        (COMPONENT.to_string(), component.to_string()),
        (INSTANCE.to_string(), instance.to_string()),
    ])
}

/// Selector labels plus the ones that say who made the object.
pub fn labels(selector: &Labels) -> Labels {
    let mut labels = selector.clone();
    labels.insert(PART_OF.to_string(), "obsc".to_string());
    labels.insert(MANAGED_BY.to_string(), "obsc".to_string());
    labels
}

pub fn object(name: &str, namespace: &str, selector: &Labels) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: Some(labels(selector)),
        ..ObjectMeta::default()
    }
}

pub fn match_labels(labels: &Labels) -> LabelSelector {
    LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() }
}

/// Every pod of one instance of a component, whatever its role (a ring's members).
pub fn instance(name: &str, instance: &str) -> Labels {
    BTreeMap::from([(NAME.to_string(), name.to_string()), (INSTANCE.to_string(), instance.to_string())])
}
