//! Every `tests/cases/<case>.ncl` is checked by the real binary; its stderr must equal
//! `tests/cases/<case>.stderr` byte for byte, and the exit code must say invalid input (1),
//! or 0 where there is no `.stderr` file. `OBSC_BLESS=1 cargo test --test check_cases` rewrites
//! the expected files and then fails, so that a run in bless mode never passes: review the diff,
//! then run again without `OBSC_BLESS`.
//!
//! Where to add a case: a case is named by the rule file of `src/check/` it exercises
//! (`retention-no-default-tier.ncl` for `src/check/retention.rs`), or starts with `load-` when
//! the input is refused before any rule runs (syntax, contracts, types, unknown fields). Most
//! cases merge one mistake into `base.ncl`; `ok.ncl` is `base.ncl` unchanged and must pass.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use common::{obsc, root, text};

/// The prefix of the cases Nickel or the loader refuses before the checker runs.
const LOAD: &str = "load";
/// The files beside the cases that are not cases.
const NOT_CASES: [&str; 2] = ["base", "ok"];

/// Every case file, sorted (`base.ncl` is what they import, not a case).
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<_> = fs::read_dir(root().join("tests/cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ncl") && p.file_stem().is_some_and(|s| s != "base"))
        .collect();
    cases.sort();
    cases
}

/// The rule files of `src/check/` by their stem (`names`, `retention`, ...), without `mod`.
fn rule_files() -> BTreeSet<String> {
    fs::read_dir(root().join("src/check"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| s != "mod")
        .collect()
}

#[test]
fn every_case_reports_exactly_its_expected_diagnostics() {
    let bless = std::env::var_os("OBSC_BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 15, "expected the whole set of cases, found {}", cases.len());
    let mut failures = Vec::new();
    let mut blessed = 0;
    for case in &cases {
        let rel = case.strip_prefix(root()).unwrap();
        let output = obsc(&["--platform", rel.to_str().unwrap(), "check"]);
        let stderr = text(&output.stderr);
        let expected_file = case.with_extension("stderr");
        if bless {
            if stderr.is_empty() {
                if fs::remove_file(&expected_file).is_ok() {
                    blessed += 1;
                }
            } else {
                fs::write(&expected_file, &stderr).unwrap();
                blessed += 1;
            }
            continue;
        }
        let expected = fs::read_to_string(&expected_file).unwrap_or_default();
        let code = output.status.code();
        let expected_code = if expected.lines().any(|l| l.starts_with("error")) { Some(1) } else { Some(0) };
        if stderr != expected || code != expected_code {
            failures.push(format!(
                "case {}: exit {code:?} (expected {expected_code:?})\n--- expected\n{expected}--- actual\n{stderr}",
                rel.display()
            ));
        }
        assert!(!stderr.contains("panicked"), "obsc panicked on {}", rel.display());
    }
    // Bless mode writes what the binary says today; it never vouches for it.
    assert!(!bless, "blessed {blessed} files; rerun without OBSC_BLESS");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_case_is_named_by_the_rule_file_it_exercises() {
    let rules = rule_files();
    assert!(rules.contains("retention") && rules.contains("routing"), "src/check/ has {rules:?}");
    let mut exercised = BTreeSet::new();
    for case in cases() {
        let stem = case.file_stem().unwrap().to_string_lossy().into_owned();
        if NOT_CASES.contains(&stem.as_str()) {
            continue;
        }
        let prefix = stem.split('-').next().unwrap();
        assert!(
            prefix == LOAD || rules.contains(prefix),
            "tests/cases/{stem}.ncl: name it `<rule>-<what>.ncl` after the file of src/check/ it \
             exercises (one of {rules:?}), or `load-<what>.ncl` for input refused before the checks"
        );
        exercised.insert(prefix.to_string());
    }
    let missing: Vec<&String> = rules.difference(&exercised).collect();
    assert!(missing.is_empty(), "no case exercises these rule files of src/check/: {missing:?}");
    assert!(exercised.contains(LOAD), "no case for input refused before the checks");
}
