"""Development secrets: made once, and a secret a newer version adds joins the existing file."""

from __future__ import annotations

import json
import threading

from immigration import dev_secrets


def test_a_new_secret_is_added_and_the_old_ones_are_kept(tmp_path):
    path = tmp_path / "dev-secrets.json"
    path.write_text(json.dumps({"SECRET_KEY": "kept", "PII_KEYS": "1:kept"}))

    values = dev_secrets.load(path)

    assert values["SECRET_KEY"] == "kept" and values["PII_KEYS"] == "1:kept"
    assert set(values) == set(dev_secrets._fresh())
    assert json.loads(path.read_text()) == values
    assert dev_secrets.load(path) == values
    assert path.stat().st_mode & 0o077 == 0


def test_processes_starting_together_get_the_same_secrets(tmp_path):
    path = tmp_path / "dev-secrets.json"
    seen: list[dict[str, str]] = []
    threads = [threading.Thread(target=lambda: seen.append(dev_secrets.load(path)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(values == seen[0] for values in seen)
    assert json.loads(path.read_text()) == seen[0]
