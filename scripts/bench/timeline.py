"""Second by second through a drain: how busy central was and how many jobs were settled.

Reads the `<run>-timeline.json` that `scripts/bench_drain.py` writes next to its logs (jobs
waiting and central's CPU seconds, sampled every 0.2 s from recovery) and prints one line per
second, so the moments central sat idle stand out:

    .venv/bin/python scripts/bench/timeline.py /tmp/bench-var/drain-*/tangguh-big-timeline.json

Busy is of central's core, or of its cap with `--central-cpu-share`; a second can read a little
over 100% where the kernel's quota periods straddle the samples.
"""

from __future__ import annotations

import bisect
import json
import sys
from pathlib import Path


def value_at(times: list[float], values: list[float], t: float) -> float:
    """The first sample at or after `t` (the last one past the end)."""
    return values[min(bisect.bisect_left(times, t), len(values) - 1)]


def seconds(path: Path) -> list[tuple[int, float, int]]:
    data = json.loads(path.read_text())
    capacity = float(data["capacity"])
    w_times, waiting = (list(column) for column in zip(*data["waiting"], strict=True))
    c_times, cpu = (list(column) for column in zip(*data["central_cpu"], strict=True))
    rows = []
    for second in range(int(w_times[-1]) + 1):
        busy = (value_at(c_times, cpu, second + 1) - value_at(c_times, cpu, second)) / capacity
        settled = value_at(w_times, waiting, second) - value_at(w_times, waiting, second + 1)
        rows.append((second, busy, int(settled)))
    return rows


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(f"{'s':>4}  {'central busy':>12}  {'jobs settled':>12}")
    for second, busy, settled in seconds(Path(sys.argv[1])):
        print(f"{second:>4}  {100 * busy:>11.0f}%  {settled:>12}")


if __name__ == "__main__":
    main()
