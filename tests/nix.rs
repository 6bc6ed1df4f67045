//! The flake and the Nix files, checked against Nix itself (Debian's `nix-instantiate`) and
//! against `../shared/PINS.md`, the source of truth for every pinned value.
//!
//! These tests need `nix-instantiate` and fail, never skip, without it (`scripts/test` installs
//! it). They live in `outside_nix_sandbox` because the flake's own `cargo test` runs in the build
//! sandbox, which has neither Nix nor `../shared`; the flake skips them by that name.

mod common;

mod outside_nix_sandbox {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use serde_json::{json, Value};

    use crate::common::{obsc, root, text};

    const SYSTEMS: [&str; 4] = ["x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"];

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
    }

    fn nix_instantiate(args: &[&str]) -> Output {
        match Command::new("nix-instantiate").current_dir(root()).args(args).output() {
            Ok(output) => output,
            Err(err) => panic!(
                "cannot run nix-instantiate ({err}). These tests need it and do not skip: install Debian's \
                 nix-bin (`apt-get install -y nix-bin`), as scripts/test does"
            ),
        }
    }

    /// Nix's own evaluation of a file or (with `-E`) an expression, as JSON.
    fn nix_eval(args: &[&str]) -> Value {
        let output = nix_instantiate(&[&["--eval", "--strict", "--json"], args].concat());
        assert!(output.status.success(), "nix-instantiate --eval {args:?} failed:\n{}", text(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("nix-instantiate --json prints JSON")
    }

    fn obsc_reads(file: &str) -> Value {
        let path = root().join(file);
        obsc::nixdata::read(&read(&path), file)
            .map(|d| serde_json::to_value(d).unwrap())
            .unwrap_or_else(|diagnostics| panic!("{diagnostics}"))
    }

    /// `../shared/PINS.md`, beside the checkout (as on every developer machine and in CI).
    fn shared_pins_md() -> String {
        let path = root().join("../shared/PINS.md");
        std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!("cannot read {} ({err}): the pinned values are checked against it", path.display())
        })
    }

    /// The rows of the Markdown table that follows `heading`, as cells, without the header row.
    fn table_rows(markdown: &str, heading: &str) -> Vec<Vec<String>> {
        let section = markdown
            .split_once(heading)
            .unwrap_or_else(|| panic!("PINS.md has no section `{heading}`"))
            .1
            .split("\n## ")
            .next()
            .unwrap_or_default();
        section
            .lines()
            .filter(|line| line.starts_with('|'))
            .skip(2)
            .map(|line| line.trim().trim_matches('|').split('|').map(|cell| cell.trim().to_string()).collect())
            .collect()
    }

    /// `name = value` as PINS.md writes it in prose (`type = github`).
    fn prose_setting(markdown: &str, name: &str) -> String {
        let pattern = format!("`{name} = ");
        let after = markdown.split_once(&pattern).unwrap_or_else(|| panic!("PINS.md does not say `{name} = ...`")).1;
        after.split('`').next().unwrap_or_default().to_string()
    }

    fn nix_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
        for entry in entries {
            let entry = entry.expect("directory entry");
            let path = entry.path();
            let file_type = entry.file_type().expect("file type");
            let name = entry.file_name();
            if file_type.is_dir() {
                // Build output, Git's own files and installed npm packages are not the project's.
                if !matches!(name.to_str(), Some("target" | ".git" | "node_modules")) {
                    nix_files(&path, found);
                }
            } else if file_type.is_file() && path.extension().is_some_and(|ext| ext == "nix") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_nix_file_parses_with_nix() {
        let mut files = Vec::new();
        nix_files(root(), &mut files);
        files.sort();
        let relative: Vec<String> =
            files.iter().map(|f| f.strip_prefix(root()).unwrap().display().to_string()).collect();
        for expected in ["flake.nix", "nix/pins.nix", "nix/targets.nix"] {
            assert!(relative.iter().any(|f| f == expected), "{expected} not found among {relative:?}");
        }
        for file in &relative {
            let output = nix_instantiate(&["--parse", file]);
            assert!(output.status.success(), "nix-instantiate --parse {file} failed:\n{}", text(&output.stderr));
        }
    }

    #[test]
    fn obsc_reads_the_pins_file_as_nix_evaluates_it() {
        assert_eq!(obsc_reads("nix/pins.nix"), nix_eval(&["nix/pins.nix"]));
    }

    #[test]
    fn obsc_reads_tricky_plain_data_as_nix_evaluates_it() {
        // Escapes, indented strings, quoted and dotted names, merged sets, negative numbers.
        let source = r#"
# a comment
{
  s = "a\"b\\c\n\t\${x}$${y}$";
  m = ''
    two
      lines ''${z} ''' ''\n
  '';
  one-line = ''  kept  '';
  i = [ 0 (-7) 007 9223372036854775807 ];
  b = [ true false null [ ] { } ];
  "quoted name" = (1);
  "a.b" = "dot in a name";
  or = { };
  x.y = 1;
  x = { z = { w = 2; }; };
  x.z.v = 3;
  "x".u = [ "é" "\u" ];
}
"#;
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("tricky.nix");
        std::fs::write(&file, source).expect("write tricky.nix");
        let ours = obsc::nixdata::read(source, "tricky.nix")
            .map(|d| serde_json::to_value(d).unwrap())
            .unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(ours, nix_eval(&[file.to_str().expect("UTF-8 path")]));
    }

    #[test]
    fn the_pins_file_holds_exactly_the_images_of_shared_pins_md() {
        let rows = table_rows(&shared_pins_md(), "## Container images");
        assert!(!rows.is_empty(), "no rows in PINS.md's container image table");
        let pins = obsc::pins::Pins::read(&root().join(obsc::pins::DEFAULT_PINS)).unwrap_or_else(|d| panic!("{d}"));
        for row in &rows {
            let [repository, tag, digest, ..] = row.as_slice() else { panic!("short row {row:?}") };
            let pin = pins.images.values().find(|pin| &pin.repository == repository);
            let pin = pin.unwrap_or_else(|| panic!("nix/pins.nix has no image from {repository}"));
            assert_eq!((&pin.tag, &pin.digest), (tag, digest), "{repository} differs from PINS.md");
        }
        assert_eq!(pins.images.len(), rows.len(), "nix/pins.nix has images that PINS.md does not pin");
    }

    #[test]
    fn flake_lock_pins_nixpkgs_to_the_stable_row_of_shared_pins_md() {
        let markdown = shared_pins_md();
        let rows = table_rows(&markdown, "## nixpkgs");
        let row = rows.iter().find(|row| row[0] == "nixos-26.05").expect("PINS.md has a nixos-26.05 row");
        let [reference, rev, nar_hash, last_modified, ..] = row.as_slice() else { panic!("short row {row:?}") };
        let last_modified: u64 = last_modified.parse().expect("lastModified is a number");
        let (owner, repo, kind) =
            (prose_setting(&markdown, "owner"), prose_setting(&markdown, "repo"), prose_setting(&markdown, "type"));

        let lock: Value = serde_json::from_str(&read(&root().join("flake.lock"))).expect("flake.lock is JSON");
        let expected = json!({
            "nodes": {
                "nixpkgs": {
                    "locked": {
                        "lastModified": last_modified,
                        "narHash": nar_hash,
                        "owner": owner,
                        "repo": repo,
                        "rev": rev,
                        "type": kind,
                    },
                    "original": { "owner": owner, "ref": reference, "repo": repo, "type": kind },
                },
                "root": { "inputs": { "nixpkgs": "nixpkgs" } },
            },
            "root": "root",
            "version": 7,
        });
        assert_eq!(lock, expected);

        // The flake asks for the branch its lock pins.
        let url = nix_eval(&["-E", "(import ./flake.nix).inputs.nixpkgs.url"]);
        assert_eq!(url, json!(format!("{kind}:{owner}/{repo}/{reference}")));
    }

    #[test]
    fn the_targets_file_is_plain_data_nix_agrees_with() {
        let targets = obsc_reads("nix/targets.nix");
        assert_eq!(targets, nix_eval(&["nix/targets.nix"]));
        let names: Vec<&str> = targets.as_array().expect("a list").iter().filter_map(Value::as_str).collect();
        assert_eq!(names.len(), targets.as_array().map_or(0, Vec::len), "only strings");
        assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len(), "no duplicates: {names:?}");
    }

    #[test]
    fn the_targets_file_lists_the_targets_obsc_knows() {
        let output = obsc(&["targets"]);
        assert!(output.status.success(), "obsc targets failed:\n{}", text(&output.stderr));
        let known: BTreeSet<String> = text(&output.stdout).lines().map(str::to_string).collect();
        let listed: BTreeSet<String> = obsc_reads("nix/targets.nix")
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        assert_eq!(listed, known, "nix/targets.nix against `obsc targets`");
    }

    #[test]
    fn the_flake_builds_and_checks_every_target_from_the_targets_file() {
        let flake = read(&root().join("flake.nix"));
        assert!(flake.contains("import ./nix/targets.nix"), "flake.nix takes its targets from nix/targets.nix");
        assert!(flake.contains("import ./nix/pins.nix"), "flake.nix exposes nix/pins.nix");
        let targets: Vec<String> = serde_json::from_value(nix_eval(&["nix/targets.nix"])).expect("a list of strings");
        for target in &targets {
            assert!(!flake.contains(&format!("\"{target}\"")), "flake.nix names target `{target}` by hand");
        }

        // Evaluate the outputs' names with an empty stand-in for nixpkgs: the flake builds its
        // output names from builtins only, and nothing else is forced.
        let outputs = nix_eval(&[
            "-E",
            r#"
            let
              flake = import ./flake.nix;
              outputs = flake.outputs { self = outputs; nixpkgs = { }; };
              names = builtins.mapAttrs (_: builtins.attrNames);
            in {
              packages = names outputs.packages;
              checks = names outputs.checks;
              devShells = names outputs.devShells;
              formatter = builtins.attrNames outputs.formatter;
              inherit (outputs.lib) pins targets;
            }"#,
        ]);
        let names = |value: &Value| -> BTreeSet<String> {
            value.as_array().expect("a list of names").iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
        };
        let mut packages: BTreeSet<String> = targets.iter().cloned().collect();
        packages.extend(["obsc".to_string(), "default".to_string()]);
        let mut checks: BTreeSet<String> = targets.iter().map(|t| format!("render-{t}")).collect();
        let validators =
            ["tests", "clippy", "rustfmt", "nickel-format", "kubernetes-objects", "alloy-config", "loki-config"];
        checks.extend(validators.map(str::to_string));
        for system in SYSTEMS {
            assert_eq!(names(&outputs["packages"][system]), packages, "packages.{system}");
            assert_eq!(names(&outputs["checks"][system]), checks, "checks.{system}");
            assert_eq!(names(&outputs["devShells"][system]), BTreeSet::from(["default".to_string()]));
        }
        assert_eq!(names(&outputs["formatter"]), SYSTEMS.iter().map(|s| s.to_string()).collect());
        assert_eq!(outputs["pins"], obsc_reads("nix/pins.nix"), "the flake's lib.pins is the pins file");
        assert_eq!(outputs["targets"], json!(targets));
    }
}
