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

# A wrapper Go module in $1 named $2: `go install pkg@version` refuses modules whose go.mod has replace directives,
# so the non-local replaces of pulumi's own go.mod files are copied here (see docs/development.md).
wrapper_module() {
  local dir="$1" module="$2"
  mkdir -p "$dir"
  cat > "$dir/go.mod" <<GOMOD
module $module

go 1.25.11

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace golang.org/x/text => golang.org/x/text v0.39.0
GOMOD
  rm -f "$dir/go.sum"
}

# go_build_tool <work dir> <wrapper module> <package> <version> <ldflags> <binary> [<requirement@version>...]:
# builds the command <package> of a published Go module, at <version>, in a wrapper module (with the requirements
# given resolved first), and puts <binary> in place only once it is whole.
go_build_tool() {
  local work="$1" module="$2" package="$3" version="$4" ldflags="$5" binary="$6"
  shift 6
  wrapper_module "$work" "$module"
  mkdir -p "$(dirname "$binary")"
  (
    cd "$work"
    export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
    if (($#)); then go get "$@" >&2; fi
    go get -tool "$package@$version" >&2
    log "compiling $package"
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$binary.partial" "$package" >&2
  )
  mv "$binary.partial" "$binary"
}

build_pulumi() {
  if ! command -v go >/dev/null 2>&1; then
    log "error: no 'pulumi' on PATH and no Go toolchain to build it from its Go modules."
    log "Install Go >= 1.25 (https://go.dev/doc/install) or the Pulumi CLI (https://www.pulumi.com/docs/install/), then run this again."
    exit 1
  fi
  log "building Pulumi CLI $PULUMI_VERSION from Go modules with $(go version) (cold: 10-20 minutes on 2 cores; about 290 modules)"
  go_build_tool "$CACHE_ROOT/pulumi/$PULUMI_VERSION/build" toolgate.local/pulumi-cli github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_VERSION" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" "$BUILD_BIN/pulumi" \
    "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION"
  log "built $("$BUILD_BIN/pulumi" version) into $BUILD_BIN"
}

# pulumi-yaml pins its own pulumi pkg/sdk (their APIs move between releases, so the CLI's newer ones do not
# compile with it): its own wrapper module.
build_yaml_host() {
  if ! command -v go >/dev/null 2>&1; then
    log "warning: no Go toolchain to build pulumi-language-yaml $PULUMI_YAML_VERSION: Pulumi YAML programs will not run."
    return 1
  fi
  log "building pulumi-language-yaml $PULUMI_YAML_VERSION from Go modules with $(go version) (cold: a few minutes)"
  go_build_tool "$CACHE_ROOT/pulumi-language-yaml/$PULUMI_YAML_VERSION/build" toolgate.local/pulumi-language-yaml \
    github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml "$PULUMI_YAML_VERSION" \
    "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" "$YAML_BIN/pulumi-language-yaml"
  log "built pulumi-language-yaml $PULUMI_YAML_VERSION into $YAML_BIN"
}

# Sourced (by scripts/gen-sdks.sh): only the settings and functions above.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then return 0; fi

# A pulumi on PATH, but for the one this script put in $PROJECT_BIN (on PATH after `PATH="$(…):$PATH"`), which is
# replaced below.
path_but_ours="$(tr ':' '\n' <<<"$PATH" | grep -vxF "$PROJECT_BIN" | paste -sd: || true)"
if [[ -z "${TOOLGATE_FORCE_PULUMI_BUILD:-}" ]] && existing="$(PATH="$path_but_ours" command -v pulumi 2>/dev/null)" && [[ "$(readlink -f "$existing")" != "$(readlink -f "$BUILD_BIN/pulumi" 2>/dev/null || true)" ]]; then
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
