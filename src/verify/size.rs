//! Sizes the API server enforces.

use super::Problem;
use crate::plan::Object;

/// A ConfigMap's data and binaryData together: `MaxSecretSize`, 1 MiB, checked by
/// `ValidateConfigMap` (kubernetes/kubernetes pkg/apis/core/validation/validation.go; keys and
/// metadata do not count).
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;

/// Any object as the API server stores it: etcd refuses a request over `--max-request-bytes`,
/// 1.5 MiB by default (etcd-io/etcd server/embed/config.go, `DefaultMaxRequestBytes`), and
/// Kubernetes keeps each object in one etcd value. Measured on the object's JSON, what kubectl
/// sends; objects obsc renders stay far below it (no list in them grows with the topology
/// faster than a word per namespace).
pub const OBJECT_LIMIT: usize = 1536 * 1024;

/// Counts the bytes of a serialisation without keeping them.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of an object's JSON.
pub fn json_size(o: &Object) -> usize {
    let mut count = Count(0);
    // Writing to a counter cannot fail; a serialisation error shows as size 0 and is reported
    // by emit, which serialises every object again.
    let _ = serde_json::to_writer(&mut count, o);
    count.0
}

pub fn check(objects: &[&Object]) -> Vec<Problem> {
    let mut found = Vec::new();
    for o in objects {
        let size = json_size(o);
        if size > OBJECT_LIMIT {
            found.push(Problem::of(
                o,
                format!("it is {size} bytes as JSON; etcd refuses an object over {OBJECT_LIMIT} bytes (1.5 MiB)"),
            ));
        }
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

    #[test]
    fn any_object_over_etcds_limit_is_refused_with_its_size() {
        let mut big = ConfigMap::default();
        big.metadata.name = Some("labels".to_string());
        big.metadata.namespace = Some("ns".to_string());
        // Not data: labels, which the ConfigMap rule does not count.
        big.metadata.annotations = Some(BTreeMap::from([("a".to_string(), "x".repeat(OBJECT_LIMIT))]));
        let o: Object = big.into();
        assert!(json_size(&o) > OBJECT_LIMIT);
        let found = check(&[&o]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].problem.contains("etcd refuses"), "{}", found[0].problem);
        assert!(json_size(&config_map(10)) < 200);
    }
}
