"""Development secrets: created once, shared by every process, extended when a release adds one."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from immigration import dev_secrets


def test_a_file_from_an_older_release_gains_the_new_secrets_and_keeps_the_old(tmp_path: Path):
    path = tmp_path / "dev-secrets.json"
    path.write_text(json.dumps({"SECRET_KEY": "kept"}))
    loaded = dev_secrets.load(path)
    assert loaded["SECRET_KEY"] == "kept"
    assert set(dev_secrets._fresh()) <= set(loaded)
    assert json.loads(path.read_text()) == loaded
    assert dev_secrets.load(path) == loaded  # stable from then on


def test_processes_starting_together_agree_on_the_secrets(tmp_path: Path):
    path = tmp_path / "dev-secrets.json"
    with ProcessPoolExecutor(4) as pool:
        results = list(pool.map(dev_secrets.load, [path] * 8))
    assert all(r == results[0] for r in results)
    assert json.loads(path.read_text()) == results[0]
