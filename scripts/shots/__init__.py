"""Screenshots for the README and docs: `scripts/screenshots` runs every module in this folder.

Each module (any `scripts/shots/<topic>.py` whose name does not start with `_`) defines

    def shoot(ctx: ShotContext) -> None

and writes its PNG files into `ctx.out`. Modules run one after the other, in name order, each
on a fresh state; `scripts/screenshots staff_backlog` runs only the named ones.

What `ctx` gives a shot:

- **A test-like server.** `ctx.url` is a Django live server (the same `LiveServerThread` the
  browser tests use, static files included) running in this very process over a SQLite database
  of its own in `var/shots/` (never your development database). So a shot sets up the state it
  wants to show directly with the ORM and the real domain functions (submit, approve, put
  central down with `UpstreamHealth` or `queueing.breaker`, ...), then photographs it. Before
  each module the database is emptied and re-seeded with the offices and the `counter` group, and
  the Redis database (`SHOTS_REDIS_URL`, default `redis://127.0.0.1:6379/13`) is flushed. No Celery
  worker and no central simulator run: nothing moves unless the shot moves it.
- **A Playwright browser factory with Debian's Chromium** (`/usr/bin/chromium`, headless, the
  flags of tests/frontend/conftest.py): `ctx.new_context(viewport=ctx.PHONE, **options)` returns
  a fresh `BrowserContext` whose `base_url` is the server, so `page.goto("/mine")` works.
  Contexts are closed after the module. `ctx.browser` is the underlying `Browser`.
- **Helpers**: `ctx.clerk(username, office_code)` makes a counter clerk (with
  `ctx.login(page, user)` to log in through the staff form); `ctx.applicant(**overrides)` and
  `ctx.fill_application(page, applicant)` are the test suite's persona data and form walk;
  `ctx.make_approvable(application, clerk)` satisfies the registered readiness checks through
  real domain functions (tests/fixtures/approvable.py), so a shot may approve.
- **The output folder**: `ctx.out` is `docs/screenshots/` (or `--out DIR`); use
  `ctx.path("name.png")`. Shots keep their file names stable: the README links to them.

Playwright's sync API runs an event loop in this thread; the ORM calls between browser steps are
ordinary synchronous calls, hence DJANGO_ALLOW_ASYNC_UNSAFE (as in the browser tests).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots"


class ShotContext:
    PHONE = {"width": 360, "height": 780}
    DESKTOP = {"width": 1024, "height": 900}
    STAFF_PASSWORD = "rahasia-loket"  # a throwaway clerk in a throwaway database

    def __init__(self, *, url: str, browser: Any, out: Path) -> None:
        self.url = url
        self.browser = browser
        self.out = out
        self._contexts: list[Any] = []

    def path(self, name: str) -> Path:
        return self.out / name

    def new_context(self, viewport: dict[str, int] | None = None, **options: Any) -> Any:
        options.setdefault("locale", "id-ID")
        context = self.browser.new_context(viewport=viewport or self.PHONE, base_url=self.url,
                                           **options)
        context.set_default_timeout(15000)
        self._contexts.append(context)
        return context

    def clerk(self, username: str, office_code: str = "NNK") -> Any:
        from django.contrib.auth.models import Group, User

        from immigration.api.permissions import COUNTER_GROUP
        from immigration.models import StaffMembership

        user = User.objects.create_user(username=username, password=self.STAFF_PASSWORD)
        user.groups.add(Group.objects.get_or_create(name=COUNTER_GROUP)[0])
        StaffMembership.objects.create(user=user, office_id=office_code)
        return user

    def login(self, page: Any, user: Any) -> None:
        from tests.frontend.conftest import staff_login

        staff_login(page, user)

    def applicant(self, **overrides: Any) -> dict[str, Any]:
        from tests.conftest import applicant

        return applicant(**overrides)

    def fill_application(self, page: Any, applicant: dict[str, Any], **kwargs: Any) -> None:
        from tests.frontend.conftest import fill_application

        fill_application(page, applicant, **kwargs)

    def make_approvable(self, application: Any, clerk: Any) -> None:
        try:
            from tests.fixtures.approvable import make_approvable
        except ImportError:  # no part of the office has registered a readiness check yet
            return
        make_approvable(application, clerk)

    def close_contexts(self) -> None:
        while self._contexts:
            self._contexts.pop().close()


def discover(only: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if not m.name.startswith("_"))
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise SystemExit(f"no such shot module: {', '.join(unknown)} (have: {', '.join(names)})")
    return [n for n in names if not only or n in only]


def _reset_state() -> None:
    import redis
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    seed = importlib.import_module("immigration.migrations.0002_seed_offices").seed
    call_command("flush", interactive=False, verbosity=0)
    seed(apps, None)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def _prepare_environment() -> None:
    var = Path(os.environ.get("TANGGUH_SHOTS_VAR", ROOT / "var" / "shots"))
    var.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{var / 'tangguh.sqlite3'}"
    os.environ.setdefault("TANGGUH_VAR_DIR", str(var))
    os.environ["REDIS_URL"] = os.environ.get("SHOTS_REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ["DB_CONN_MAX_AGE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immigration.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="shot modules to run (default: all)")
    parser.add_argument("--out", type=Path, default=DOCS, help="default: docs/screenshots/")
    args = parser.parse_args(argv)

    _prepare_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.testcases import LiveServerThread, _StaticFilesHandler
    from playwright.sync_api import sync_playwright

    from tests.frontend.conftest import CHROMIUM, CHROMIUM_ARGS

    names = discover(args.only)
    args.out.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    server = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    url = f"http://127.0.0.1:{server.port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                 headless=True)
            ctx = ShotContext(url=url, browser=browser, out=args.out)
            for name in names:
                started = time.monotonic()
                _reset_state()
                module = importlib.import_module(f"scripts.shots.{name}")
                try:
                    module.shoot(ctx)
                finally:
                    ctx.close_contexts()
                print(f"{name}: done in {time.monotonic() - started:.1f} s", flush=True)
            browser.close()
    finally:
        server.terminate()
    print(f"screenshots in {args.out}")
    return 0
