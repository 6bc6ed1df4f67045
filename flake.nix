{
  description = "obsc: compiles a Nickel observability topology into Kubernetes YAML, one directory per target";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];

      # Plain-data files that obsc reads too; tests/nix.rs checks that both sides agree.
      targets = import ./nix/targets.nix;
      pins = import ./nix/pins.nix;
      validators = import ./nix/validators.nix;

      # The checks that validate rendered configs with a nixpkgs package, and the image whose
      # configs each one validates. The package is the one nix/pins.nix records for that image,
      # and nix/validators.nix holds it to the image's minor version (tests/nix.rs checks that
      # every validator the pins name is used here).
      validatorChecks = {
        alloy-config = "alloy";
        loki-config = "loki";
      };

      # Output names are built with builtins only, so listing the outputs never needs nixpkgs
      # (tests/nix.rs evaluates them with an empty stand-in for it).
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      forAllTargets =
        prefix: f:
        builtins.listToAttrs (
          map (target: {
            name = prefix + target;
            value = f target;
          }) targets
        );

      perSystem =
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
          lib = nixpkgs.lib;
          cargoToml = builtins.fromTOML (builtins.readFile ./Cargo.toml);

          src = lib.fileset.toSource {
            root = ./.;
            fileset = lib.fileset.unions [
              ./Cargo.toml
              ./Cargo.lock
              ./src
              ./modules
              ./environments
              ./nix
              ./tests
              (lib.fileset.maybeMissing ./benches)
              (lib.fileset.maybeMissing ./dashboards)
              # The committed renders and drawing that the tests compare against.
              (lib.fileset.maybeMissing ./rendered)
              (lib.fileset.maybeMissing ./docs)
            ];
          };

          obsc = pkgs.rustPlatform.buildRustPackage {
            pname = "obsc";
            inherit (cargoToml.package) version;
            inherit src;
            cargoLock.lockFile = ./Cargo.lock;

            # `cargo test` runs in checkPhase, with the offline validators the suite calls.
            nativeCheckInputs = [
              pkgs.kubectl
              pkgs.kubernetes-validate
            ];
            # Tests that need what the build sandbox has not: Nix itself and ../shared
            # (tests/nix.rs), and the Mermaid parser from npm (tests/graph.rs). `nix flake check`
            # evaluates this flake, which covers what tests/nix.rs checks of it.
            checkFlags = [
              "--skip=outside_nix_sandbox::"
              "--skip=the_drawing_parses_as_a_mermaid_flowchart"
              "--skip=the_parser_rejects_a_broken_drawing"
            ];

            meta = {
              inherit (cargoToml.package) description;
              license = lib.licenses.asl20;
              mainProgram = "obsc";
            };
          };

          # `nix build .#<target>`: that target's manifests, as `obsc build <target>` writes them.
          render =
            target:
            pkgs.runCommand "obsc-render-${target}" { nativeBuildInputs = [ obsc ]; } ''
              cd ${src}
              obsc --platform environments/platform.ncl --pins nix/pins.nix build ${target} --out "$TMPDIR/render"
              cp -r "$TMPDIR/render/${target}" "$out"
            '';
          renders = toString (map render targets);

          # The validator of image `name`, from nixpkgs, once its record in nix/pins.nix holds:
          # the version recorded is the one nixpkgs has, and its minor version is the image's or
          # the skew is accepted with a reason. Evaluation fails otherwise.
          validator = name: validators.package { inherit pins pkgs name; };

          # A check that runs `script` and succeeds with an empty output.
          check =
            name: tools: script:
            pkgs.runCommand "obsc-${name}" { nativeBuildInputs = tools; } ''
              ${script}
              touch "$out"
            '';
        in
        {
          packages = {
            inherit obsc;
            default = obsc;
          }
          // forAllTargets "" render;

          checks = {
            # Building the package runs `cargo test`.
            tests = obsc;

            clippy = obsc.overrideAttrs (old: {
              pname = "obsc-clippy";
              nativeBuildInputs = old.nativeBuildInputs ++ [ pkgs.clippy ];
              buildPhase = ''
                runHook preBuild
                cargo clippy --offline --locked --all-targets -- --deny warnings
                runHook postBuild
              '';
              doCheck = false;
              installPhase = ''
                mkdir -p "$out"
              '';
            });

            rustfmt = check "rustfmt" [ pkgs.cargo pkgs.rustfmt ] ''
              export HOME="$TMPDIR"
              cd ${src}
              cargo fmt --all --check
            '';

            nickel-format = check "nickel-format" [ pkgs.nickel ] ''
              cd ${src}
              status=0
              for file in $(find modules environments -name '*.ncl' | sort); do
                nickel format --check "$file" || { echo "not formatted: $file"; status=1; }
              done
              [ "$status" -eq 0 ]
            '';

            # Strict OpenAPI validation of every object against Kubernetes 1.33, offline.
            # kubeconform (in the dev shell) fetches its schemas from the network, which the
            # build sandbox does not have; kubernetes-validate ships the same upstream schemas.
            # Only the OpenShift Route has no schema there; any other missing schema fails.
            kubernetes-objects = check "kubernetes-objects" [ pkgs.kubernetes-validate pkgs.kustomize ] ''
              status=0
              for dir in ${renders}; do
                # The objects are what kustomization.yaml lists; config and values files sit beside them.
                sed -n "s|^- |$dir/|p" "$dir/kustomization.yaml" > objects
                [ -s objects ] || { echo "no Kubernetes objects in $dir"; exit 1; }
                kubernetes-validate --strict --quiet --kubernetes-version 1.33.0 $(cat objects) > report 2>&1 || status=1
                cat report
                if grep "find schema" report | grep -v "kind Route with api version route.openshift.io/"; then
                  status=1
                fi
                kustomize build "$dir" > /dev/null || status=1
              done
              [ "$status" -eq 0 ]
            '';

            # Every collector config, as Alloy itself formats and validates it (at the stability
            # level the collector runs with).
            alloy-config = check "alloy-config" [ (validator validatorChecks.alloy-config) ] ''
              export HOME="$TMPDIR"
              status=0
              files=$(find ${renders} -name '*.alloy' | sort)
              [ -n "$files" ] || { echo "no *.alloy file in the renders"; exit 1; }
              for file in $files; do
                alloy fmt --test "$file" || { echo "not as alloy fmt writes it: $file"; status=1; }
                alloy validate --stability.level=generally-available "$file" || status=1
              done
              [ "$status" -eq 0 ]
            '';

            # Every Loki config, with the flags Loki runs with.
            loki-config = check "loki-config" [ (validator validatorChecks.loki-config) ] ''
              status=0
              files=$(find ${renders} -name loki.yaml | sort)
              [ -n "$files" ] || { echo "no loki.yaml in the renders"; exit 1; }
              for file in $files; do
                loki -config.file="$file" -config.expand-env=true -verify-config || status=1
              done
              [ "$status" -eq 0 ]
            '';
          }
          // forAllTargets "render-" render;

          devShell = pkgs.mkShell {
            # The validators as nix/pins.nix names them, whatever their version: the checks, not
            # the shell, enforce the version rule.
            packages = [
              pkgs.rustc
              pkgs.cargo
              pkgs.clippy
              pkgs.rustfmt
              pkgs.rust-analyzer
              pkgs.nickel
              pkgs.nls
              pkgs.kind
              pkgs.kubectl
              pkgs.kustomize
              pkgs.kubeconform
              pkgs.kubernetes-validate
              pkgs.openshift
              pkgs.jq
            ]
            ++ map (name: pkgs.${pins.images.${name}.validator.package}) (builtins.attrValues validatorChecks);
          };

          formatter = pkgs.nixfmt;
        };

      bySystem = forAllSystems perSystem;
    in
    {
      packages = builtins.mapAttrs (_: outputs: outputs.packages) bySystem;
      checks = builtins.mapAttrs (_: outputs: outputs.checks) bySystem;
      devShells = builtins.mapAttrs (_: outputs: { default = outputs.devShell; }) bySystem;
      formatter = builtins.mapAttrs (_: outputs: outputs.formatter) bySystem;

      # The image pins, as obsc reads them (`obsc pins` lists them with their users).
      lib = { inherit pins targets validatorChecks; };
    };
}
