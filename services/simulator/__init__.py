"""A central printing service that runs on a laptop: a real HTTP server with a durable store.

Start it with `python -m services.simulator` (see `__main__`), drive faults through
`/_control`, and use `SimulatorProcess` / `SimulatorControl` from tests, scripts and
benchmarks.
"""

from __future__ import annotations

from services.simulator.process import SimulatorControl, SimulatorProcess, free_port

__all__ = ["SimulatorControl", "SimulatorProcess", "free_port"]
