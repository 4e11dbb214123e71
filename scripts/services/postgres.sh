#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for tests, under ./var/pg (data, socket, log), on a free port of
# 127.0.0.1 with trust authentication (local use only).
#   scripts/services/postgres.sh start   -> initialises if needed, starts, prints the URL (last line)
#   scripts/services/postgres.sh stop
#   scripts/services/postgres.sh url     -> prints the URL when it is running (exit 1 otherwise)
#   scripts/services/postgres.sh status
# Tests read TEST_DATABASE_URL_PG:  export TEST_DATABASE_URL_PG="$(scripts/services/postgres.sh start | tail -1)"
# PostgreSQL refuses to run as root: as root the cluster is owned by and run as the `postgres` user.
# Debian's package: apt-get install -y postgresql (scripts/system-deps.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${PG_TEST_DIR:-$ROOT/var/pg}"
DATA="$DIR/data"
SOCK="$DIR/sock"
LOG="$DIR/postgres.log"
PORT_FILE="$DIR/port"

find_bin() {
  local d
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  d="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
  [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  echo "PostgreSQL server binaries not found (apt-get install -y postgresql)" >&2
  exit 1
}
BIN="$(find_bin)"

as_owner() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql://postgres@127.0.0.1:$(cat "$PORT_FILE")/postgres"; }

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

start() {
  mkdir -p "$DIR" "$SOCK"
  if [ "$(id -u)" = "0" ]; then chown postgres:postgres "$DIR" "$SOCK"; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    echo "[postgres] initialising cluster in $DATA" >&2
    rm -rf "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
  fi
  if running; then url; return; fi
  local port
  port="$(free_port)"
  echo "$port" > "$PORT_FILE"
  echo "[postgres] starting on 127.0.0.1:$port" >&2
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { tail -20 "$LOG" >&2; exit 1; }
  url
}

stop() {
  if running; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
  echo "[postgres] stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) running && url || { echo "PostgreSQL is not running" >&2; exit 1; } ;;
  status) running && echo "running at $(url)" || { echo "stopped"; exit 1; } ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
