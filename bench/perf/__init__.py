"""Timings of the harness (`make perf`, `python -m bench.perf.run_all`): never test assertions."""
