//! Labels and metadata every rendered object carries. Pod selectors come from
//! [`crate::facts::addresses`]; this adds who made the object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

pub use crate::facts::addresses::{instance, selector, Labels};

pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Set on every Namespace by Kubernetes itself; NetworkPolicies select namespaces by it.
pub const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

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
