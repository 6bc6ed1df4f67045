//! Pods as the kubelet starts them: every mount has its volume, every `$(VAR)` is defined
//! before it is used, every `${VAR}` a component expands from its environment is set, every
//! ConfigMap and Secret a pod reads exists with the keys it reads, and every probe names a port
//! its container declares.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, KeyToPath, PodSpec, Probe, Volume};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Problem;
use crate::plan::Object;
use crate::secrets::{self, Known};

/// OpenShift's service CA operator fills a ConfigMap carrying this annotation with this key.
const INJECT_CA_ANNOTATION: &str = "service.beta.openshift.io/inject-cabundle";
const INJECTED_CA_KEY: &str = "service-ca.crt";

/// The keys of every ConfigMap of the plan, by namespace and name.
struct ConfigMaps<'a> {
    by_name: BTreeMap<(&'a str, &'a str), (BTreeSet<&'a str>, bool)>,
    texts: BTreeMap<(&'a str, &'a str, &'a str), &'a str>,
}

impl<'a> ConfigMaps<'a> {
    fn of(objects: &[&'a Object]) -> ConfigMaps<'a> {
        let mut by_name = BTreeMap::new();
        let mut texts = BTreeMap::new();
        for o in objects {
            if let Object::ConfigMap(cm) = o {
                let keys: BTreeSet<&str> = cm.data.iter().flatten().map(|(k, _)| k.as_str()).collect();
                let injected =
                    cm.metadata.annotations.iter().flatten().any(|(k, v)| k == INJECT_CA_ANNOTATION && v == "true");
                by_name.insert((o.namespace(), o.name()), (keys, injected));
                for (k, v) in cm.data.iter().flatten() {
                    texts.insert((o.namespace(), o.name(), k.as_str()), v.as_str());
                }
            }
        }
        ConfigMaps { by_name, texts }
    }

    /// The keys of a ConfigMap of the plan (none if it is not in the plan).
    fn keys(&self, namespace: &str, name: &str) -> Vec<&'a str> {
        self.by_name.get(&(namespace, name)).map(|(keys, _)| keys.iter().copied().collect()).unwrap_or_default()
    }

    /// Why `key` (or the whole ConfigMap, with `None`) cannot be read, if it cannot.
    fn missing(&self, namespace: &str, name: &str, key: Option<&str>) -> Option<String> {
        let Some((keys, injected)) = self.by_name.get(&(namespace, name)) else {
            return Some(format!("ConfigMap `{name}` is not in the plan"));
        };
        match key {
            Some(k) if !(keys.contains(k) || (*injected && k == INJECTED_CA_KEY)) => {
                Some(format!("ConfigMap `{name}` has no key `{k}`"))
            }
            _ => None,
        }
    }
}

/// A ConfigMap a volume shows, directly or as one source of a projected volume.
struct ConfigMapSource<'v> {
    name: &'v str,
    items: Option<&'v Vec<KeyToPath>>,
    optional: bool,
}

fn config_map_sources(v: &Volume) -> Vec<ConfigMapSource<'_>> {
    let direct = v.config_map.iter().map(|cm| ConfigMapSource {
        name: cm.name.as_str(),
        items: cm.items.as_ref(),
        optional: cm.optional == Some(true),
    });
    let projected =
        v.projected.iter().flat_map(|p| p.sources.iter().flatten()).filter_map(|s| s.config_map.as_ref()).map(|cm| {
            ConfigMapSource { name: cm.name.as_str(), items: cm.items.as_ref(), optional: cm.optional == Some(true) }
        });
    direct.chain(projected).collect()
}

/// Checks the pods of `checked`; the ConfigMaps they read are looked up in `visible` (which
/// holds `checked` and the rest of their namespaces).
pub fn check(checked: &[&Object], visible: &[&Object], known: &Known) -> Vec<Problem> {
    let config_maps = ConfigMaps::of(visible);
    let mut found = Vec::new();
    for o in checked {
        let Some(spec) = o.pod_spec() else { continue };
        let mut say = |p: String| found.push(Problem::of(o, p));
        volumes(o, spec, &mut say);
        for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
            environment(c, &mut say);
            expanded_from_environment(o.namespace(), spec, c, &config_maps, &mut say);
            for probe in [&c.readiness_probe, &c.liveness_probe, &c.startup_probe].into_iter().flatten() {
                probe_port(c, probe, &mut say);
            }
            for e in c.env.iter().flatten() {
                if let Some(r) = e.value_from.as_ref().and_then(|v| v.config_map_key_ref.as_ref()) {
                    if r.optional != Some(true) {
                        if let Some(why) = config_maps.missing(o.namespace(), &r.name, Some(&r.key)) {
                            say(format!("container `{}` reads `{}` from {why}", c.name, e.name));
                        }
                    }
                }
            }
            for f in c.env_from.iter().flatten() {
                if let Some(r) = f.config_map_ref.as_ref().filter(|r| r.optional != Some(true)) {
                    if let Some(why) = config_maps.missing(o.namespace(), &r.name, None) {
                        say(format!("container `{}` takes its environment from {why}", c.name));
                    }
                }
            }
        }
        for v in spec.volumes.iter().flatten() {
            // Every file the volume shows, by its path in the volume: two sources of one
            // projected volume that write the same path would hide one another.
            let mut paths: BTreeMap<String, &str> = BTreeMap::new();
            for cm in config_map_sources(v) {
                let keys: Vec<(&str, &str)> = match cm.items {
                    Some(items) => items.iter().map(|i| (i.key.as_str(), i.path.as_str())).collect(),
                    None => config_maps.keys(o.namespace(), cm.name).into_iter().map(|k| (k, k)).collect(),
                };
                if !cm.optional {
                    let checked: Vec<Option<&str>> = match cm.items {
                        Some(_) => keys.iter().map(|(k, _)| Some(*k)).collect(),
                        None => vec![None],
                    };
                    for key in checked {
                        if let Some(why) = config_maps.missing(o.namespace(), cm.name, key) {
                            say(format!("volume `{}` mounts {why}", v.name));
                        }
                    }
                }
                for (_, path) in keys {
                    if let Some(other) = paths.insert(path.to_string(), cm.name) {
                        say(format!(
                            "volume `{}` shows `{path}` from ConfigMap `{other}` and from ConfigMap `{}`",
                            v.name, cm.name
                        ));
                    }
                }
            }
        }
        for r in secrets::references(spec) {
            match known.get(&(o.namespace().to_string(), r.name.clone())) {
                None => say(format!(
                    "it reads Secret `{}`, which obsc does not describe (`obsc secrets` would not list it)",
                    r.name
                )),
                Some(s) => {
                    if let Some(key) = r.key.as_deref().filter(|k| !s.keys.contains(k)) {
                        say(format!(
                            "it reads key `{key}` of Secret `{}`, whose described keys are {}",
                            r.name,
                            s.keys.join(", ")
                        ));
                    }
                }
            }
        }
    }
    found
}

/// Volume names are unique, every mount names a volume (a StatefulSet's claim templates count),
/// and no container mounts two volumes at one path.
fn volumes(o: &Object, spec: &PodSpec, say: &mut impl FnMut(String)) {
    let mut names = BTreeSet::new();
    for v in spec.volumes.iter().flatten() {
        if !names.insert(v.name.as_str()) {
            say(format!("the pod declares volume `{}` twice", v.name));
        }
    }
    if let Object::StatefulSet(s) = o {
        for claim in s.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()) {
            if let Some(name) = claim.metadata.name.as_deref() {
                if !names.insert(name) {
                    say(format!("claim template `{name}` has the name of a volume of the pod"));
                }
            }
        }
    }
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let mut paths = BTreeSet::new();
        for m in c.volume_mounts.iter().flatten() {
            if !names.contains(m.name.as_str()) {
                say(format!("container `{}` mounts volume `{}`, which the pod does not declare", c.name, m.name));
            }
            if !paths.insert(m.mount_path.as_str()) {
                say(format!("container `{}` mounts two volumes at `{}`", c.name, m.mount_path));
            }
        }
    }
}

/// The names of `$(NAME)` references in a value, as Kubernetes expands them (`$$` escapes).
pub fn dependent_variables(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    i += 2;
                    continue;
                }
                b'(' => {
                    if let Some(end) = value[i + 2..].find(')') {
                        let name = &value[i + 2..i + 2 + end];
                        // Only a variable name is a reference; `$(echo x)` in a shell script is
                        // not one, and Kubernetes leaves it as it is.
                        if is_variable_name(name) {
                            out.push(name.to_string());
                        }
                        i += 3 + end;
                        continue;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    out
}

/// An environment variable name as Kubernetes accepts it in a reference (C identifier).
fn is_variable_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `$(VAR)` in an env value names a variable defined earlier in the list; in command and args,
/// any variable of the container. Otherwise Kubernetes leaves the text as it is.
fn environment(c: &Container, say: &mut impl FnMut(String)) {
    let mut defined: BTreeSet<&str> = BTreeSet::new();
    let has_env_from = c.env_from.as_ref().is_some_and(|f| !f.is_empty());
    for e in c.env.iter().flatten() {
        for var in dependent_variables(e.value.as_deref().unwrap_or_default()) {
            if !defined.contains(var.as_str()) && !has_env_from {
                say(format!(
                    "container `{}`: `{}` refers to $({var}), which is not defined before it in the container's env",
                    c.name, e.name
                ));
            }
        }
        defined.insert(&e.name);
    }
    // In command and args an unresolved reference stays as written, which is how a shell script
    // keeps its `$(mktemp)`: only names written like environment variables (upper case) are
    // meant for Kubernetes.
    for arg in c.command.iter().flatten().chain(c.args.iter().flatten()) {
        for var in dependent_variables(arg) {
            let env_style = var.chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_');
            if env_style && !defined.contains(var.as_str()) && !has_env_from {
                say(format!(
                    "container `{}`: argument `{arg}` refers to $({var}), which its env does not define",
                    c.name
                ));
            }
        }
    }
}

/// The `${NAME}` a component expands from its environment in `text`, after `$$` (a literal `$`)
/// is taken out; a `$` that starts neither is reported as `$`.
pub fn expanded_variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'{') {
            if let Some(end) = text[i + 2..].find('}') {
                let inner = &text[i + 2..i + 2 + end];
                // `${VAR:-default}` has a fallback: it never breaks.
                if !inner.contains(":-") {
                    out.push(inner.to_string());
                }
                i += 3 + end;
                continue;
            }
        }
        out.push("$".to_string());
        i += 1;
    }
    out
}

/// Loki, Tempo, Mimir and Pyroscope expand `${VAR}` in their config file with
/// `-config.expand-env=true`; Grafana expands `$VAR`/`${VAR}` in every provisioning file. Each
/// variable must be set in that container.
fn expanded_from_environment(
    namespace: &str,
    spec: &PodSpec,
    c: &Container,
    config_maps: &ConfigMaps,
    say: &mut impl FnMut(String),
) {
    let args: Vec<&str> = c.args.iter().flatten().map(String::as_str).collect();
    let expands = args.contains(&"-config.expand-env=true");
    let config_file = args.iter().find_map(|a| a.strip_prefix("-config.file="));
    let env: BTreeSet<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
    for m in c.volume_mounts.iter().flatten() {
        let Some(volume) = spec.volumes.iter().flatten().find(|v| v.name == m.name) else { continue };
        let dir = m.mount_path.trim_end_matches('/');
        let provisioning = dir.starts_with("/etc/grafana/provisioning");
        let files = config_map_sources(volume).into_iter().flat_map(|cm| {
            config_maps
                .texts
                .range((namespace, cm.name, "")..)
                .take_while(move |((ns, name, _), _)| *ns == namespace && *name == cm.name)
        });
        for ((_, _, key), text) in files {
            let path = format!("{dir}/{key}");
            let read_expanded = (expands && config_file == Some(path.as_str())) || provisioning;
            if !read_expanded {
                continue;
            }
            for var in expanded_variables(text) {
                if var == "$" {
                    say(format!(
                        "container `{}` reads `{path}`, which has a `$` that starts no variable (write `$$`)",
                        c.name
                    ));
                } else if !env.contains(var.as_str()) {
                    say(format!(
                        "container `{}` expands ${{{var}}} in `{path}`, but its env does not set {var}",
                        c.name
                    ));
                }
            }
        }
    }
}

/// A probe on a named port needs that port on its container.
fn probe_port(c: &Container, probe: &Probe, say: &mut impl FnMut(String)) {
    let port = probe.http_get.as_ref().map(|h| &h.port).or(probe.tcp_socket.as_ref().map(|t| &t.port));
    if let Some(IntOrString::String(name)) = port {
        let declared = c.ports.iter().flatten().any(|p| p.name.as_deref() == Some(name.as_str()));
        if !declared {
            say(format!("container `{}` probes port `{name}`, which it does not declare", c.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(spec: serde_json::Value) -> Object {
        let d: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(json!({
            "metadata": { "name": "app", "namespace": "ns" },
            "spec": { "selector": { "matchLabels": { "a": "b" } }, "template": { "metadata": { "labels": { "a": "b" } }, "spec": spec } }
        }))
        .unwrap();
        d.into()
    }

    fn config_map(name: &str, data: serde_json::Value) -> Object {
        let cm: k8s_openapi::api::core::v1::ConfigMap =
            serde_json::from_value(json!({ "metadata": { "name": name, "namespace": "ns" }, "data": data })).unwrap();
        cm.into()
    }

    fn problems(objects: &[Object]) -> Vec<String> {
        let refs: Vec<&Object> = objects.iter().collect();
        check(&refs, &refs, &Known::new()).into_iter().map(|p| p.problem).collect()
    }

    #[test]
    fn a_mount_without_its_volume_is_found() {
        let d = deployment(json!({ "containers": [{ "name": "s3", "volumeMounts": [
            { "name": "data", "mountPath": "/data" }, { "name": "tmp", "mountPath": "/tmp" }] }],
            "volumes": [{ "name": "tmp", "emptyDir": {} }] }));
        assert_eq!(problems(&[d]), vec!["container `s3` mounts volume `data`, which the pod does not declare"]);
    }

    #[test]
    fn variables_must_be_defined_before_use() {
        let d = deployment(json!({ "containers": [{ "name": "g", "env": [
            { "name": "ADDR", "value": "$(POD_IP):9094" },
            { "name": "POD_IP", "value": "x" },
            { "name": "OK", "value": "$(POD_IP) and $$(LITERAL)" }] }] }));
        assert_eq!(
            problems(&[d]),
            vec!["container `g`: `ADDR` refers to $(POD_IP), which is not defined before it in the container's env"]
        );
    }

    #[test]
    fn arguments_may_keep_shell_substitutions_but_not_undefined_variables() {
        let d = deployment(json!({ "containers": [{ "name": "job", "env": [{ "name": "MASTERS", "value": "m" }],
            "args": ["-c", "d=$(mktemp -d); weed -master=$(MASTERS) $(FILERS)"] }] }));
        assert_eq!(
            problems(&[d]),
            vec!["container `job`: argument `d=$(mktemp -d); weed -master=$(MASTERS) $(FILERS)` refers to $(FILERS), which its env does not define"]
        );
    }

    #[test]
    fn expanded_config_variables_must_be_set() {
        let cm =
            config_map("loki", json!({ "loki.yaml": "key: ${S3_KEY}\nother: ${UNSET}\nfine: ${X:-d}\nlit: $$x\n" }));
        let d = deployment(json!({ "containers": [{ "name": "loki",
            "args": ["-config.file=/etc/loki/loki.yaml", "-config.expand-env=true"],
            "env": [{ "name": "S3_KEY", "value": "k" }],
            "volumeMounts": [{ "name": "config", "mountPath": "/etc/loki" }] }],
            "volumes": [{ "name": "config", "configMap": { "name": "loki" } }] }));
        assert_eq!(
            problems(&[cm, d]),
            vec!["container `loki` expands ${UNSET} in `/etc/loki/loki.yaml`, but its env does not set UNSET"]
        );
    }

    #[test]
    fn projected_config_maps_must_exist_show_distinct_paths_and_are_read_as_provisioning() {
        let a = config_map("ds-a", json!({ "a.yaml": "url: x\n", "same.yaml": "1" }));
        let b = config_map("ds-b", json!({ "b.yaml": "token: ${UNSET}\n", "same.yaml": "2" }));
        let d = deployment(json!({ "containers": [{ "name": "grafana",
            "volumeMounts": [{ "name": "datasources", "mountPath": "/etc/grafana/provisioning/datasources" }] }],
            "volumes": [{ "name": "datasources", "projected": { "sources": [
                { "configMap": { "name": "ds-a" } }, { "configMap": { "name": "ds-b" } }, { "configMap": { "name": "ds-gone" } }
            ] } }] }));
        let mut found = problems(&[a, b, d]);
        found.sort();
        assert_eq!(
            found,
            vec![
                "container `grafana` expands ${UNSET} in `/etc/grafana/provisioning/datasources/b.yaml`, but its env does not set UNSET",
                "volume `datasources` mounts ConfigMap `ds-gone` is not in the plan",
                "volume `datasources` shows `same.yaml` from ConfigMap `ds-a` and from ConfigMap `ds-b`",
            ]
        );
    }

    #[test]
    fn config_maps_and_keys_must_exist() {
        let cm = config_map("present", json!({ "a": "1" }));
        let d = deployment(json!({ "containers": [{ "name": "c", "env": [
            { "name": "A", "valueFrom": { "configMapKeyRef": { "name": "present", "key": "b" } } },
            { "name": "B", "valueFrom": { "configMapKeyRef": { "name": "absent", "key": "a" } } }] }],
            "volumes": [{ "name": "v", "configMap": { "name": "gone" } }] }));
        assert_eq!(
            problems(&[cm, d]),
            vec![
                "container `c` reads `A` from ConfigMap `present` has no key `b`",
                "container `c` reads `B` from ConfigMap `absent` is not in the plan",
                "volume `v` mounts ConfigMap `gone` is not in the plan",
            ]
        );
    }

    #[test]
    fn secrets_must_be_described_with_their_keys() {
        let d = deployment(json!({ "containers": [{ "name": "c", "env": [
            { "name": "A", "valueFrom": { "secretKeyRef": { "name": "s3", "key": "nope" } } },
            { "name": "B", "valueFrom": { "secretKeyRef": { "name": "unknown", "key": "k" } } }] }] }));
        let known = Known::from([(
            ("ns".to_string(), "s3".to_string()),
            crate::secrets::SecretRef {
                namespace: "ns".to_string(),
                name: "s3".to_string(),
                keys: vec!["access_key_id"],
                purpose: String::new(),
                hint: None,
            },
        )]);
        let found: Vec<String> = check(&[&d], &[&d], &known).into_iter().map(|p| p.problem).collect();
        assert_eq!(
            found,
            vec![
                "it reads key `nope` of Secret `s3`, whose described keys are access_key_id",
                "it reads Secret `unknown`, which obsc does not describe (`obsc secrets` would not list it)",
            ]
        );
    }

    #[test]
    fn probes_name_declared_ports() {
        let d = deployment(json!({ "containers": [{ "name": "c", "ports": [{ "name": "http", "containerPort": 80 }],
            "readinessProbe": { "httpGet": { "path": "/", "port": "metrics" } } }] }));
        assert_eq!(problems(&[d]), vec!["container `c` probes port `metrics`, which it does not declare"]);
    }

    #[test]
    fn variables_in_text() {
        assert_eq!(dependent_variables("$(A)-$$(B)-$(echo x)-$(C"), vec!["A"]);
        assert_eq!(expanded_variables("${A} $${B} ${C:-x} $D"), vec!["A", "$"]);
    }
}
