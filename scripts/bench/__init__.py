"""Benchmark-only code: the bare-DRF baseline app, the naive one-task-per-application design,
and the helpers shared by scripts/bench_accept.py and scripts/bench_drain.py.

Nothing here is imported by the project itself. See docs/benchmarks.md.
"""
