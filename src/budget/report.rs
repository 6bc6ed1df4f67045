//! `obsc quota`: a target's namespaces against their quotas, as a table, as JSON, and as the
//! text of a quota increase request.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{declared, Amounts, Declared, Resource, Usage};
use crate::facts::placement;
use crate::model::Platform;

/// Every namespace of a target: its quota, what the plan takes, what takes the most.
#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub plate: String,
    /// `quota.headroom_percent`, if the platform declares quotas.
    pub headroom_percent: Option<f64>,
    pub namespaces: Vec<Namespace>,
}

#[derive(Debug, Serialize)]
pub struct Namespace {
    pub namespace: String,
    /// What obsc does there (`an environment's monitoring namespace`).
    pub role: &'static str,
    /// Where its quota is declared (`quota.roles.monitoring`), if anywhere.
    pub quota_from: Option<String>,
    pub size: Option<String>,
    pub resources: Vec<Line>,
    /// What each object takes, the most CPU requests first.
    pub consumers: Vec<Consumer>,
    /// What to ask for, if it does not fit with headroom; see [`Report::request`].
    pub ask: Option<Ask>,
}

/// One resource of a namespace; quantities as Kubernetes writes them.
#[derive(Debug, Serialize)]
pub struct Line {
    pub resource: &'static str,
    pub quota: Option<String>,
    pub steady: String,
    pub peak: String,
    /// The share of the quota left at steady state, rounded down; negative when over.
    pub free_percent: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Consumer {
    pub object: String,
    pub pods: u64,
    /// What one of its pods takes.
    pub each: Quantities,
    /// What it takes at steady state (claims included).
    pub steady: Quantities,
}

/// Quantities by resource, in the order of [`Resource::ALL`] (a JSON object).
#[derive(Debug)]
pub struct Quantities(pub Vec<(&'static str, String)>);

impl Serialize for Quantities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Quantities {
    fn shown(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} {v}")).collect();
        parts.join(", ")
    }
}

/// The quota to ask for: a standard size, or values where no size is large enough (or none
/// is declared). `need` is the rollout peak with the headroom on top.
#[derive(Debug, Serialize)]
pub struct Ask {
    pub size: Option<String>,
    /// Sizes are declared, but none is large enough.
    pub beyond_sizes: bool,
    pub values: BTreeMap<&'static str, String>,
    pub need: BTreeMap<&'static str, String>,
}

fn amounts(a: &Amounts, keep: impl Fn(Resource) -> bool) -> Quantities {
    Quantities(Resource::ALL.into_iter().filter(|r| keep(*r)).map(|r| (r.key(), r.show(a.get(r)))).collect())
}

impl Report {
    pub fn of(platform: &Platform, target: &str, usage: &BTreeMap<String, Usage>) -> Report {
        let headroom = platform.quota.as_ref().map(|q| q.headroom_percent);
        let empty = Usage::default();
        let mut namespaces = Vec::new();
        for (namespace, place) in placement::of_platform(platform) {
            if place.target != target || place.role == placement::Role::Watched {
                continue;
            }
            let u = usage.get(&namespace).unwrap_or(&empty);
            let quota = declared(platform, &namespace, place.role);
            let (steady, peak) = (u.steady(), u.peak());
            let hard = |r: Resource| quota.as_ref().and_then(|q| q.hard.get(&r)).map(|(v, _)| *v);
            let resources = Resource::ALL
                .into_iter()
                .map(|r| Line {
                    resource: r.key(),
                    quota: hard(r).map(|h| r.show(h)),
                    steady: r.show(steady.get(r)),
                    peak: r.show(peak.get(r)),
                    free_percent: hard(r)
                        .filter(|h| *h > 0)
                        .map(|h| ((h as i128 - steady.get(r) as i128) * 100).div_euclid(h as i128) as i64),
                })
                .collect();
            let mut consumers: Vec<&super::Consumer> = u.consumers.iter().collect();
            consumers.sort_by(|a, b| {
                b.steady.requests_cpu.cmp(&a.steady.requests_cpu).then_with(|| a.object.cmp(&b.object))
            });
            let consumers = consumers
                .into_iter()
                .map(|c| Consumer {
                    object: c.object.clone(),
                    pods: c.replicas,
                    each: amounts(&c.each, |r| {
                        !matches!(r, Resource::RequestsStorage | Resource::Claims | Resource::Pods)
                    }),
                    steady: amounts(&c.steady, |r| c.steady.get(r) > 0),
                })
                .collect();
            let ask = quota.as_ref().and_then(|q| ask(platform, q, &peak, headroom.unwrap_or(0.0)));
            namespaces.push(Namespace {
                namespace,
                role: place.role.what(),
                quota_from: quota.as_ref().map(|q| {
                    let path: Vec<&str> = q.path.iter().map(String::as_str).collect();
                    crate::diag::field_path(&path)
                }),
                size: quota.as_ref().and_then(|q| q.size.clone()),
                resources,
                consumers,
                ask,
            });
        }
        Report { target: target.to_string(), plate: platform.plate.clone(), headroom_percent: headroom, namespaces }
    }

    /// The table: per namespace, each resource's quota, steady use, rollout peak and free
    /// share, then what takes the most.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, ns) in self.namespaces.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let quota = match (&ns.quota_from, &ns.size) {
                (Some(from), Some(size)) => format!("quota from {from} (size {size})"),
                (Some(from), None) => format!("quota from {from}"),
                (None, _) => "no quota declared".to_string(),
            };
            let _ = writeln!(out, "{}: {}, {quota}", ns.namespace, ns.role);
            let _ = writeln!(out, "  {:<24} {:>8} {:>8} {:>8} {:>6}", "resource", "quota", "steady", "peak", "free");
            for l in &ns.resources {
                let free = l.free_percent.map(|p| format!("{p}%")).unwrap_or_else(|| "-".to_string());
                let quota = l.quota.as_deref().unwrap_or("-");
                let _ = writeln!(out, "  {:<24} {:>8} {:>8} {:>8} {:>6}", l.resource, quota, l.steady, l.peak, free);
            }
            for c in ns.consumers.iter().take(5) {
                let _ = writeln!(out, "  {}: {}", c.object, c.steady.shown());
            }
            if ns.consumers.len() > 5 {
                let _ = writeln!(out, "  ... and {} more", ns.consumers.len() - 5);
            }
        }
        out
    }

    /// The text of a quota increase request for every namespace that does not fit its quota
    /// with headroom during a rollout; empty if all do.
    pub fn request(&self) -> String {
        let asking: Vec<&Namespace> = self.namespaces.iter().filter(|n| n.ask.is_some()).collect();
        if asking.is_empty() {
            return String::new();
        }
        let mut out = String::new();
        let _ = writeln!(out, "Quota increase request for project set {}, target {}", self.plate, self.target);
        let headroom = self.headroom_percent.unwrap_or(0.0);
        let _ = writeln!(
            out,
            "Each figure is what obsc's workloads need while they roll out, worked out from the rendered manifests, with {headroom}% headroom on CPU, memory and storage."
        );
        for ns in asking {
            let Some(ask) = &ns.ask else { continue };
            let _ = writeln!(out, "\nNamespace {} ({})", ns.namespace, ns.role);
            let now = match &ns.size {
                Some(size) => format!("size {size}"),
                None => "its own values".to_string(),
            };
            let _ = match (&ask.size, ask.beyond_sizes) {
                (Some(size), _) => writeln!(out, "  Asking for: size {size} (now {now})"),
                (None, true) => {
                    writeln!(out, "  Asking for these values (now {now}; no standard size is large enough):")
                }
                (None, false) => writeln!(out, "  Asking for these values (now {now}):"),
            };
            for l in &ns.resources {
                let Some(new) = ask.values.get(l.resource) else { continue };
                let now = l.quota.as_deref().unwrap_or("none");
                let need = ask.need.get(l.resource).map(String::as_str).unwrap_or("-");
                let _ = writeln!(out, "    {}: {now} -> {new} (needs {need})", l.resource);
            }
            let _ = writeln!(out, "  Why:");
            for c in &ns.consumers {
                if c.pods > 0 {
                    let _ = writeln!(
                        out,
                        "    {}: {} pod(s) of {}; in all {}",
                        c.object,
                        c.pods,
                        c.each.shown(),
                        c.steady.shown()
                    );
                } else {
                    let _ = writeln!(out, "    {}: {}", c.object, c.steady.shown());
                }
            }
        }
        out
    }
}

/// What to ask for where the rollout peak plus headroom exceeds the quota: the smallest
/// standard size that covers every need (by CPU requests, then name), else values rounded up
/// (whole cores, whole GiB).
fn ask(platform: &Platform, quota: &Declared, peak: &Amounts, headroom: f64) -> Option<Ask> {
    let need = |r: Resource| -> u64 {
        let peak = peak.get(r);
        match r {
            Resource::Claims | Resource::Pods => peak,
            _ => (peak as f64 * 100.0 / (100.0 - headroom)).ceil() as u64,
        }
    };
    let short: Vec<Resource> = quota.hard.iter().filter(|(r, (hard, _))| need(**r) > *hard).map(|(r, _)| *r).collect();
    if short.is_empty() {
        return None;
    }
    // Shown to the MiB: a need in bytes reads as noise.
    let mib = |r: Resource, v: u64| match r {
        Resource::RequestsMemory | Resource::LimitsMemory | Resource::RequestsStorage => v.div_ceil(1 << 20) << 20,
        _ => v,
    };
    let needs: BTreeMap<&'static str, String> =
        quota.hard.keys().map(|r| (r.key(), r.show(mib(*r, need(*r))))).collect();
    let quotas = platform.quota.as_ref()?;
    let mut fitting: Vec<(u64, &String, BTreeMap<Resource, u64>)> = Vec::new();
    for (name, size) in &quotas.sizes {
        let values: BTreeMap<Resource, u64> = Resource::ALL
            .into_iter()
            .filter_map(|r| super::hard_value(size, r).and_then(|t| r.parse(&t)).map(|v| (r, v)))
            .collect();
        if quota.hard.keys().all(|r| values.get(r).is_none_or(|v| *v >= need(*r))) {
            fitting.push((values.get(&Resource::RequestsCpu).copied().unwrap_or(u64::MAX), name, values));
        }
    }
    fitting.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    if let Some((_, name, values)) = fitting.into_iter().next() {
        let values =
            values.into_iter().filter(|(r, _)| quota.hard.contains_key(r)).map(|(r, v)| (r.key(), r.show(v))).collect();
        return Some(Ask { size: Some(name.clone()), beyond_sizes: false, values, need: needs });
    }
    let round = |r: Resource, v: u64| match r {
        Resource::RequestsCpu | Resource::LimitsCpu => v.div_ceil(1000) * 1000,
        Resource::RequestsMemory | Resource::LimitsMemory | Resource::RequestsStorage => v.div_ceil(1 << 30) << 30,
        Resource::Claims | Resource::Pods => v,
    };
    let values = short.iter().map(|r| (r.key(), r.show(round(*r, need(*r))))).collect();
    Some(Ask { size: None, beyond_sizes: !quotas.sizes.is_empty(), values, need: needs })
}
