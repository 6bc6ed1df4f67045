//! Retention: which tier a namespace's pods land in, and how long each tier keeps logs in an
//! environment (the platform's period, or the environment's override).

use crate::model::{Environment, ManagedNamespace, Platform};
use crate::period::Period;

/// The tier of a namespace's pods that carry no `log_source` label: the namespace's own
/// default, else the platform's.
pub fn namespace_tier<'a>(platform: &'a Platform, namespace: &'a ManagedNamespace) -> &'a str {
    namespace.default_tier.as_deref().unwrap_or(&platform.retention.default_tier)
}

/// One tier's period in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPeriod<'a> {
    pub tier: &'a str,
    pub period: &'a Period,
}

/// The periods of every tier in an environment: the platform default tier's (what Loki keeps of
/// a stream no rule matches), and every other tier's, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentTiers<'a> {
    pub default: TierPeriod<'a>,
    pub others: Vec<TierPeriod<'a>>,
}

impl EnvironmentTiers<'_> {
    /// The longest period of any tier: how far back a query may need to reach.
    pub fn longest(&self) -> &Period {
        self.others.iter().map(|t| t.period).fold(self.default.period, |a, b| if b.hours() > a.hours() { b } else { a })
    }
}

/// `None` only when the platform's default tier names no tier, which the checker reports.
pub fn of_environment<'a>(platform: &'a Platform, environment: &'a Environment) -> Option<EnvironmentTiers<'a>> {
    let period = |tier: &'a str| {
        let base = &platform.retention.tiers.get(tier)?.period;
        Some(TierPeriod { tier, period: environment.retention.get(tier).unwrap_or(base) })
    };
    let default_name = platform.retention.default_tier.as_str();
    let default = period(default_name)?;
    let others =
        platform.retention.tiers.keys().filter(|t| t.as_str() != default_name).filter_map(|t| period(t)).collect();
    Some(EnvironmentTiers { default, others })
}
