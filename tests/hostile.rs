//! Hostile input: obsc stays up, bounded and clear, whatever the topology says. Each input
//! here once crashed obsc, ran it out of memory or reported an error without a place in the
//! project to look at (`tests/mutation.rs` finds such inputs at random).

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{obsc, text};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn check(platform: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["--platform", platform.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("check");
    let output = obsc(&args);
    (output.status.code(), text(&output.stderr))
}

#[test]
fn deep_nesting_is_refused_at_its_line_before_evaluation() {
    let n = 200_000;
    let source = format!("{}1{}\n", "{ a = ".repeat(n), " }".repeat(n));
    let platform = write("deep.ncl", source.as_bytes());
    let (code, stderr) = check(&platform, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("nests values more than 256 levels deep"), "{stderr}");
    assert!(stderr.contains("deep.ncl:1:1537"), "the place where the limit is passed: {stderr}");
}

#[test]
fn an_endless_recursion_stops_at_the_time_budget() {
    let platform = write("rec.ncl", b"let rec f = fun x => f (x + 1) in { a = f 0 }\n");
    let started = Instant::now();
    let (code, stderr) = check(&platform, &["--max-eval-time", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("took longer than 2 s (--max-eval-time)"), "{stderr}");
    assert!(stderr.contains("infinite recursion"), "{stderr}");
    assert!(started.elapsed().as_secs() < 20, "stopped in time");
}

#[test]
fn an_endless_allocation_stops_at_the_memory_budget() {
    let platform = write("mem.ncl", b"let rec f = fun l => f (l @ l @ [1]) in { a = f [1] }\n");
    let (code, stderr) = check(&platform, &["--max-memory", "256MiB", "--max-eval-time", "60"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("more than the 256 MiB allowed (--max-memory)"), "{stderr}");
}

#[test]
fn a_file_that_is_not_utf8_gets_a_diagnostic() {
    let platform = write("latin1.ncl", b"{ plate = \"caf\xe9\" }\n");
    let (code, stderr) = check(&platform, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is not UTF-8 text"), "{stderr}");
    assert!(stderr.contains("latin1.ncl:1:15"), "{stderr}");
    assert!(!stderr.contains("Io {"), "no debug structure: {stderr}");
}

#[test]
fn a_bad_size_option_is_a_usage_error() {
    let output = obsc(&["--max-memory", "lots", "targets"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("is not a size"));
}

/// A project of its own in a fresh directory: `files` as (relative path, text).
fn project(files: &[(&str, &str)]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn a_contract_with_a_broken_regex_is_reported_in_the_module_not_in_nickels_stdlib() {
    let dir = project(&[
        (
            "modules/plate.ncl",
            "# A contract whose regex does not compile.\nstd.contract.from_predicate (fun value =>\n  std.string.is_match \"([\" value)\n",
        ),
        ("environments/platform.ncl", "let Plate = import \"../modules/plate.ncl\" in\n{ plate | Plate = \"ca7f8f\" }\n"),
    ]);
    let (code, stderr) = check(&dir.join("environments/platform.ncl"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("regex parse error"), "{stderr}");
    let module = dir.join("modules/plate.ncl");
    assert!(stderr.contains(&format!("--> {}:3:3\n", module.display())), "the call of is_match: {stderr}");
    let platform = dir.join("environments/platform.ncl");
    assert!(stderr.contains(&format!("reached from `{}:2:", platform.display())), "the value checked: {stderr}");
}

#[test]
fn an_import_that_cannot_be_read_is_reported_where_it_is_imported() {
    let dir = project(&[("platform.ncl", "{ a = import \"sub\" }\n"), ("sub/x.ncl", "1\n")]);
    let (code, stderr) = check(&dir.join("platform.ncl"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
    assert!(stderr.contains(&format!("--> {}:1:14\n", dir.join("platform.ncl").display())), "{stderr}");
}

#[test]
fn a_cidr_of_the_whole_address_space_does_not_crash_the_checker() {
    let base = common::root().join("tests/cases/base.ncl");
    let case = |cidr: &str| {
        format!(
            "(import \"{}\")\n& {{ grafana.main.keycloak.endpoint | force = {{ outside = {{ host = \"sso.example.org\", cidr = \"{cidr}\" }} }} }}\n",
            base.display()
        )
    };
    let platform = write("cidr.ncl", case("::1/0").as_bytes());
    let (code, stderr) = check(&platform, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("did you mean `::/0`?"), "{stderr}");
    assert!(stderr.contains("cidr.ncl:2:"), "{stderr}");
}

/// The renderers follow names the checker proved (a namespace's environment, an environment's
/// storage, a storage instance's target). Handed a platform the checker never saw, they report
/// a bug in obsc; none panics.
#[test]
fn renderers_report_an_unproven_reference_as_a_bug_instead_of_panicking() {
    let root = common::root();
    let platform_file = root.join(obsc::load::DEFAULT_PLATFORM);
    let loaded = obsc::load::load(&platform_file).unwrap_or_else(|d| panic!("{d}"));
    let pins = obsc::pins::Pins::read(&root.join(obsc::pins::DEFAULT_PINS)).unwrap_or_else(|d| panic!("{d}"));
    let (dashboards, _) = obsc::dashboards::read(&platform_file, &loaded.platform, &loaded.sources);
    assert!(obsc::render::render(&loaded.platform, &pins, &dashboards).is_ok(), "the shipped platform renders");

    type Break = fn(&mut obsc::model::Platform);
    let breaks: [(&str, Break); 4] = [
        ("an environment's storage", |p| p.environments.get_mut("dev").unwrap().storage = "nowhere".into()),
        ("a storage instance's target", |p| p.storage.get_mut("seaweedfs-dev").unwrap().target = "nowhere".into()),
        ("a namespace's environment", |p| p.namespaces.get_mut("orders-dev").unwrap().environment = "nowhere".into()),
        ("an environment's target", |p| p.environments.get_mut("dev").unwrap().target = Some("nowhere".into())),
    ];
    for (what, break_it) in breaks {
        let mut platform = loaded.platform.clone();
        break_it(&mut platform);
        let result = std::panic::catch_unwind(|| obsc::render::render(&platform, &pins, &dashboards));
        let diagnostics = match result {
            Ok(Err(d)) => d.render(),
            Ok(Ok(_)) => panic!("{what}: rendered though it names nothing"),
            Err(_) => panic!("{what}: a renderer panicked"),
        };
        assert!(diagnostics.contains("internal error"), "{what}: {diagnostics}");
        assert!(diagnostics.contains("`nowhere` is named but not defined"), "{what}: {diagnostics}");
    }
}

/// Two fields may name one Secret (Grafana's Redis password and Thanos token side by side): it is
/// described once with both keys, not once per field with the last one winning (which the plan
/// check then reported as a bug in obsc).
#[test]
fn one_secret_named_by_two_fields_is_described_with_both_keys() {
    let base = common::root().join("tests/cases/base.ncl");
    let source = format!(
        "(import \"{}\")\n& {{ grafana.main.redis.secret = \"grafana-shared\", grafana.main.thanos.token_secret | force = \"grafana-shared\" }}\n",
        base.display()
    );
    let platform = write("shared.ncl", source.as_bytes());
    let (code, stderr) = check(&platform, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let output = obsc(&["--platform", platform.to_str().unwrap(), "secrets", "prod"]);
    let listed = text(&output.stdout);
    assert!(listed.contains("0b5c0b-grafana/grafana-shared\n    keys:    password, token\n"), "{listed}");
}
