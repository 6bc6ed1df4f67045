//! The `obsc` binary end to end: reproducible output, nothing half-written, exit codes.

mod common;

use std::process::Command;

use common::{copy_tree, obsc, root, text};
use obsc::emit;

#[test]
fn two_builds_are_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for dir in [&a, &b] {
        let out = obsc(&["build", "--all", "-o", dir.path().to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let first = emit::read_dir(a.path()).unwrap();
    let second = emit::read_dir(b.path()).unwrap();
    assert!(first.len() > 150, "expected every target, got {} files", first.len());
    assert_eq!(first, second);
}

#[test]
fn a_failing_run_leaves_the_previous_output_intact() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_str().unwrap();
    assert!(obsc(&["build", "--all", "-o", out]).status.success());
    let before = emit::read_dir(out_dir.path()).unwrap();

    let failed = obsc(&["--platform", "tests/cases/routing-unknown-environment.ncl", "build", "--all", "-o", out]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(text(&failed.stderr).contains("which does not exist"));
    assert_eq!(emit::read_dir(out_dir.path()).unwrap(), before);

    let broken = obsc(&["--platform", "tests/cases/load-syntax-error.ncl", "build", "prod", "-o", out]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(emit::read_dir(out_dir.path()).unwrap(), before);
}

#[test]
fn a_stale_file_is_removed_on_rebuild() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_str().unwrap();
    assert!(obsc(&["build", "dev", "-o", out]).status.success());
    let stale = out_dir.path().join("dev/orders-dev/deployment-gone.yaml");
    std::fs::write(&stale, "kind: Deployment\n").unwrap();
    assert!(obsc(&["build", "dev", "-o", out]).status.success());
    assert!(!stale.exists());
}

#[test]
fn build_check_detects_drift() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_str().unwrap();
    assert!(obsc(&["build", "prod", "-o", out]).status.success());
    let fresh = obsc(&["build", "prod", "-o", out, "--check"]);
    assert_eq!(fresh.status.code(), Some(0), "{}", text(&fresh.stdout));
    let file = out_dir.path().join("prod/orders-prod/service-alloy.yaml");
    let edited = std::fs::read_to_string(&file).unwrap().replace("4317", "4327");
    std::fs::write(&file, edited).unwrap();
    let stale = obsc(&["build", "prod", "-o", out, "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(text(&stale.stdout).contains("Service/alloy in orders-prod"), "{}", text(&stale.stdout));
}

#[test]
fn targets_lists_every_target() {
    let out = obsc(&["targets"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "dev\nkind\nprod\ntest\ntools\n");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(obsc(&["build", "staging", "-o", "/nonexistent/x"]).status.code(), Some(2));
    assert_eq!(obsc(&["build"]).status.code(), Some(2));
    assert_eq!(obsc(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn a_missing_platform_file_is_an_input_error() {
    let out = obsc(&["--platform", "nowhere.ncl", "check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: cannot read the platform file `nowhere.ncl`\n   = help: run obsc from the project root, or name the file with --platform\n1 error\n"
    );
}

#[test]
fn namespaced_targets_hold_no_cluster_scoped_objects() {
    let out_dir = tempfile::tempdir().unwrap();
    assert!(obsc(&["build", "--all", "-o", out_dir.path().to_str().unwrap()]).status.success());
    for target in ["dev", "test", "prod", "tools"] {
        let files = emit::read_dir(&out_dir.path().join(target)).unwrap();
        assert!(files.keys().all(|p| !p.starts_with("cluster/")), "{target} has cluster-scoped objects");
        for (path, bytes) in &files {
            let body = text(bytes);
            for kind in ["kind: Namespace\n", "kind: ClusterRole\n", "kind: ClusterRoleBinding\n"] {
                assert!(!body.contains(kind), "{target}/{path} holds {kind}");
            }
        }
    }
}

#[test]
fn the_kind_target_owns_its_cluster() {
    let out_dir = tempfile::tempdir().unwrap();
    assert!(obsc(&["build", "kind", "-o", out_dir.path().to_str().unwrap()]).status.success());
    let files = emit::read_dir(&out_dir.path().join("kind")).unwrap();
    let namespaces: Vec<&String> = files.keys().filter(|p| p.starts_with("cluster/namespace-")).collect();
    assert_eq!(
        namespaces,
        vec![
            "cluster/namespace-demo-partner.yaml",
            "cluster/namespace-demo-shop.yaml",
            "cluster/namespace-obsc-monitoring.yaml",
            "cluster/namespace-obsc-storage.yaml"
        ]
    );
    for ns in namespaces {
        assert!(text(&files[ns]).contains("pod-security.kubernetes.io/enforce: restricted\n"));
    }
    // No SCC assigns IDs on kind: every pod gets fixed non-root ones.
    let deployment = text(&files["demo-shop/deployment-monitoring-collector.yaml"]);
    assert!(deployment.contains("runAsUser: 10001\n"), "{deployment}");
    // The DNS egress follows kind's CoreDNS, not OpenShift's.
    let policy = text(&files["demo-shop/networkpolicy-monitoring-collector.yaml"]);
    assert!(policy.contains("kubernetes.io/metadata.name: kube-system"));
    assert!(policy.contains("port: 53\n"));
}

#[test]
fn a_missing_pin_fails_the_build_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pins = std::fs::read_to_string(root().join("nix/pins.nix")).unwrap();
    // Drop the loki entry: from its name to its closing brace (at the indentation of the name).
    let start = pins.find("    loki = {").unwrap();
    let end = start + pins[start..].find("\n    };\n").unwrap() + "\n    };\n".len();
    let without_loki = format!("{}{}", &pins[..start], &pins[end..]);
    let pins_file = dir.path().join("pins.nix");
    std::fs::write(&pins_file, without_loki).unwrap();
    let out_dir = dir.path().join("out");
    let out = obsc(&["--pins", pins_file.to_str().unwrap(), "build", "--all", "-o", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: image `loki` is not pinned\n   = help: add `images.loki = { repository, tag, digest }` to the pins file\n1 error\n"
    );
    assert!(!out_dir.exists());
}

#[test]
fn pins_lists_every_image_with_its_users() {
    let out = obsc(&["pins"]);
    assert!(out.status.success());
    let listing = text(&out.stdout);
    assert!(listing.starts_with(
        "alloy  docker.io/grafana/alloy:v1.18.1@sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33\n  \
         version 1.18.1; validated by nixpkgs grafana-alloy 1.16.0\n  \
         SKEW: minor versions differ (image 1.18, validator 1.16), accepted: nixpkgs has grafana-alloy 1.16, not 1.18;"
    ));
    assert!(listing.contains("\n    dev: Deployment/monitoring-collector in orders-dev\n"));
    assert!(listing.contains(
        "\nloki  docker.io/grafana/loki:3.7.6@sha256:efd47c67f9bac88ca29bcf8cb997d9ab29d1848bd0aff579282295542a745952\n  \
         version 3.7.6; validated by nixpkgs grafana-loki 3.7.3\n  same minor version 3.7\n"
    ));
    assert!(listing.contains("\ntempo  docker.io/grafana/tempo:3.0.2@"));
    assert!(listing.contains("\n  version 3.0.2; no validator in the flake\n"));
    assert!(listing.contains("    tools: StatefulSet/seaweedfs-ha-master in ca7f8f-tools\n"));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn pins_fails_on_a_validator_skew_nothing_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let pins = std::fs::read_to_string(root().join("nix/pins.nix")).unwrap();
    let acceptance = pins.lines().find(|line| line.contains("accept_minor_skew = ")).unwrap();
    let pins_file = dir.path().join("pins.nix");
    std::fs::write(&pins_file, pins.replace(&format!("{acceptance}\n"), "")).unwrap();
    let out = obsc(&["--pins", pins_file.to_str().unwrap(), "pins"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains(
        "\n  SKEW: minor versions differ (image 1.18, validator 1.16) and nothing accepts it, so `nix flake check` fails"
    ));
    assert_eq!(
        text(&out.stderr),
        "error: the validator record of `alloy` breaks the flake's version rule (nix/validators.nix); \
         `nix flake check` fails until it is fixed in the pins file\n"
    );
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_obsc"))
        .current_dir(root())
        .arg("pins")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_output_directory_obsc_did_not_write_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Someone else's directory under a target's name, and a file under another's.
    std::fs::create_dir_all(out.join("prod")).unwrap();
    std::fs::write(out.join("prod/keep.txt"), "mine").unwrap();
    std::fs::write(out.join("test"), "a file").unwrap();
    let run = obsc(&["build", "--all", "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("prod` exists and was not written by obsc"), "{stderr}");
    assert!(stderr.contains("test` is a file"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    // Untouched: no target written, no staging left.
    let mut left: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    left.sort();
    assert_eq!(left, vec!["prod", "test"]);
    assert_eq!(std::fs::read_to_string(out.join("prod/keep.txt")).unwrap(), "mine");

    // The project root itself, and a file, as --out.
    let run = obsc(&["build", "prod", "-o", root().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("holds the project's own files"), "{}", text(&run.stderr));
    let run = obsc(&["build", "prod", "-o", out.join("test").to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("is not a directory"), "{}", text(&run.stderr));

    // What obsc wrote, it replaces; through a symbolic link to the output directory too.
    std::fs::remove_dir_all(out.join("prod")).unwrap();
    std::fs::remove_file(out.join("test")).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&out, &link).unwrap();
    for _ in 0..2 {
        let run = obsc(&["build", "prod", "-o", link.to_str().unwrap()]);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    assert!(out.join("prod/kustomization.yaml").exists());
}

#[test]
fn a_read_only_output_directory_fails_cleanly_and_keeps_the_old_output() {
    use std::os::unix::fs::PermissionsExt;
    // Everything the run needs, in a directory anyone may read: as root, obsc runs as `nobody`
    // for this (root writes anywhere), and the checkout may sit where `nobody` cannot look.
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    for part in ["environments", "modules", "dashboards", "nix"] {
        copy_tree(&root().join(part), &project.join(part));
    }
    let bin = dir.path().join("obsc");
    std::fs::copy(env!("CARGO_BIN_EXE_obsc"), &bin).unwrap();
    let out = dir.path().join("out");
    let build = |bin: &std::path::Path, as_nobody: bool| {
        let mut c = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        c.current_dir(&project).args(["build", "prod", "-o", out.to_str().unwrap()]).output().unwrap()
    };
    assert!(build(&bin, false).status.success());
    let before = emit::read_dir(&out).unwrap();
    // Readable and enterable by anyone; the output writable by no one but root.
    let set =
        |path: &std::path::Path, mode: u32| std::fs::set_permissions(path, PermissionsExt::from_mode(mode)).unwrap();
    set(dir.path(), 0o755);
    for d in [out.as_path(), &out.join("prod")] {
        set(d, 0o555);
    }
    let root_user = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let run = build(&bin, root_user);
    for d in [out.as_path(), &out.join("prod")] {
        set(d, 0o755);
    }
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Permission denied") && stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(emit::read_dir(&out).unwrap(), before, "the old output is untouched, no staging left");
}

#[test]
fn a_platform_of_many_parts_is_written_as_it_is_rendered_whole() {
    // 400 more managed namespaces (over three parts of 128 and a rest), every fifth on the
    // partner-team tier: the build writes them part by part; `build --check` renders the plan
    // whole in memory and compares. They must agree file for file.
    let dir = tempfile::tempdir().unwrap();
    let file = common::with_namespaces(
        dir.path(),
        (0..400).map(|i| {
            let env = ["dev", "test", "prod"][i % 3];
            let tier = if i % 5 == 0 { ", default_tier = \"partner-team\"" } else { "" };
            (format!("many-{i:03}-{env}"), format!("environment = \"{env}\"{tier}"))
        }),
    );
    let file = file.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();

    let built = obsc(&["--platform", file, "build", "--all", "-o", out]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let files = emit::read_dir(std::path::Path::new(out)).unwrap();
    let collectors = files.keys().filter(|p| p.ends_with("/deployment-monitoring-collector.yaml")).count();
    assert_eq!(collectors, 400 + 11, "every managed namespace's collector, the shipped ones too");
    let check = obsc(&["--platform", file, "build", "--all", "-o", out, "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}{}", text(&check.stdout), text(&check.stderr));

    // One target alone is the same as that target of the whole build.
    let alone = dir.path().join("alone");
    let built = obsc(&["--platform", file, "build", "prod", "-o", alone.to_str().unwrap()]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert_eq!(
        emit::read_dir(&alone.join("prod")).unwrap(),
        emit::read_dir(&std::path::Path::new(out).join("prod")).unwrap()
    );
    assert_eq!(std::fs::read_dir(&alone).unwrap().count(), 1, "only the target asked for");
}
