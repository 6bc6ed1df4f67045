//! Sizes the API server enforces.

use super::Problem;
use crate::plan::Object;

/// A ConfigMap's data and binaryData together: `MaxSecretSize`, 1 MiB, checked by
/// `ValidateConfigMap` (kubernetes/kubernetes pkg/apis/core/validation/validation.go; keys and
/// metadata do not count).
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;

pub fn check(objects: &[&Object]) -> Vec<Problem> {
    let mut found = Vec::new();
    for o in objects {
        if let Object::ConfigMap(cm) = o {
            let size: usize = cm.data.iter().flatten().map(|(_, v)| v.len()).sum::<usize>()
                + cm.binary_data.iter().flatten().map(|(_, v)| v.0.len()).sum::<usize>();
            if size > CONFIG_MAP_LIMIT {
                found.push(Problem::of(
                    o,
                    format!("its data is {size} bytes; the API server refuses a ConfigMap over {CONFIG_MAP_LIMIT} bytes (1 MiB)"),
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use std::collections::BTreeMap;

    fn config_map(bytes: usize) -> Object {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("big".to_string());
        cm.metadata.namespace = Some("ns".to_string());
        cm.data = Some(BTreeMap::from([("a".to_string(), "x".repeat(bytes))]));
        cm.into()
    }

    #[test]
    fn a_config_map_over_one_mebibyte_is_refused_with_its_size() {
        assert!(check(&[&config_map(CONFIG_MAP_LIMIT)]).is_empty());
        let found = check(&[&config_map(CONFIG_MAP_LIMIT + 1)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "ConfigMap/big in ns");
        assert!(found[0].problem.contains("1048577 bytes"), "{}", found[0].problem);
    }
}
