#!/usr/bin/env bash
# `npm start`: sets up everything on a fresh clone (npm packages, Debian packages for the engines,
# Prisma clients), builds, and serves the dashboard on 127.0.0.1 behind a random access token,
# printed like Jupyter's. The database (SQLite by default) is migrated when the server starts.
#   PORT (3000), HOST (127.0.0.1), CONTROLROOM_HOME (./var), DATABASE_URL, CONTROLROOM_TOKEN
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
export CONTROLROOM_HOME="${CONTROLROOM_HOME:-$PWD/var}"
mkdir -p "$CONTROLROOM_HOME"

if ! CONTROLROOM_SKIP_SYSTEM_DEPS="${CONTROLROOM_SKIP_SYSTEM_DEPS:-0}" bash scripts/setup.sh; then
  echo "[start] setup of system packages failed; retrying without them (the local backend still works)" >&2
  CONTROLROOM_SKIP_SYSTEM_DEPS=1 bash scripts/setup.sh
fi

echo "[start] building"
npx next build > "$CONTROLROOM_HOME/next-build.log" 2>&1 || { tail -40 "$CONTROLROOM_HOME/next-build.log"; exit 1; }

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-3000}"
if [ -z "${CONTROLROOM_TOKEN:-}" ]; then
  TOKEN_FILE="$CONTROLROOM_HOME/token"
  if [ ! -s "$TOKEN_FILE" ]; then
    (umask 077; node -e "process.stdout.write(require('crypto').randomBytes(24).toString('hex'))" > "$TOKEN_FILE")
  fi
  chmod 600 "$TOKEN_FILE"
  CONTROLROOM_TOKEN="$(cat "$TOKEN_FILE")"
fi
export CONTROLROOM_TOKEN

echo
echo "    Control Room is starting. Open:"
echo "    http://$HOST:$PORT/?token=$CONTROLROOM_TOKEN"
echo
exec npx next start -H "$HOST" -p "$PORT"
