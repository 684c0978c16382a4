"""The benchmark suite: scripts that print figures, each a ratio against a baseline measured
in the same run (machines are shared and noisy: absolute times vary, ratios hold).

`python -m benchmarks` (what `make bench` runs) runs them all, prints the table, writes
`benchmarks/results.json` and exits 1 when a target is missed; `python -m benchmarks.<name>`
runs one alone. See `docs/performance.md` for the figures and what limits them.
"""
