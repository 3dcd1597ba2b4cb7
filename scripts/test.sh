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

# PostgreSQL: the store's conformance suite, the end-to-end suite and the scale-out test run
# on it too. Use the server at 127.0.0.1:5432 when it answers; otherwise install PostgreSQL
# where needed and start a throwaway cluster there (trust auth, user postgres).
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    echo "== installing postgresql"
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
    # The package may have started a cluster of its own, which asks for passwords: stop it.
    for conf in /etc/postgresql/*/main; do
      [ -d "$conf" ] && { pg_ctlcluster "$(basename "$(dirname "$conf")")" main stop 2>/dev/null || true; }
    done
  fi
  pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if ! "$pgbin/pg_isready" -q -h 127.0.0.1 -p 5432; then
    pgdir="$(mktemp -d /tmp/nudge-pg.XXXXXX)"
    chown postgres "$pgdir"
    echo "== starting a throwaway PostgreSQL in $pgdir"
    runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" \
      -o "-p 5432 -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=300" -w start
    trap 'runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true' EXIT
  fi
  PATH="$pgbin:$PATH"
fi
export NUDGE_TEST_POSTGRES="${NUDGE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
pg_isready -h 127.0.0.1 -p 5432

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
