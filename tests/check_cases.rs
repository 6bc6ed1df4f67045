//! Every `tests/cases/<case>.ncl` is checked by the real binary; its stderr must equal
//! `tests/cases/<case>.stderr` byte for byte, and the exit code must say invalid input (1),
//! or 0 where there is no `.stderr` file. `OBSC_BLESS=1 cargo test --test check_cases` rewrites
//! the expected files (review the diff before committing it).

use std::fs;
use std::path::Path;
use std::process::Command;

#[test]
fn every_case_reports_exactly_its_expected_diagnostics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/cases");
    let bless = std::env::var_os("OBSC_BLESS").is_some();
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ncl") && p.file_stem().is_some_and(|s| s != "base"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "expected the whole set of cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let rel = case.strip_prefix(root).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_obsc"))
            .current_dir(root)
            .arg("--platform")
            .arg(rel)
            .arg("check")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        let expected_file = case.with_extension("stderr");
        if bless {
            if stderr.is_empty() {
                let _ = fs::remove_file(&expected_file);
            } else {
                fs::write(&expected_file, &stderr).unwrap();
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
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
