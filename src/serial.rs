//! Text from typed values: obsc's one YAML style and its one JSON style.
//!
//! Renderers use it for component config files (Loki, Tempo, Grafana provisioning...), the
//! emitter for objects: both sides of the plan write with the same settings, so a config file
//! and the ConfigMap that carries it can never differ in style.

mod plain;

use serde::Serialize;
use serde_saphyr::SerializerOptions;

/// A value that could not be written as text. Typed values obsc builds always can be; this is a
/// bug if it ever shows, and the caller says so with the value's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialError(pub String);

impl std::fmt::Display for SerialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The YAML text of a value: serde-saphyr's, written directly when the value is in the plain
/// subset ([`plain`]), which gives the same bytes faster.
pub fn yaml<T: Serialize>(value: &T) -> Result<String, SerialError> {
    match plain::yaml(value) {
        Some(text) => Ok(text),
        None => saphyr(value),
    }
}

/// The YAML text of a value, as serde-saphyr writes it with obsc's settings.
fn saphyr<T: Serialize>(value: &T) -> Result<String, SerialError> {
    let mut options = SerializerOptions::default();
    // Long one-line strings (JMESPath, URLs) stay on one line instead of being folded.
    options.folded_wrap_chars = usize::MAX / 2;
    serde_saphyr::to_string_with_options(value, options).map_err(|e| SerialError(e.to_string()))
}

/// Pretty JSON with a final newline (dashboards).
pub fn json<T: Serialize>(value: &T) -> Result<String, SerialError> {
    serde_json::to_string_pretty(value).map(|text| text + "\n").map_err(|e| SerialError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Whatever the plain writer accepts, it writes as serde-saphyr does.
    fn same<T: Serialize>(value: &T) -> bool {
        match plain::yaml(value) {
            Some(text) => {
                assert_eq!(text, saphyr(value).unwrap());
                true
            }
            None => false,
        }
    }

    #[test]
    fn the_plain_writer_writes_every_object_of_the_shipped_plan_as_serde_saphyr_does() {
        let platform = std::path::Path::new(crate::load::DEFAULT_PLATFORM);
        let compiled = crate::compile(platform, std::path::Path::new("nix/pins.nix")).expect("the shipped platform");
        let objects: Vec<&crate::plan::Object> =
            compiled.plan.targets.values().flat_map(|t| t.objects.iter()).collect();
        let plain = objects.iter().filter(|o| same(**o)).count();
        // Most objects take the fast way: it must not quietly become dead code.
        assert!(plain * 10 >= objects.len() * 7, "{plain} of {} objects written plain", objects.len());
    }

    #[test]
    fn the_plain_writer_keeps_serde_saphyrs_layout() {
        let value = serde_json::json!({
            "a": { "b": { "c": 1 }, "d": [] , "e": {} },
            "list": [ { "k": "v", "inner": [ "x", "w" ], "m": { "q": true } }, "z", { "solo": -3 } ],
            "empty": [],
            "config": "a: 1\n\n  b: [2]\n# c\n",
            "script": "set -e\n\tif true; then exit 0; fi",
            "cpu": "1",
            "flag": "true",
            "nested": [{ "data": "x\ny\n" }],
        });
        assert!(same(&value));
        // An empty mapping in a sequence, a sequence in a sequence, floats, nulls: not plain.
        for value in [
            serde_json::json!({ "a": [{}] }),
            serde_json::json!({ "a": [[1]] }),
            serde_json::json!({ "a": 1.5 }),
            serde_json::json!({ "a": null }),
            serde_json::json!({ "a": " indented\nfirst line" }),
            serde_json::json!({ "a": "\tindented\nfirst line" }),
            serde_json::json!({ "a": "\nfirst line empty" }),
            serde_json::json!({ "a": "two final\n\n" }),
            serde_json::json!({ "a": ["an item\nof lines"] }),
        ] {
            assert!(!same(&value), "{value}");
        }
    }

    #[test]
    fn plain_strings_are_the_ones_serde_saphyr_leaves_unquoted() {
        // What a collector's objects are made of takes the fast way.
        for s in [
            "500m",
            "128Mi",
            "2d42f075e25b9c1b3ebc2b90d2be1e1697d6a6851bac952be2ffbc9119a103f8",
            "docker.io/grafana/alloy:v1.18.1@sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33",
            "--storage.path=/var/lib/alloy/data",
            "/-/ready",
            "app.kubernetes.io/name",
        ] {
            assert!(plain::plain_value(s), "{s}");
            assert!(same(&BTreeMap::from([("k", s)])), "{s}");
        }
        // Words, numbers, dates and indicators serde-saphyr quotes are never taken plain, and
        // every string that is taken is written as serde-saphyr writes it, as a value, as a key
        // and as an item. A seeded walk over strings of the characters that matter.
        let alphabet: Vec<char> = "aeEfmnoOxyY0139..//-_=@+:~\n\n\t#' \"<>,[]{}*&!|%`?".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let words = [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "null",
            "True",
            "NaN",
            "-Inf",
            "---x",
            "--x",
            "0x1F",
            "1e3",
            "0o17",
            "2024-04-01",
            "12:30",
            "1_000",
            "-1",
            ".5",
            "x:",
            "a: b",
            "1.2",
            "1.2.3",
            "10.0.0.0/8",
            "1/2",
            "",
            "0.0.0.0/0",
            "1",
            "007",
            "true",
            "false",
            "TRUE",
        ];
        let mut strings: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        for _ in 0..20_000 {
            let len = 1 + next(12);
            strings.push((0..len).map(|_| alphabet[next(alphabet.len())]).collect());
        }
        let mut taken = 0;
        let mut blocks = 0;
        for s in &strings {
            let s = s.as_str();
            if s.contains('\n') {
                // Literal blocks: whatever is taken is written alike (checked in `same`).
                blocks += usize::from(same(&BTreeMap::from([("k", s)])));
                assert!(!same(&BTreeMap::from([("k", vec![s])])), "{s:?}");
                continue;
            }
            // As a value and as an item: whatever the writer takes, it writes as serde-saphyr
            // (checked in `same`); keys take the narrow rule only.
            let as_value = same(&BTreeMap::from([("k", s)]));
            assert_eq!(same(&BTreeMap::from([("k", vec![s])])), as_value, "{s:?}");
            assert_eq!(same(&BTreeMap::from([(s, 1)])), plain::plain_key(s), "{s:?}");
            if plain::plain_value(s) || s.is_empty() {
                assert!(as_value, "{s:?}");
            }
            taken += usize::from(as_value);
        }
        assert!(taken > 1_000, "only {taken} strings taken plain");
        assert!(blocks > 500, "only {blocks} literal blocks taken");
    }
}
