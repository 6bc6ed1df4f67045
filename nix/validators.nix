# The version rule for the flake's config validators.
#
# The flake checks rendered configs with nixpkgs packages (`alloy validate`, `loki -verify-config`),
# but the cluster runs the images pinned in ./pins.nix. A validator of another minor version than
# the image proves little, so pins.nix records, for each image the flake validates, which nixpkgs
# package does it, that package's version, and (only when the minor versions differ) why the skew
# is accepted. This file holds the rule that keeps those records true; the flake applies it to the
# package it really gets from nixpkgs, so a check evaluates only when the rule holds.
#
# Builtins only: tests/nix.rs evaluates it with Debian's nix-instantiate and no nixpkgs. obsc
# applies the same rule offline to the recorded version (src/pins.rs, `obsc pins`); keep both in
# step (tests/nix.rs compares them).
let
  inherit (builtins)
    compareVersions
    concatStringsSep
    elemAt
    filter
    head
    length
    match
    splitVersion
    tail
    ;

  # The major and minor numbers of a version or an image tag, as builtins.splitVersion splits it
  # (a leading `v` component is dropped: `v1.18.1`); null when it does not start with two numbers.
  majorMinor =
    version:
    let
      parts = splitVersion version;
      numbers = if parts != [ ] && head parts == "v" then tail parts else parts;
      isNumber = part: match "[0-9]+" part != null;
    in
    if length numbers >= 2 && isNumber (elemAt numbers 0) && isNumber (elemAt numbers 1) then
      {
        major = elemAt numbers 0;
        minor = elemAt numbers 1;
      }
    else
      null;

  show = mm: "${mm.major}.${mm.minor}";
  same = a: b: compareVersions a b == 0;

  # Why image `name`'s validator record does not hold: a list of messages, empty when it does.
  # `image` is the image's entry in pins.nix; `actual` is the version nixpkgs has of the package.
  problems =
    {
      name,
      image,
      actual,
    }:
    let
      at = "nix/pins.nix images.${name}.validator";
      validator = {
        package = image.validator.package or (throw "${at} has no `package`");
        version = image.validator.version or (throw "${at} has no `version`");
      };
      acceptance = image.validator.accept_minor_skew or null;
      runs = majorMinor image.tag;
      checks = majorMinor validator.version;
      comparable = runs != null && checks != null;
      majorDiffers = comparable && !(same runs.major checks.major);
      minorDiffers = comparable && !(same (show runs) (show checks));
      described = "${name} runs ${image.tag} but is validated by ${validator.package} ${validator.version}";
    in
    filter (message: message != null) [
      (
        if validator.version != actual then
          "${at}.version is \"${validator.version}\", but nixpkgs' ${validator.package} is ${actual}: record \"${actual}\" there (and look again at the skew it makes with ${image.tag})"
        else
          null
      )
      (
        if runs == null then
          "nix/pins.nix images.${name}.tag `${image.tag}` has no major.minor version to compare with its validator's"
        else
          null
      )
      (
        if checks == null then
          "${at}.version `${validator.version}` has no major.minor version to compare with the image's"
        else
          null
      )
      (
        if majorDiffers then
          "${described}: the major versions differ (${show runs} against ${show checks}), which accept_minor_skew cannot accept; validate with a ${validator.package} of ${runs.major}.x or drop the validator"
        else if minorDiffers && acceptance == null then
          "${described}: the minor versions differ (${show runs} against ${show checks}) and a validator of another version proves little; validate with a ${validator.package} of ${show runs}, or, if the rendered configs use nothing the two versions disagree on, say so in ${at}.accept_minor_skew"
        else
          null
      )
      (
        if acceptance != null && match "[[:space:]]*" acceptance != null then
          "${at}.accept_minor_skew is empty: give the reason the skew is harmless"
        else
          null
      )
      (
        if comparable && !minorDiffers && acceptance != null then
          "${at}.accept_minor_skew is set, but ${image.tag} and ${validator.package} ${validator.version} have the same minor version ${show runs}: remove it"
        else
          null
      )
    ];

  # The one line the flake traces when it uses a validator of an accepted other minor version.
  acceptedSkew =
    { name, image }:
    let
      validator = image.validator;
      runs = majorMinor image.tag;
      checks = majorMinor validator.version;
    in
    if validator ? accept_minor_skew && runs != null && checks != null && !(same (show runs) (show checks)) then
      "${name} ${image.tag} is validated by ${validator.package} ${validator.version} (minor skew accepted: ${validator.accept_minor_skew})"
    else
      null;

  # The nixpkgs package that validates image `name`, once its record in `pins` holds against that
  # package; otherwise evaluation fails with every problem found.
  package =
    {
      pins,
      pkgs,
      name,
    }:
    let
      image =
        pins.images.${name}
          or (throw "nix/pins.nix has no image `${name}`, which the flake validates a config of");
      validator =
        image.validator
          or (throw "nix/pins.nix images.${name} has no `validator`: record the nixpkgs package the flake validates its configs with, e.g. `validator = { package = \"...\"; version = \"...\"; };`");
      found =
        pkgs.${validator.package}
          or (throw "nix/pins.nix images.${name}.validator.package: nixpkgs has no package `${validator.package}`");
      wrong = problems {
        inherit name image;
        actual = found.version;
      };
      note = acceptedSkew { inherit name image; };
    in
    if wrong != [ ] then
      throw "the validator of image `${name}` does not match its record:\n  ${concatStringsSep "\n  " wrong}"
    else if note != null then
      builtins.trace note found
    else
      found;
in
{
  inherit
    majorMinor
    problems
    acceptedSkew
    package
    ;
}
