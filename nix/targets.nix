# The targets obsc renders. Plain data: the flake builds one package and one check per entry, and
# tests/nix.rs checks that this list equals what `obsc targets` prints.
[
  "dev"
  "test"
  "prod"
  "tools"
  "kind"
]
