# Container images that obsc renders, pinned by multi-arch index digest (values from shared PINS.md).
#
# This file is plain data: the flake imports it, and obsc reads it with rnix without evaluating
# anything. obsc rejects whatever is not plain data here (functions, let, with, rec, inherit,
# interpolation, paths, references, operators, imports), so keep to attribute sets and strings.
#
# `validator` names the nixpkgs package that `nix flake check` validates this image's configs with
# and the version of it nixpkgs has (the flake fails when nixpkgs has another one, so the record
# stays true). When its minor version is not the image's, the flake fails too, unless
# `accept_minor_skew` says why the skew is harmless; the rule is in nix/validators.nix, and
# `obsc pins` shows it for every image.
{
  images = {
    alloy = {
      repository = "docker.io/grafana/alloy";
      tag = "v1.18.1";
      digest = "sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33";
      # The collector configs use discovery.kubernetes, discovery.relabel, loki.source.kubernetes,
      # loki.write, otelcol.receiver.otlp, otelcol.processor.batch, otelcol.exporter.otlp,
      # otelcol.exporter.prometheus, prometheus.remote_write, faro.receiver, pyroscope.receive_http
      # and pyroscope.write. Each registers `Stability: featuregate.StabilityGenerallyAvailable` at
      # both v1.16.0 and v1.18.1, and every argument the configs set has the same `alloy:"..."` tag
      # at both (grafana/alloy internal/component/**, compared at the two tags). What 1.17 and 1.18
      # add to these components (otelcol HTTP server idle/read/write timeouts, otelcol.exporter.
      # prometheus convert_classic_histograms_to_nhcb, prometheus.remote_write google_iam, ...; see
      # grafana/alloy CHANGELOG.md at v1.18.1) is not rendered. Drop the acceptance when nixpkgs has 1.18.
      validator = {
        package = "grafana-alloy";
        version = "1.16.0";
        accept_minor_skew = "nixpkgs has grafana-alloy 1.16, not 1.18; every component the collector configs use is generally available in both, and the configs set no argument added after v1.16.0 (obsc must not render one while this stands)";
      };
    };
    loki = {
      repository = "docker.io/grafana/loki";
      tag = "3.7.6";
      digest = "sha256:efd47c67f9bac88ca29bcf8cb997d9ab29d1848bd0aff579282295542a745952";
      validator = {
        package = "grafana-loki";
        version = "3.7.3";
      };
    };
    tempo = {
      repository = "docker.io/grafana/tempo";
      tag = "3.0.2";
      digest = "sha256:cda87c212d8c584dc0b89e337e7ed648a5100feb657e5d528480ee4fa03dbbe3";
    };
    mimir = {
      repository = "docker.io/grafana/mimir";
      tag = "3.1.1";
      digest = "sha256:2b49dca9ee4a121cc39bfb1e6f661c1e975cf52a7d14cc6b90de2e5e29caa92e";
    };
    grafana = {
      repository = "docker.io/grafana/grafana";
      tag = "13.2.0";
      digest = "sha256:3fd54ae1214669f8355f065ec9f6445d5279a3d77095ab048ca045685272429b";
    };
    pyroscope = {
      repository = "docker.io/grafana/pyroscope";
      tag = "2.3.1";
      digest = "sha256:86a9ee7448487409ead8ada78789de7b78b739711b92b5d7224a1a54abf3eeb2";
    };
    seaweedfs = {
      repository = "docker.io/chrislusf/seaweedfs";
      tag = "4.46";
      digest = "sha256:08d516132314207d10c8e37cbffc1f32b147d870169688734cc61c6231625b62";
    };
    k8s-sidecar = {
      repository = "quay.io/kiwigrid/k8s-sidecar";
      tag = "2.11.2";
      digest = "sha256:2912be006f62f9ea080194cf6d3afcd90daead8d101d0ba686a137a849f6a4f6";
    };
    nginx-unprivileged = {
      repository = "docker.io/nginxinc/nginx-unprivileged";
      tag = "1.31.6-alpine";
      digest = "sha256:b9241c6e7b8e9a862f129d8d4199ab64b10390949a78bdd5603379b32c844083";
    };
  };
}
