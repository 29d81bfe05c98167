#!/usr/bin/env bash
# Makes the Pulumi CLI available and prints a directory to put first on PATH.
#
# That directory (node_modules/.cache/toolgate/pulumi-bin) holds everything `pulumi up` of a toolgate program
# needs, so that the CLI never downloads a plugin:
#   pulumi                          a `pulumi` already on PATH, or one built from the published Go modules,
#                                   pinned to PULUMI_VERSION and cached outside the repository by version
#                                   (a second run takes seconds);
#   pulumi-language-nodejs          scripts/pulumi-language-nodejs.mjs: the Go language host module is not
#                                   served by the Go module proxy (see docs/development.md);
#   pulumi-language-python          scripts/pulumi-language-python.mjs, for the same reason (programs bring their
#                                   own Python: a virtualenv with `pulumi` and the SDK installed);
#   pulumi-resource-pulumi-nodejs   the dynamic-provider plugin shipped inside the @pulumi/pulumi npm package;
#   pulumi-language-yaml            the YAML language host beside an installed CLI, or one built from the
#                                   github.com/pulumi/pulumi-yaml Go module, pinned to PULUMI_YAML_VERSION and
#                                   cached by version like the CLI;
#   node                            the project's Node (the npm `node` package), which @pulumi/pulumi needs.
#
# Progress goes to stderr; the only line on stdout is the bin directory, for `PATH="$(…):$PATH"`.
set -euo pipefail

PULUMI_VERSION="${PULUMI_VERSION:-v3.259.0}"
CACHE_ROOT="${TOOLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/toolgate}"
BUILD_BIN="$CACHE_ROOT/pulumi/$PULUMI_VERSION/bin"
PULUMI_YAML_VERSION="${PULUMI_YAML_VERSION:-v1.25.0}"
YAML_BIN="$CACHE_ROOT/pulumi-language-yaml/$PULUMI_YAML_VERSION/bin"
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT_BIN="$PROJECT_DIR/node_modules/.cache/toolgate/pulumi-bin"

log() { printf 'install-pulumi: %s\n' "$*" >&2; }

build_pulumi() {
  if ! command -v go >/dev/null 2>&1; then
    log "error: no 'pulumi' on PATH and no Go toolchain to build it from its Go modules."
    log "Install Go >= 1.25 (https://go.dev/doc/install) or the Pulumi CLI (https://www.pulumi.com/docs/install/), then run this again."
    exit 1
  fi
  local work="$CACHE_ROOT/pulumi/$PULUMI_VERSION/build"
  mkdir -p "$work" "$BUILD_BIN"
  cd "$work"
  log "building Pulumi CLI $PULUMI_VERSION from Go modules with $(go version) (cold: 10-20 minutes on 2 cores)"
  # A wrapper module: `go install pkg@version` refuses modules whose go.mod has replace directives,
  # so the non-local replaces of pulumi's own go.mod files are copied here (see docs/development.md).
  cat > go.mod <<GOMOD
module toolgate.local/pulumi-cli

go 1.25.11

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace golang.org/x/text => golang.org/x/text v0.39.0
GOMOD
  rm -f go.sum
  export GOFLAGS="${GOFLAGS:-} -mod=mod"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  log "resolving github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION and its requirements (about 290 modules)"
  go get "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2
  go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" >&2
  log "compiling github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$BUILD_BIN/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
  mv "$BUILD_BIN/pulumi.partial" "$BUILD_BIN/pulumi"
  log "built $("$BUILD_BIN/pulumi" version) into $BUILD_BIN"
}

build_yaml_host() {
  if ! command -v go >/dev/null 2>&1; then
    log "warning: no Go toolchain to build pulumi-language-yaml $PULUMI_YAML_VERSION: Pulumi YAML programs will not run."
    return 1
  fi
  local work="$CACHE_ROOT/pulumi-language-yaml/$PULUMI_YAML_VERSION/build"
  mkdir -p "$work" "$YAML_BIN"
  cd "$work"
  log "building pulumi-language-yaml $PULUMI_YAML_VERSION from Go modules with $(go version) (cold: a few minutes)"
  # A wrapper module, as for the CLI: pulumi-yaml pins its own pulumi pkg/sdk (their APIs move between
  # releases, so the CLI's newer ones do not compile with it) and pkg's non-local replaces are copied here.
  cat > go.mod <<GOMOD
module toolgate.local/pulumi-language-yaml

go 1.25.11

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace golang.org/x/text => golang.org/x/text v0.39.0
GOMOD
  rm -f go.sum
  export GOFLAGS="${GOFLAGS:-} -mod=mod"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  go get -tool "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$PULUMI_YAML_VERSION" >&2
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" \
    -o "$YAML_BIN/pulumi-language-yaml.partial" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml >&2
  mv "$YAML_BIN/pulumi-language-yaml.partial" "$YAML_BIN/pulumi-language-yaml"
  log "built pulumi-language-yaml $PULUMI_YAML_VERSION into $YAML_BIN"
}

if [[ -z "${TOOLGATE_FORCE_PULUMI_BUILD:-}" ]] && existing="$(command -v pulumi 2>/dev/null)" && [[ "$(readlink -f "$existing")" != "$(readlink -f "$BUILD_BIN/pulumi" 2>/dev/null || true)" ]]; then
  log "using the pulumi already on PATH: $existing ($("$existing" version 2>/dev/null || echo 'unknown version'))"
  pulumi="$existing"
elif [[ -x "$BUILD_BIN/pulumi" ]]; then
  log "using cached Pulumi CLI $PULUMI_VERSION from $BUILD_BIN"
  pulumi="$BUILD_BIN/pulumi"
else
  (build_pulumi)
  pulumi="$BUILD_BIN/pulumi"
fi

plugin="$PROJECT_DIR/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
node="$PROJECT_DIR/node_modules/node/bin/node"
if [[ ! -x "$plugin" || ! -x "$node" ]]; then
  log "error: run 'npm install' first (needs node_modules/@pulumi/pulumi and node_modules/node)"
  exit 1
fi
mkdir -p "$PROJECT_BIN"
rm -f "$PROJECT_BIN/pulumi"
# A hard link (or copy), not a symlink: the CLI looks for its bundled plugins beside its own real path, and
# warns about every one it finds only on PATH.
ln "$(readlink -f "$pulumi")" "$PROJECT_BIN/pulumi" 2>/dev/null || cp "$(readlink -f "$pulumi")" "$PROJECT_BIN/pulumi"
# An installed Pulumi CLI comes with its own plugins beside it; prefer those.
real_pulumi_dir="$(dirname "$(readlink -f "$pulumi")")"
link_plugin() {
  local name="$1" ours="$2"
  if [[ -x "$real_pulumi_dir/$name" && "$real_pulumi_dir" != "$BUILD_BIN" ]]; then ours="$real_pulumi_dir/$name"; fi
  ln -sfn "$ours" "$PROJECT_BIN/$name"
}
link_plugin pulumi-language-nodejs "$PROJECT_DIR/scripts/pulumi-plugins/pulumi-language-nodejs"
link_plugin pulumi-language-python "$PROJECT_DIR/scripts/pulumi-plugins/pulumi-language-python"
link_plugin pulumi-resource-pulumi-nodejs "$plugin"
if [[ -x "$real_pulumi_dir/pulumi-language-yaml" && "$real_pulumi_dir" != "$BUILD_BIN" ]]; then
  link_plugin pulumi-language-yaml "$real_pulumi_dir/pulumi-language-yaml"
elif [[ -x "$YAML_BIN/pulumi-language-yaml" ]] || (build_yaml_host); then
  link_plugin pulumi-language-yaml "$YAML_BIN/pulumi-language-yaml"
else
  rm -f "$PROJECT_BIN/pulumi-language-yaml"
fi
ln -sfn "$node" "$PROJECT_BIN/node"
echo "$PROJECT_BIN"
