#!/usr/bin/env bash
# Regenerates the native provider's SDKs from provider/native/schema.json (`npm run sdks`):
#   sdks/python   the `pulumi_toolgate` package (pip install ./sdks/python)
#   sdks/go       the Go module github.com/toolgate/toolgate/sdks/go/toolgate (go.mod in sdks/go/toolgate)
# Both are checked in (Go needs that for `go get`); tests/unit/provider-sdks.test.ts fails when they are stale.
#
# `pulumi package gen-sdk` hands code generation to the language host (pulumi-language-python, -go, -dotnet), and
# the Go module proxy serves none of them, so this builds scripts/sdkgen (the generators of the CLI's own module,
# github.com/pulumi/pulumi/pkg/v3/codegen, at the CLI's pin) and caches it beside the CLI. The .NET generator is
# not in that module (it lives in pulumi-dotnet's language host): sdks/dotnet is generated apart and checked against
# the schema's SHA-256 by tests/unit/dotnet-sdk.test.ts (docs/development.md).
#
# With --check, writes into a temporary directory and exits 1 when the checked-in SDKs differ; with --generator,
# prints the generator's path.
set -euo pipefail

# The CLI's pin, cache and project directories, and its wrapper Go module (pulumi's own go.mod files have
# replace directives), from scripts/install-pulumi.sh.
source "$(dirname "${BASH_SOURCE[0]}")/install-pulumi.sh"
SOURCE="$PROJECT_DIR/scripts/sdkgen/main.go"

log() { printf 'gen-sdks: %s\n' "$*" >&2; }

sdkgen_binary() {
  local work="$CACHE_ROOT/pulumi/$PULUMI_VERSION/sdkgen-$(sha256sum "$SOURCE" | cut -c1-16)"
  if [[ -x "$work/toolgate-sdkgen" ]]; then
    echo "$work/toolgate-sdkgen"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "error: building the SDK generator needs Go >= 1.25 (https://go.dev/doc/install)"
    exit 1
  fi
  wrapper_module "$work" toolgate.local/sdkgen
  cp "$SOURCE" "$work/main.go"
  log "building the SDK generator from github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION (a few minutes cold)"
  (
    cd "$work"
    export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
    go get "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" >&2
    go build -trimpath -o toolgate-sdkgen.partial . >&2
    mv toolgate-sdkgen.partial toolgate-sdkgen
  )
  echo "$work/toolgate-sdkgen"
}

generate_into() {
  local out="$1" sdkgen
  sdkgen="$(sdkgen_binary)"
  "$sdkgen" -language python -out "$out/python" "$PROJECT_DIR/provider/native/schema.json"
  "$sdkgen" -language go -out "$out/go" "$PROJECT_DIR/provider/native/schema.json"
  go_module "$out/go/toolgate"
}

# The Go generator writes packages only (the Go language host adds go.mod): a module of its own, requiring the
# Pulumi Go SDK at the CLI's pin, so that `go get github.com/toolgate/toolgate/sdks/go/toolgate` works.
go_module() {
  local dir="$1" module
  module="$(sed -n 's/.*"importBasePath": "\([^"]*\)".*/\1/p' "$PROJECT_DIR/provider/native/schema.json")"
  printf 'module %s\n\ngo 1.25.11\n\nrequire github.com/pulumi/pulumi/sdk/v3 %s\n' "$module" "$PULUMI_VERSION" > "$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-local}" go mod tidy >&2)
}

# --generator: only print the generator's path (the Python language host runs it for `pulumi package gen-sdk`).
if [[ "${1:-}" == "--generator" ]]; then
  sdkgen_binary
  exit 0
fi

if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  generate_into "$tmp"
  # What pip and Python leave in the source tree (ignored by sdks/python/.gitignore) is not part of the SDK.
  local_files=(-x '*.egg-info' -x __pycache__ -x build -x dist)
  if ! diff -r "${local_files[@]}" "$tmp/python" "$PROJECT_DIR/sdks/python" >&2 || ! diff -r "$tmp/go" "$PROJECT_DIR/sdks/go" >&2; then
    log "the checked-in SDKs are stale: run 'npm run sdks' and commit sdks/"
    exit 1
  fi
  log "sdks/ is current"
  exit 0
fi

generate_into "$PROJECT_DIR/sdks"
