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
        nix_instantiate_in(root(), args)
    }

    fn nix_instantiate_in(dir: &Path, args: &[&str]) -> Output {
        match Command::new("nix-instantiate").current_dir(dir).args(args).output() {
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
        for expected in ["flake.nix", "nix/pins.nix", "nix/targets.nix", "nix/validators.nix"] {
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
              inherit (outputs.lib) pins targets validatorChecks;
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
        let validator_checks: BTreeSet<String> =
            outputs["validatorChecks"].as_object().expect("a set").keys().cloned().collect();
        assert!(validator_checks.is_subset(&checks), "lib.validatorChecks names checks the flake has not");
    }

    // -----------------------------------------------------------------------------------------
    // The validators of the flake and their version rule (nix/validators.nix).

    /// An expression for a stand-in of nixpkgs with just what the flake's config checks use:
    /// `runCommand` (keeping its attributes, so a check shows its tools) and one package per
    /// `(attribute, version)`.
    fn stub_nixpkgs(packages: &[(&str, &str)]) -> String {
        let packages: String = packages
            .iter()
            .map(|(name, version)| format!("{name:?} = {{ pname = {name:?}; version = {version:?}; }}; "))
            .collect();
        format!(
            r#"{{
              legacyPackages = builtins.listToAttrs (map (system: {{
                name = system;
                value = {{ runCommand = name: env: script: env // {{ inherit name; }}; {packages} }};
              }}) [ {systems} ]);
            }}"#,
            systems = SYSTEMS.map(|s| format!("{s:?}")).join(" ")
        )
    }

    /// For each system and each config check of the flake in `dir`, evaluated against `nixpkgs`:
    /// the pnames of the tools the check runs.
    fn validator_tools(dir: &Path, nixpkgs: &str) -> Output {
        let expression = format!(
            r#"
            let
              flake = import ./flake.nix;
              outputs = flake.outputs {{ self = outputs; nixpkgs = {nixpkgs}; }};
            in
            builtins.mapAttrs (system: checks:
              builtins.mapAttrs (check: _: map (tool: tool.pname) checks.${{check}}.nativeBuildInputs)
                outputs.lib.validatorChecks
            ) outputs.checks"#
        );
        nix_instantiate_in(dir, &["--eval", "--strict", "--json", "-E", &expression])
    }

    /// The validators the pins file records: image, package, version.
    fn recorded_validators() -> Vec<(String, String, String)> {
        let pins = obsc::pins::Pins::read(&root().join(obsc::pins::DEFAULT_PINS)).unwrap_or_else(|d| panic!("{d}"));
        pins.images
            .iter()
            .filter_map(|(name, pin)| {
                let v = pin.validator.as_ref()?;
                Some((name.clone(), v.package.clone(), v.version.clone()))
            })
            .collect()
    }

    #[test]
    fn obsc_reads_the_validators_of_the_pins_file_as_nix_evaluates_them() {
        let pins = obsc::pins::Pins::read(&root().join(obsc::pins::DEFAULT_PINS)).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(serde_json::to_value(&pins).unwrap(), nix_eval(&["nix/pins.nix"]));
        assert!(!recorded_validators().is_empty(), "nix/pins.nix records no validator");
    }

    #[test]
    fn every_validator_the_pins_name_is_what_a_check_of_the_flake_runs() {
        let recorded = recorded_validators();
        let packages: Vec<(&str, &str)> = recorded.iter().map(|(_, p, v)| (p.as_str(), v.as_str())).collect();
        let output = validator_tools(root(), &stub_nixpkgs(&packages));
        assert!(output.status.success(), "the flake's config checks do not evaluate:\n{}", text(&output.stderr));
        let tools: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let checks_of =
            nix_eval(&["-E", "((import ./flake.nix).outputs { self = { }; nixpkgs = { }; }).lib.validatorChecks"]);
        for system in SYSTEMS {
            let mut used = BTreeSet::new();
            for (check, image) in checks_of.as_object().expect("a set") {
                let image = image.as_str().expect("an image name");
                let (_, package, _) = recorded.iter().find(|(name, _, _)| name == image).unwrap_or_else(|| {
                    panic!("check {check} validates image `{image}`, which has no validator in the pins")
                });
                assert_eq!(tools[system][check], json!([package]), "checks.{system}.{check} runs the pinned validator");
                used.insert(image);
            }
            let named: BTreeSet<&str> = recorded.iter().map(|(image, _, _)| image.as_str()).collect();
            assert_eq!(used, named, "images with a validator in the pins against the flake's config checks");
        }
    }

    #[test]
    fn the_flake_refuses_a_validator_of_another_version_than_recorded() {
        let recorded = recorded_validators();
        let (image, package, version) = &recorded[0];
        let newer = format!("{version}.1");
        let mut packages: Vec<(&str, &str)> = recorded.iter().map(|(_, p, v)| (p.as_str(), v.as_str())).collect();
        packages[0].1 = &newer;
        let output = validator_tools(root(), &stub_nixpkgs(&packages));
        assert!(!output.status.success(), "the flake used {package} {newer} though the pins record {version}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "nix/pins.nix images.{image}.validator.version is \"{version}\", but nixpkgs' {package} is {newer}"
            )),
            "{stderr}"
        );
    }

    #[test]
    fn the_flake_refuses_the_alloy_skew_once_its_acceptance_is_removed() {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir(dir.path().join("nix")).unwrap();
        std::fs::copy(root().join("flake.nix"), dir.path().join("flake.nix")).unwrap();
        for file in ["targets.nix", "validators.nix"] {
            std::fs::copy(root().join("nix").join(file), dir.path().join("nix").join(file)).unwrap();
        }
        let pins = read(&root().join("nix/pins.nix"));
        let acceptance =
            pins.lines().find(|line| line.trim_start().starts_with("accept_minor_skew = ")).expect("an accepted skew");
        std::fs::write(dir.path().join("nix/pins.nix"), pins.replace(&format!("{acceptance}\n"), "")).unwrap();

        let recorded = recorded_validators();
        let packages: Vec<(&str, &str)> = recorded.iter().map(|(_, p, v)| (p.as_str(), v.as_str())).collect();
        let nixpkgs = stub_nixpkgs(&packages);
        let accepted = validator_tools(root(), &nixpkgs);
        assert!(accepted.status.success(), "{}", text(&accepted.stderr));
        assert!(text(&accepted.stderr)
            .contains("trace: alloy v1.18.1 is validated by grafana-alloy 1.16.0 (minor skew accepted: "));

        let refused = validator_tools(dir.path(), &nixpkgs);
        assert!(!refused.status.success(), "the flake accepted alloy v1.18.1 validated by 1.16.0 without a reason");
        assert!(
            text(&refused.stderr).contains(
                "alloy runs v1.18.1 but is validated by grafana-alloy 1.16.0: the minor versions differ (1.18 against 1.16)"
            ),
            "{}",
            text(&refused.stderr)
        );
    }

    /// `nix/validators.nix`'s verdict for one image: its problems, or the failure of evaluation.
    fn nix_problems(tag: &str, validator: &str, actual: &str) -> Vec<String> {
        let expression = format!(
            "(import ./nix/validators.nix).problems {{ name = \"x\"; image = {{ tag = {tag:?}; validator = {validator}; }}; actual = {actual:?}; }}"
        );
        serde_json::from_value(nix_eval(&["-E", &expression])).expect("a list of messages")
    }

    #[test]
    fn the_skew_rule_passes_and_fails_as_expected_and_as_obsc_says() {
        let package = "package = \"grafana-alloy\";";
        // (image tag, validator version, accept_minor_skew, whether the rule holds)
        let cases = [
            ("v1.18.1", "1.18.0", None, true),           // same minor
            ("3.7.6", "3.7.3", None, true),              // same minor, patch skew
            ("v1.18.1", "1.16.0", None, false),          // minor mismatch
            ("v1.18.1", "1.16.0", Some("reason"), true), // accepted minor mismatch
            ("v1.18.1", "1.19.2", None, false),          // a newer validator is a skew too
            ("v1.18.1", "1.18.2", Some("stale"), false), // an acceptance nothing needs
            ("2.3.1", "1.20.3", Some("reason"), false),  // major mismatch: never accepted
        ];
        for (tag, version, accept, holds) in cases {
            let acceptance = accept.map(|a| format!("accept_minor_skew = {a:?};")).unwrap_or_default();
            let validator = format!("{{ {package} version = {version:?}; {acceptance} }}");
            let problems = nix_problems(tag, &validator, version);
            assert_eq!(problems.is_empty(), holds, "{tag} against {version} ({accept:?}): {problems:?}");

            let ours = obsc::pins::Validator {
                package: "grafana-alloy".into(),
                version: version.into(),
                accept_minor_skew: accept.map(str::to_string),
            };
            assert_eq!(ours.skew(tag).map(|r| r.skew.holds()), Some(holds), "obsc on {tag} against {version}");
        }
        let minor = nix_problems("v1.18.1", &format!("{{ {package} version = \"1.16.0\"; }}"), "1.16.0");
        assert_eq!(
            minor,
            ["x runs v1.18.1 but is validated by grafana-alloy 1.16.0: the minor versions differ (1.18 against 1.16) \
              and a validator of another version proves little; validate with a grafana-alloy of 1.18, or, if the \
              rendered configs use nothing the two versions disagree on, say so in nix/pins.nix \
              images.x.validator.accept_minor_skew"]
        );
        // A reason must say something (obsc's schema refuses an empty one before this).
        let blank = nix_problems(
            "v1.18.1",
            &format!("{{ {package} version = \"1.16.0\"; accept_minor_skew = \" \"; }}"),
            "1.16.0",
        );
        assert_eq!(
            blank,
            ["nix/pins.nix images.x.validator.accept_minor_skew is empty: give the reason the skew is harmless"]
        );
        // The record must also be nixpkgs' real version.
        let drifted = nix_problems("3.7.6", &format!("{{ {package} version = \"3.7.3\"; }}"), "3.7.4");
        assert_eq!(drifted.len(), 1, "{drifted:?}");
        assert!(drifted[0]
            .starts_with("nix/pins.nix images.x.validator.version is \"3.7.3\", but nixpkgs' grafana-alloy is 3.7.4"));
    }

    #[test]
    fn nix_and_obsc_read_major_and_minor_versions_alike() {
        let versions = [
            "v1.18.1",
            "3.7.6",
            "1.31.6-alpine",
            "4.46",
            "2.11.2",
            "latest",
            "1.2rc1",
            "01.2",
            "v",
            "",
            "1",
            "1rc.2",
            "..1--2.",
        ];
        let list = versions.map(|v| format!("{v:?}")).join(" ");
        let nix = nix_eval(&["-E", &format!("map (import ./nix/validators.nix).majorMinor [ {list} ]")]);
        let split = nix_eval(&["-E", &format!("map builtins.splitVersion [ {list} ]")]);
        for (index, version) in versions.iter().enumerate() {
            let ours = obsc::pins::MajorMinor::of(version).map(|mm| json!({ "major": mm.major, "minor": mm.minor }));
            assert_eq!(nix[index], ours.unwrap_or(Value::Null), "major.minor of {version:?}");
            assert_eq!(split[index], json!(obsc::pins::split_version(version)), "splitVersion of {version:?}");
        }
    }
}
