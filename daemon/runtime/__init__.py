"""Long-running components: each has `run_once(...)` (one pass) and `run(stop)` (loop until stopped)."""
