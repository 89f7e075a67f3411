"""The production files in deploy/ are what a sysadmin installs: they must parse, name things that
exist, cover every setting, and the web unit's command must actually serve.

- env template: every variable the settings read from the environment is listed;
- systemd units: `systemd-analyze verify` (with the venv paths pointed at this checkout's venv)
  where systemd is present, plus a strict parse of our own everywhere: known sections, no key
  twice, ExecStart's program in the venv, the app module named by it importable;
- nginx: `nginx -t` on the site inside a throwaway prefix with a throwaway certificate
  (scripts/lib.sh ensure_nginx installs nginx for scripts/test; skipped with the reason if absent);
- gunicorn: the web unit's ExecStart, run here in production mode against SQLite, answers HTTP;
  the worker and beat units' commands start and stop cleanly.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from immigration import dev_secrets

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
VENV_BIN = Path(sys.executable).parent
INSTALLED_VENV_BIN = "/opt/tangguh/app/.venv/bin/"
ENV_READERS = {"envstr", "envint", "envfloat", "envbool", "envsecret"}


def read_from_environment() -> set[str]:
    """Every variable name the application's Python reads from the environment: literal first
    arguments of the env helpers and of os.environ.get / os.getenv, plus the secrets read in a
    loop over `_SECRET_NAMES` (settings.py)."""
    names: set[str] = set()
    for path in (ROOT / "immigration").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and \
                    isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else \
                    ast.unparse(func) if isinstance(func, ast.Attribute) else ""
                if called in ENV_READERS or called in {"os.environ.get", "os.getenv"}:
                    names.add(node.args[0].value)
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "_SECRET_NAMES" for t in node.targets):
                names.update(ast.literal_eval(node.value))
    # Set by the app itself for its own processes, not configuration.
    return names - {"DJANGO_SETTINGS_MODULE"}


def template_names() -> dict[str, bool]:
    """Names in the env template -> whether set (True) or shown commented with its default."""
    found: dict[str, bool] = {}
    for line in (DEPLOY / "tangguh.env.example").read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", line)
        if match:
            found[match.group(2)] = found.get(match.group(2), False) or not match.group(1)
    return found


def template_values() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "tangguh.env.example").read_text().splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_the_env_template_lists_every_setting_read_from_the_environment() -> None:
    read = read_from_environment()
    assert {"DATABASE_URL", "SECRET_KEY", "PII_KEYS", "QUEUE_SAMPLE_RETENTION_DAYS"} <= read
    missing = sorted(read - set(template_names()))
    assert not missing, f"deploy/tangguh.env.example lacks: {', '.join(missing)}"


def test_production_essentials_are_set_not_just_shown() -> None:
    names = template_names()
    for name in ["TANGGUH_ENV", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "SECRET_KEY",
                 "PII_KEYS", "PII_INDEX_KEY", "CENTRAL_PRINTING_SECRET", "CENTRAL_PRINTING_URL",
                 "OFFICE_PUBLIC_URL"]:
        assert names.get(name) is True, f"{name} must be set in the template"
    assert template_values()["TANGGUH_ENV"] == "production"


# --- systemd --------------------------------------------------------------------------------

KNOWN_SECTIONS = {"Unit", "Service", "Install"}


def parse_unit(path: Path) -> dict[str, dict[str, str]]:
    """A strict reading of a unit file: sections we know, `key=value` lines, no key twice."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            assert header.group(1) in KNOWN_SECTIONS, f"{path.name}:{number}: unknown section"
            assert header.group(1) not in sections, f"{path.name}:{number}: section twice"
            current = sections.setdefault(header.group(1), {})
            continue
        assert current is not None, f"{path.name}:{number}: a line outside any section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key), f"{path.name}:{number}: not key=value"
        assert key not in current, f"{path.name}:{number}: {key} twice"
        current[key] = value
    return sections


def exec_start(path: Path, **replace: str) -> list[str]:
    """ExecStart as argv, the way systemd splits it (quotes; "%%" is a literal "%"; %H the host
    name), with the installed venv pointed at this checkout's."""
    line = parse_unit(path)["Service"]["ExecStart"]
    line = line.replace("%H", socket.gethostname()).replace("%%", "%")
    argv = shlex.split(line)
    argv[0] = argv[0].replace(INSTALLED_VENV_BIN, f"{VENV_BIN}/")
    for old, new in replace.items():
        argv = [new if arg == old else arg for arg in argv]
    return argv


def test_there_are_web_worker_and_beat_units_and_no_simulator() -> None:
    assert [u.name for u in UNITS] == ["tangguh-beat.service", "tangguh-web.service",
                                       "tangguh-worker.service"]
    for unit in UNITS:
        assert "simulator" not in parse_unit(unit)["Service"]["ExecStart"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_parses_and_runs_a_program_from_the_venv(unit: Path) -> None:
    sections = parse_unit(unit)
    assert set(sections) == KNOWN_SECTIONS
    service = sections["Service"]
    assert service["EnvironmentFile"] == "/etc/tangguh/tangguh.env"
    assert service["User"] == "tangguh"
    assert sections["Install"]["WantedBy"] == "multi-user.target"
    program = shlex.split(service["ExecStart"])[0]
    assert program.startswith(INSTALLED_VENV_BIN)
    assert (VENV_BIN / Path(program).name).exists(), f"{program} is not installed by the project"
    argv = exec_start(unit)
    if "gunicorn" in program:
        module, _, attribute = argv[1].partition(":")
        assert attribute == "application"
        assert module == "immigration.wsgi"
    else:
        assert argv[1:3] == ["-A", "immigration"]


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the strict parse above still ran")
    for unit in UNITS:
        text = unit.read_text().replace(INSTALLED_VENV_BIN, f"{VENV_BIN}/")
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run([analyze, "verify", *(str(tmp_path / u.name) for u in UNITS)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    ours = [line for line in result.stderr.splitlines() if "tangguh-" in line]
    assert result.returncode == 0 and not ours, result.stderr


# --- nginx ----------------------------------------------------------------------------------

def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                     else None)


def test_nginx_site_parses(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (scripts/test installs it with ensure_nginx)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=paspor.example.go.id", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    (tmp_path / "logs").mkdir()
    site = (DEPLOY / "nginx" / "tangguh.conf").read_text()
    site = re.sub(r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(tmp_path / "cert.pem"), site)
    site = re.sub(r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(tmp_path / "key.pem"), site)
    site = site.replace("/etc/nginx/proxy_params_tangguh", str(DEPLOY / "nginx"
                                                                 / "proxy_params_tangguh"))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/logs/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  access_log {tmp_path}/logs/access.log;\n  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_nginx_site_says_what_matters() -> None:
    site = (DEPLOY / "nginx" / "tangguh.conf").read_text()
    params = (DEPLOY / "nginx" / "proxy_params_tangguh").read_text()
    assert "return 301 https://" in site
    assert re.search(r"listen 443 ssl", site)
    metrics = re.search(r"location = /metrics \{(.*?)\}", site, re.S)
    assert metrics and "deny all;" in metrics.group(1) and "allow 127.0.0.1;" in metrics.group(1)
    assert "alias /opt/tangguh/app/staticfiles/;" in site
    for header in ["Host $host", "X-Forwarded-Proto $scheme", "X-Forwarded-For $remote_addr"]:
        assert f"proxy_set_header {header};" in params
    assert "$request_uri" not in site.split("log_format", 1)[1].split(";", 1)[0]  # no queries


# --- the commands start ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    """The template's values, with throwaway secrets and a SQLite database in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(template_values())
    env.update({
        "TANGGUH_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tangguh.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        # Every production secret, fresh (the development generator knows each one's form).
        **dev_secrets._fresh(),
    })
    env.pop("CELERY_BROKER_URL", None)
    (tmp_path / "var").mkdir()
    return env


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_web_units_gunicorn_command_serves(production_env: dict[str, str], tmp_path: Path,
                                               started: list[subprocess.Popen[bytes]]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env=production_env, check=True, timeout=300)
    port = free_port()
    argv = exec_start(DEPLOY / "systemd" / "tangguh-web.service",
                      **{"127.0.0.1:8000": f"127.0.0.1:{port}"})
    argv[argv.index("--workers") + 1] = "1"  # two cores shared with the rest of the suite
    with (tmp_path / "gunicorn.log").open("wb") as log:
        started.append(subprocess.Popen(argv, cwd=ROOT, env=production_env, stdout=log,
                                        stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    answer = None
    while time.monotonic() < deadline:
        try:
            # As nginx would send it (deploy/nginx/proxy_params_tangguh).
            answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/offices",
                               headers={"X-Forwarded-Proto": "https"}, timeout=5)
            break
        except httpx.TransportError:
            assert started[0].poll() is None, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.3)
    assert answer is not None, (tmp_path / "gunicorn.log").read_text()
    assert answer.status_code == 200, answer.text
    assert "NNK" in {office["code"] for office in answer.json()["offices"]}
    started[0].send_signal(signal.SIGTERM)
    assert started[0].wait(timeout=40) == 0
    logged = (tmp_path / "gunicorn.log").read_text()
    assert re.search(r"GET /api/v1/offices 200", logged), logged


@pytest.mark.parametrize("unit,ready", [("tangguh-worker.service", r"ready\."),
                                        ("tangguh-beat.service", r"beat: Starting")])
def test_the_celery_units_commands_start_and_stop(unit: str, ready: str,
                                                  production_env: dict[str, str], tmp_path: Path,
                                                  started: list[subprocess.Popen[bytes]]) -> None:
    argv = exec_start(DEPLOY / "systemd" / unit,
                      **{"/var/lib/tangguh/celerybeat-schedule": str(tmp_path / "schedule")})
    if "--concurrency" in argv:
        argv[argv.index("--concurrency") + 1] = "1"
    log_path = tmp_path / "celery.log"
    with log_path.open("wb") as log:
        started.append(subprocess.Popen(argv, cwd=ROOT, env=production_env, stdout=log,
                                        stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while not re.search(ready, log_path.read_text()):
        assert started[0].poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.3)
    started[0].send_signal(signal.SIGTERM)  # the unit's KillSignal: a warm shutdown
    assert started[0].wait(timeout=60) == 0, log_path.read_text()
