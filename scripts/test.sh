#!/usr/bin/env bash
# Runs every test of nudge, the way CI does. It first makes sure what the tests need is
# there (Go's modules), then runs vet, the race-enabled test suite and a short pass of each
# fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
command -v go >/dev/null || { echo "test.sh: Go is not installed (want go 1.26)" >&2; exit 1; }

echo "== go mod download"
go mod download

# The web UI's browser tests drive Debian's chromium headless; CI runs as root.
if ! command -v chromium >/dev/null; then
  echo "== installing chromium (browser tests)"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 30m ./...

echo "== fuzz (short)"
fuzz() { # package target
  go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-10s}" "$1"
}
fuzz ./internal/chatarchitect FuzzDecode
fuzz ./internal/workflow FuzzParseTemplate
fuzz ./internal/workflow FuzzParseCondition
fuzz ./internal/server FuzzParsePaygeeEvent
echo "== all tests passed"
