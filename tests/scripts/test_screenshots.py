"""`scripts/screenshots` runs every module in scripts/shots/ (into a temporary folder here, so
the tracked docs/screenshots/ are not rewritten): the shots keep working as the pages change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from scripts.shots import ROOT, discover

pytestmark = pytest.mark.browser


def test_every_shot_module_defines_shoot():
    import importlib

    names = discover([])
    assert {"applicant", "staff_backlog"} <= set(names)
    for name in names:
        assert callable(importlib.import_module(f"scripts.shots.{name}").shoot)


def test_the_screenshot_command_writes_every_picture(tmp_path: Path):
    env = {**os.environ, "SHOTS_REDIS_URL": settings.REDIS_URL,
           "TANGGUH_SHOTS_VAR": str(tmp_path / "var")}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.shots", "--out", str(tmp_path / "out")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    names = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    # Every picture the docs show is made by the command, and nothing else is.
    assert names == sorted(p.name for p in (ROOT / "docs" / "screenshots").glob("*.png"))
    assert all((tmp_path / "out" / n).stat().st_size > 5000 for n in names)
