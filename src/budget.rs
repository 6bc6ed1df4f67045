//! Budget: what the plan's objects take from their namespaces' ResourceQuotas, measured on the
//! objects themselves, so it cannot disagree with what is applied.
//!
//! Kubernetes' quota admission (kubernetes/kubernetes pkg/quota/v1/evaluator/core/pods.go
//! `PodUsageFunc`, persistent_volume_claims.go `Usage`) counts, per namespace, every pod that is
//! not finished: its CPU and memory requests and limits (see [`pod`]), one `count/pods` each;
//! and every PersistentVolumeClaim: its `spec.resources.requests.storage` and one
//! `persistentvolumeclaims`.
//!
//! At **steady state** a namespace runs each Deployment's replicas (its HPA's `maxReplicas`
//! where one scales it: the quota must admit the most the HPA may ask for), each StatefulSet's
//! replicas and their claims, and each Job's `parallelism` pods while it runs. During a
//! **rollout** a Deployment with the RollingUpdate strategy runs up to `maxSurge` extra pods
//! (25% of its replicas rounded up when unset: pkg/apis/apps/v1/defaults.go,
//! pkg/controller/deployment/util/deployment_util.go `ResolveFenceposts`); Recreate runs none,
//! and a StatefulSet replaces one pod at a time, deleting before it creates
//! (pkg/controller/statefulset/stateful_set_control.go). The peak is the steady state plus every
//! Deployment's surge at once, as when one apply changes a value every workload reads.

pub mod report;

use std::collections::BTreeMap;
use std::ops::{Add, Mul};

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::diag::{field_path, Diagnostic, Diagnostics};
use crate::facts::placement::{self, Role};
use crate::load::SourceMap;
use crate::model::{Hard, Platform};
use crate::plan::Object;

/// One resource a ResourceQuota's `spec.hard` can limit and obsc measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    RequestsCpu,
    LimitsCpu,
    RequestsMemory,
    LimitsMemory,
    RequestsStorage,
    Claims,
    Pods,
}

impl Resource {
    pub const ALL: [Resource; 7] = [
        Resource::RequestsCpu,
        Resource::LimitsCpu,
        Resource::RequestsMemory,
        Resource::LimitsMemory,
        Resource::RequestsStorage,
        Resource::Claims,
        Resource::Pods,
    ];

    /// Its key in `spec.hard` (and in the topology's `quota`).
    pub fn key(self) -> &'static str {
        match self {
            Resource::RequestsCpu => "requests.cpu",
            Resource::LimitsCpu => "limits.cpu",
            Resource::RequestsMemory => "requests.memory",
            Resource::LimitsMemory => "limits.memory",
            Resource::RequestsStorage => "requests.storage",
            Resource::Claims => "persistentvolumeclaims",
            Resource::Pods => "count/pods",
        }
    }

    /// An amount of it as Kubernetes writes quantities: cores or millicores, a binary suffix,
    /// a count.
    pub fn show(self, amount: u64) -> String {
        match self {
            Resource::RequestsCpu | Resource::LimitsCpu => {
                if amount.is_multiple_of(1000) {
                    (amount / 1000).to_string()
                } else {
                    format!("{amount}m")
                }
            }
            Resource::RequestsMemory | Resource::LimitsMemory | Resource::RequestsStorage => bytes(amount),
            Resource::Claims | Resource::Pods => amount.to_string(),
        }
    }

    /// A quantity of the topology (`names.CpuQuantity`, `names.MemoryQuantity`,
    /// `names.StorageSize`) or a count, in this resource's unit.
    pub fn parse(self, quantity: &str) -> Option<u64> {
        match self {
            Resource::RequestsCpu | Resource::LimitsCpu => millis(quantity),
            Resource::RequestsMemory | Resource::LimitsMemory | Resource::RequestsStorage => {
                millis(quantity).map(|m| m.div_ceil(1000))
            }
            Resource::Claims | Resource::Pods => quantity.parse().ok(),
        }
    }
}

/// Bytes with the largest binary suffix that divides them exactly.
fn bytes(amount: u64) -> String {
    for (suffix, power) in [("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
        if amount != 0 && amount.is_multiple_of(1u64 << power) {
            return format!("{}{suffix}", amount >> power);
        }
    }
    amount.to_string()
}

/// A Kubernetes quantity in thousandths of its unit, rounded up (as the API server rounds a
/// CPU quantity to millicores): a decimal number and a decimal (`m`, `k`, `M`, `G`, `T`) or
/// binary (`Ki`, `Mi`, `Gi`, `Ti`) suffix. Exponents (`1e3`) are not a form obsc writes.
pub fn millis(quantity: &str) -> Option<u64> {
    let split = quantity.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    // The scale as a fraction: thousandths of the unit per unit of the number.
    let (numerator, denominator): (u128, u128) = match suffix {
        "m" => (1, 1),
        "" => (1000, 1),
        "k" => (1000u128.pow(2), 1),
        "M" => (1000u128.pow(3), 1),
        "G" => (1000u128.pow(4), 1),
        "T" => (1000u128.pow(5), 1),
        "Ki" => (1000 << 10, 1),
        "Mi" => (1000 << 20, 1),
        "Gi" => (1000 << 30, 1),
        "Ti" => (1000 << 40, 1),
        _ => return None,
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') || fraction.len() > 9 {
        return None;
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction_value: u128 = if fraction.is_empty() { 0 } else { fraction.parse().ok()? };
    let fraction_scale = 10u128.pow(fraction.len() as u32);
    let scaled = (whole * fraction_scale + fraction_value) * numerator;
    u64::try_from(scaled.div_ceil(fraction_scale * denominator)).ok()
}

/// Amounts of every [`Resource`]: CPU in millicores, memory and storage in bytes, counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Amounts {
    pub requests_cpu: u64,
    pub limits_cpu: u64,
    pub requests_memory: u64,
    pub limits_memory: u64,
    pub requests_storage: u64,
    pub claims: u64,
    pub pods: u64,
}

impl Amounts {
    pub fn get(&self, r: Resource) -> u64 {
        match r {
            Resource::RequestsCpu => self.requests_cpu,
            Resource::LimitsCpu => self.limits_cpu,
            Resource::RequestsMemory => self.requests_memory,
            Resource::LimitsMemory => self.limits_memory,
            Resource::RequestsStorage => self.requests_storage,
            Resource::Claims => self.claims,
            Resource::Pods => self.pods,
        }
    }

    fn get_mut(&mut self, r: Resource) -> &mut u64 {
        match r {
            Resource::RequestsCpu => &mut self.requests_cpu,
            Resource::LimitsCpu => &mut self.limits_cpu,
            Resource::RequestsMemory => &mut self.requests_memory,
            Resource::LimitsMemory => &mut self.limits_memory,
            Resource::RequestsStorage => &mut self.requests_storage,
            Resource::Claims => &mut self.claims,
            Resource::Pods => &mut self.pods,
        }
    }

    fn zip(self, other: Amounts, f: impl Fn(u64, u64) -> u64) -> Amounts {
        let mut out = Amounts::default();
        for r in Resource::ALL {
            *out.get_mut(r) = f(self.get(r), other.get(r));
        }
        out
    }
}

impl Add for Amounts {
    type Output = Amounts;
    fn add(self, other: Amounts) -> Amounts {
        self.zip(other, u64::saturating_add)
    }
}

impl Mul<u64> for Amounts {
    type Output = Amounts;
    fn mul(self, n: u64) -> Amounts {
        self.zip(Amounts::default(), |a, _| a.saturating_mul(n))
    }
}

/// What one object takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consumer {
    /// `StatefulSet/loki-write`.
    pub object: String,
    /// How many pods it runs at steady state, and what each takes (for the request's "why").
    pub replicas: u64,
    pub each: Amounts,
    pub steady: Amounts,
    pub peak: Amounts,
}

/// What the plan takes in one namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub consumers: Vec<Consumer>,
}

impl Usage {
    pub fn steady(&self) -> Amounts {
        self.consumers.iter().fold(Amounts::default(), |sum, c| sum + c.steady)
    }

    pub fn peak(&self) -> Amounts {
        self.consumers.iter().fold(Amounts::default(), |sum, c| sum + c.peak)
    }

    /// The consumers that take the most of `r` at steady state, most first.
    pub fn most(&self, r: Resource, n: usize) -> Vec<&Consumer> {
        let mut by: Vec<&Consumer> = self.consumers.iter().filter(|c| c.steady.get(r) > 0).collect();
        by.sort_by(|a, b| b.steady.get(r).cmp(&a.steady.get(r)).then_with(|| a.object.cmp(&b.object)));
        by.truncate(n);
        by
    }

    /// Adds another measurement of the same namespace (the core's objects there and a part's).
    pub fn absorb(&mut self, other: Usage) {
        self.consumers.extend(other.consumers);
        self.consumers.sort_by(|a, b| a.object.cmp(&b.object));
    }
}

/// Measures objects by namespace. A quantity obsc cannot read is a bug (renderers write the
/// forms [`millis`] reads); it is returned with the object.
pub fn measure<'a>(objects: impl IntoIterator<Item = &'a Object> + Clone) -> Result<BTreeMap<String, Usage>, String> {
    // `maxReplicas` of the HPA that scales each Deployment, by (namespace, name).
    let mut scaled: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for o in objects.clone() {
        if let Object::HorizontalPodAutoscaler(h) = o {
            if let Some(spec) = &h.spec {
                if spec.scale_target_ref.kind == "Deployment" {
                    scaled.insert((o.namespace(), &spec.scale_target_ref.name), count(spec.max_replicas));
                }
            }
        }
    }
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    for o in objects {
        let problem = |what: &str| format!("{}: cannot measure its {what}", o.key());
        let consumer = |replicas: u64, each: Amounts, surge: u64, claims: Amounts| Consumer {
            object: format!("{}/{}", o.kind(), o.name()),
            replicas,
            each,
            steady: each * replicas + claims,
            peak: each * (replicas + surge) + claims,
        };
        let measured = match o {
            Object::Deployment(d) => {
                let spec = d.spec.as_ref().ok_or_else(|| problem("spec"))?;
                let replicas = scaled
                    .get(&(o.namespace(), o.name()))
                    .copied()
                    .unwrap_or_else(|| count(spec.replicas.unwrap_or(1)));
                let each = pod(spec.template.spec.as_ref()).ok_or_else(|| problem("resources"))?;
                let strategy = spec.strategy.as_ref();
                let surge = if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
                    0
                } else {
                    let max_surge = strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.max_surge.as_ref());
                    surge(max_surge, replicas).ok_or_else(|| problem("maxSurge"))?
                };
                Some(consumer(replicas, each, surge, Amounts::default()))
            }
            Object::StatefulSet(s) => {
                let spec = s.spec.as_ref().ok_or_else(|| problem("spec"))?;
                let replicas = count(spec.replicas.unwrap_or(1));
                let each = pod(spec.template.spec.as_ref()).ok_or_else(|| problem("resources"))?;
                let mut claims = Amounts::default();
                for template in spec.volume_claim_templates.iter().flatten() {
                    claims = claims + claim(template).ok_or_else(|| problem("claim template"))? * replicas;
                }
                Some(consumer(replicas, each, 0, claims))
            }
            Object::Job(j) => {
                let spec = j.spec.as_ref().ok_or_else(|| problem("spec"))?;
                let each = pod(spec.template.spec.as_ref()).ok_or_else(|| problem("resources"))?;
                Some(consumer(count(spec.parallelism.unwrap_or(1)), each, 0, Amounts::default()))
            }
            Object::PersistentVolumeClaim(c) => {
                let taken = claim(c).ok_or_else(|| problem("size"))?;
                Some(consumer(0, Amounts::default(), 0, taken))
            }
            _ => None,
        };
        if let Some(c) = measured {
            out.entry(o.namespace().to_string()).or_default().consumers.push(c);
        }
    }
    for usage in out.values_mut() {
        usage.consumers.sort_by(|a, b| a.object.cmp(&b.object));
    }
    Ok(out)
}

fn count(n: i32) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Extra pods of a rolling update: `maxSurge` as a number, or a percentage of the replicas
/// rounded up; 25% when unset (the Deployment API's default).
fn surge(max_surge: Option<&IntOrString>, replicas: u64) -> Option<u64> {
    match max_surge {
        None => Some((replicas * 25).div_ceil(100)),
        Some(IntOrString::Int(n)) => u64::try_from(*n).ok(),
        Some(IntOrString::String(s)) => {
            let percent: u64 = s.strip_suffix('%')?.parse().ok()?;
            Some((replicas * percent).div_ceil(100))
        }
    }
}

/// What one pod takes: for each resource the larger of what runs together (its containers and
/// its sidecars, init containers that restart `Always`) and the most an ordinary init
/// container takes beside the sidecars started before it (`PodRequests` and `PodLimits` in
/// kubernetes/kubernetes staging/src/k8s.io/component-helpers/resource/helpers.go). obsc sets
/// no pod overhead and no pod-level resources.
fn pod(spec: Option<&PodSpec>) -> Option<Amounts> {
    let spec = spec?;
    let mut sum = Amounts::default();
    for c in &spec.containers {
        sum = sum + container(c.resources.as_ref())?;
    }
    let (mut sidecars, mut init) = (Amounts::default(), Amounts::default());
    for c in spec.init_containers.iter().flatten() {
        let takes = container(c.resources.as_ref())?;
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = sidecars + takes;
        } else {
            init = init.zip(takes + sidecars, u64::max);
        }
    }
    let mut each = (sum + sidecars).zip(init, u64::max);
    each.pods = 1;
    Some(each)
}

fn container(resources: Option<&ResourceRequirements>) -> Option<Amounts> {
    let mut a = Amounts::default();
    let Some(r) = resources else { return Some(a) };
    let read = |map: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
                key: &str,
                resource: Resource| {
        match map.as_ref().and_then(|m| m.get(key)) {
            Some(q) => resource.parse(&q.0),
            None => Some(0),
        }
    };
    a.requests_cpu = read(&r.requests, "cpu", Resource::RequestsCpu)?;
    a.limits_cpu = read(&r.limits, "cpu", Resource::LimitsCpu)?;
    a.requests_memory = read(&r.requests, "memory", Resource::RequestsMemory)?;
    a.limits_memory = read(&r.limits, "memory", Resource::LimitsMemory)?;
    Some(a)
}

/// What one claim takes.
fn claim(c: &PersistentVolumeClaim) -> Option<Amounts> {
    let size = c.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    Some(Amounts { requests_storage: Resource::RequestsStorage.parse(&size.0)?, claims: 1, ..Amounts::default() })
}

/// A namespace's quota as the topology declares it, resolved: a standard size's values with
/// the namespace's own on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Where: `quota.namespaces.<ns>` or `quota.roles.<role>`.
    pub path: Vec<String>,
    pub size: Option<String>,
    /// Each limited resource's value, and whether the quota itself (not its size) sets it.
    pub hard: BTreeMap<Resource, (u64, bool)>,
}

impl Declared {
    /// Where the diagnostic about `r` points: the value that sets it.
    fn field(&self, r: Resource) -> Vec<String> {
        let mut path = self.path.clone();
        match self.hard.get(&r) {
            Some((_, true)) => path.push(r.key().to_string()),
            _ if self.size.is_some() => path.push("size".to_string()),
            _ => {}
        }
        path
    }
}

/// The quota of `namespace` (of `role`), if the topology declares one.
pub fn declared(platform: &Platform, namespace: &str, role: Role) -> Option<Declared> {
    let quotas = platform.quota.as_ref()?;
    let (path, quota) = match quotas.namespaces.get(namespace) {
        Some(q) => (vec!["quota".to_string(), "namespaces".to_string(), namespace.to_string()], q),
        None => {
            let (key, q) = match role {
                Role::Monitoring => ("monitoring", &quotas.roles.monitoring),
                Role::Storage => ("storage", &quotas.roles.storage),
                Role::Grafana => ("grafana", &quotas.roles.grafana),
                Role::Managed => ("managed", &quotas.roles.managed),
                Role::Watched => return None,
            };
            (vec!["quota".to_string(), "roles".to_string(), key.to_string()], q.as_ref()?)
        }
    };
    let mut hard = BTreeMap::new();
    let base = quota.size.as_ref().and_then(|s| quotas.sizes.get(s));
    for (values, own) in base.into_iter().map(|b| (b, false)).chain([(&quota.hard, true)]) {
        for r in Resource::ALL {
            if let Some(v) = hard_value(values, r).and_then(|text| r.parse(&text)) {
                hard.insert(r, (v, own));
            }
        }
    }
    Some(Declared { path, size: quota.size.clone(), hard })
}

/// One value of a `spec.hard`, as text.
pub fn hard_value(hard: &Hard, r: Resource) -> Option<String> {
    match r {
        Resource::RequestsCpu => hard.requests_cpu.clone(),
        Resource::LimitsCpu => hard.limits_cpu.clone(),
        Resource::RequestsMemory => hard.requests_memory.clone(),
        Resource::LimitsMemory => hard.limits_memory.clone(),
        Resource::RequestsStorage => hard.requests_storage.clone(),
        Resource::Claims => hard.persistentvolumeclaims.map(|n| n.to_string()),
        Resource::Pods => hard.pods.map(|n| n.to_string()),
    }
}

/// The plan against the quotas: an error where a namespace does not fit at steady state
/// (pods would be refused at apply time), a warning where a rollout's surge would not fit (the
/// rollout would stall) or less than `quota.headroom_percent` of a quota is left, each at the
/// topology value that sets that quota and naming the objects that take the most.
pub fn judge(platform: &Platform, sources: &SourceMap, usage: &BTreeMap<String, Usage>) -> Diagnostics {
    let mut found = Diagnostics::default();
    let Some(quotas) = &platform.quota else { return found };
    let empty = Usage::default();
    for (namespace, place) in placement::of_platform(platform) {
        let Some(declared) = declared(platform, &namespace, place.role) else { continue };
        let usage = usage.get(&namespace).unwrap_or(&empty);
        let (steady, peak) = (usage.steady(), usage.peak());
        for (&r, &(hard, _)) in &declared.hard {
            let path = declared.field(r);
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let at = |d: Diagnostic| d.at(sources.value(&path), field_path(&path));
            let (key, show) = (r.key(), |n: u64| r.show(n));
            let most = most(usage, r);
            if steady.get(r) > hard {
                found.push(at(Diagnostic::error(format!(
                    "namespace `{namespace}` needs {} of `{key}` at steady state, over its quota of {}",
                    show(steady.get(r)),
                    show(hard)
                ))
                .help(format!(
                    "the most: {most}; pods over the quota are refused when applied: give them less, or ask for more (`obsc quota {} --request` writes the request)",
                    place.target
                ))));
            } else if peak.get(r) > hard {
                found.push(at(Diagnostic::warning(format!(
                    "namespace `{namespace}` needs {} of `{key}` while its Deployments roll out, over its quota of {}",
                    show(peak.get(r)),
                    show(hard)
                ))
                .help(format!(
                    "the most: {most}; a rollout's surge pods would wait for room and the rollout stall: ask for more, lower `maxSurge`, or use the Recreate strategy"
                ))));
            } else if (hard - steady.get(r)) as f64 * 100.0 < hard as f64 * quotas.headroom_percent {
                found.push(at(Diagnostic::warning(format!(
                    "namespace `{namespace}` leaves {} of its `{key}` quota of {} free at steady state, under the {}% headroom",
                    show(hard - steady.get(r)),
                    show(hard),
                    quotas.headroom_percent
                ))
                .help(format!(
                    "the most: {most}; ask for more before it runs out (`obsc quota {} --request`), or lower `quota.headroom_percent`",
                    place.target
                ))));
            }
        }
    }
    found
}

/// The three objects that take the most of `r`, for messages.
fn most(usage: &Usage, r: Resource) -> String {
    let most: Vec<String> =
        usage.most(r, 3).iter().map(|c| format!("{} {}", c.object, r.show(c.steady.get(r)))).collect();
    if most.is_empty() {
        "nothing obsc renders".to_string()
    } else {
        most.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object<T: serde::de::DeserializeOwned + Into<Object>>(v: serde_json::Value) -> Object {
        serde_json::from_value::<T>(v).unwrap().into()
    }

    fn pod_spec(cpu: &str, memory: &str) -> serde_json::Value {
        json!({ "containers": [{ "name": "c", "resources": {
            "requests": { "cpu": cpu, "memory": memory }, "limits": { "cpu": cpu, "memory": memory } } }] })
    }

    #[test]
    fn quantities_read_as_kubernetes_reads_them() {
        assert_eq!(millis("250m"), Some(250));
        assert_eq!(millis("1"), Some(1000));
        assert_eq!(millis("0.5"), Some(500));
        assert_eq!(millis("0.0001"), Some(1), "rounded up to a millicore");
        assert_eq!(Resource::RequestsMemory.parse("512Mi"), Some(512 << 20));
        assert_eq!(Resource::RequestsStorage.parse("1.5Gi"), Some(3 << 29));
        assert_eq!(Resource::RequestsMemory.parse("1G"), Some(1_000_000_000));
        assert_eq!(millis("1e3"), None);
        assert_eq!(millis("Mi"), None);
        assert_eq!(Resource::RequestsCpu.show(1500), "1500m");
        assert_eq!(Resource::RequestsCpu.show(2000), "2");
        assert_eq!(Resource::LimitsMemory.show(3 << 29), "1536Mi");
        assert_eq!(Resource::RequestsStorage.show(10 << 30), "10Gi");
    }

    #[test]
    fn a_namespace_takes_its_replicas_its_surge_and_its_claims() {
        let objects = vec![
            // Rolling with the default surge: 4 replicas, 1 more during a rollout.
            object::<k8s_openapi::api::apps::v1::Deployment>(json!({
                "metadata": { "name": "web", "namespace": "ns" },
                "spec": { "replicas": 4, "selector": {}, "template": { "spec": pod_spec("100m", "64Mi") } }
            })),
            // Scaled by an HPA to at most 5, with a surge of 2.
            object::<k8s_openapi::api::apps::v1::Deployment>(json!({
                "metadata": { "name": "api", "namespace": "ns" },
                "spec": { "replicas": 2, "selector": {}, "strategy": { "rollingUpdate": { "maxSurge": 2 } },
                    "template": { "spec": pod_spec("1", "1Gi") } }
            })),
            object::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>(json!({
                "metadata": { "name": "api", "namespace": "ns" },
                "spec": { "maxReplicas": 5, "scaleTargetRef": { "kind": "Deployment", "name": "api" } }
            })),
            // Recreate: no surge; its claim counts once.
            object::<k8s_openapi::api::apps::v1::Deployment>(json!({
                "metadata": { "name": "single", "namespace": "ns" },
                "spec": { "selector": {}, "strategy": { "type": "Recreate" }, "template": { "spec": pod_spec("500m", "256Mi") } }
            })),
            object::<PersistentVolumeClaim>(json!({
                "metadata": { "name": "data", "namespace": "ns" },
                "spec": { "resources": { "requests": { "storage": "10Gi" } } }
            })),
            // Three replicas, a claim each; replaced one at a time.
            object::<k8s_openapi::api::apps::v1::StatefulSet>(json!({
                "metadata": { "name": "db", "namespace": "ns" },
                "spec": { "replicas": 3, "selector": {}, "serviceName": "db", "template": { "spec": pod_spec("2", "4Gi") },
                    "volumeClaimTemplates": [{ "spec": { "resources": { "requests": { "storage": "20Gi" } } } }] }
            })),
            // A Job of two pods, whose init container asks for more memory than its container.
            object::<k8s_openapi::api::batch::v1::Job>(json!({
                "metadata": { "name": "once", "namespace": "ns" },
                "spec": { "parallelism": 2, "template": { "spec": {
                    "containers": [{ "name": "c", "resources": { "requests": { "cpu": "100m", "memory": "100Mi" } } }],
                    "initContainers": [{ "name": "i", "resources": { "requests": { "cpu": "50m", "memory": "300Mi" } } }] } } }
            })),
        ];
        let usage = measure(&objects).unwrap().remove("ns").unwrap();
        let steady = usage.steady();
        // CPU requests: web 4 x 100m, api 5 x 1, single 500m, db 3 x 2, once 2 x 100m.
        assert_eq!(steady.requests_cpu, 400 + 5000 + 500 + 6000 + 200);
        assert_eq!(steady.requests_memory, (4 * 64 + 5 * 1024 + 256 + 3 * 4096 + 2 * 300) << 20);
        assert_eq!(steady.limits_cpu, 400 + 5000 + 500 + 6000, "the Job sets no limits");
        assert_eq!(steady.pods, 4 + 5 + 1 + 3 + 2);
        assert_eq!(steady.requests_storage, (10 + 3 * 20) << 30);
        assert_eq!(steady.claims, 1 + 3);
        let peak = usage.peak();
        assert_eq!(peak.pods, steady.pods + 1 + 2, "web's default surge (25% of 4) and api's 2");
        assert_eq!(peak.requests_cpu, steady.requests_cpu + 100 + 2 * 1000);
        assert_eq!(peak.claims, steady.claims);
        let most: Vec<&str> = usage.most(Resource::RequestsCpu, 2).iter().map(|c| c.object.as_str()).collect();
        assert_eq!(most, vec!["StatefulSet/db", "Deployment/api"]);
    }

    #[test]
    fn surge_follows_the_deployment_api() {
        assert_eq!(surge(None, 1), Some(1));
        assert_eq!(surge(None, 8), Some(2));
        assert_eq!(surge(Some(&IntOrString::String("50%".into())), 3), Some(2));
        assert_eq!(surge(Some(&IntOrString::Int(0)), 3), Some(0));
        assert_eq!(surge(Some(&IntOrString::String("half".into())), 3), None);
    }
}
