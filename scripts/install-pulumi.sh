#!/usr/bin/env bash
# Makes the Pulumi CLI available and prints the directory that holds it.
#
# Uses a `pulumi` already on PATH. Otherwise builds `pulumi` and `pulumi-language-nodejs` from the
# published Go modules, pinned to PULUMI_VERSION, into a cache outside the repository keyed by version,
# so that a second run takes seconds. `pulumi-resource-pulumi-nodejs` (the dynamic-provider plugin) is
# the shell script shipped inside the @pulumi/pulumi npm package; it is linked beside the binaries.
#
# Progress goes to stderr; the only line on stdout is the bin directory, for `PATH="$(…):$PATH"`.
set -euo pipefail

PULUMI_VERSION="${PULUMI_VERSION:-v3.259.0}"
# Commit of tag v3.259.0: the nodejs language host module has no tags of its own, so it needs a pseudo-version.
LANGUAGE_HOST_COMMIT="${PULUMI_LANGUAGE_HOST_COMMIT:-0ac56e876614aedf12771d73ef7e80959b8a6fd4}"
CACHE_ROOT="${TOOLGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/toolgate}"
BIN_DIR="$CACHE_ROOT/pulumi/$PULUMI_VERSION/bin"
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'install-pulumi: %s\n' "$*" >&2; }

link_nodejs_provider_plugin() {
  local dir="$1" plugin="$PROJECT_DIR/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
  if [[ -x "$plugin" && ! -e "$dir/pulumi-resource-pulumi-nodejs" && -w "$dir" ]]; then
    ln -sf "$plugin" "$dir/pulumi-resource-pulumi-nodejs"
  fi
}

if [[ -z "${TOOLGATE_FORCE_PULUMI_BUILD:-}" ]] && existing="$(command -v pulumi 2>/dev/null)" && [[ "$existing" != "$BIN_DIR/pulumi" ]]; then
  log "using the pulumi already on PATH: $existing ($("$existing" version 2>/dev/null || echo 'unknown version'))"
  dirname "$existing"
  exit 0
fi

if [[ -x "$BIN_DIR/pulumi" && -x "$BIN_DIR/pulumi-language-nodejs" ]]; then
  link_nodejs_provider_plugin "$BIN_DIR"
  log "using cached Pulumi CLI $PULUMI_VERSION in $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "error: no 'pulumi' on PATH and no Go toolchain to build it from its Go modules."
  log "Install Go >= 1.24 (https://go.dev/doc/install) or the Pulumi CLI, then run this again."
  exit 1
fi

WORK="$CACHE_ROOT/pulumi/$PULUMI_VERSION/build"
mkdir -p "$WORK" "$BIN_DIR"
cd "$WORK"
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
log "resolving github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION and its requirements"
go get "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2
go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" >&2
log "resolving the nodejs language host at commit $LANGUAGE_HOST_COMMIT"
go get -tool "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@$LANGUAGE_HOST_COMMIT" >&2
# The language host requires newer pulumi modules than the pin; hold them at the pin.
go get "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2

LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
for pkg in github.com/pulumi/pulumi/pkg/v3/cmd/pulumi github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3; do
  log "compiling $pkg"
  go build -trimpath -tags osusergo,grpcnotrace -ldflags "$LDFLAGS" -o "$BIN_DIR/" "$pkg" >&2
done

link_nodejs_provider_plugin "$BIN_DIR"
log "built $("$BIN_DIR/pulumi" version) into $BIN_DIR"
echo "$BIN_DIR"
