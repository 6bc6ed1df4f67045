//! The collector pod: its ports share one network namespace.

use super::Checker;
use crate::facts::addresses::collector;

pub(super) fn check(c: &mut Checker) {
    let table = collector::ports(&c.platform.collector.ports);
    for (i, (name, port)) in table.iter().enumerate() {
        if let Some((first, _)) = table[..i].iter().find(|(_, p)| p == port) {
            c.error(
                &["collector", "ports", name],
                format!("collector ports clash: `{first}` and `{name}` both use port {port}"),
                "one Alloy process cannot bind a port twice: give each receiver its own port in `collector.ports`",
            );
        }
    }
}
