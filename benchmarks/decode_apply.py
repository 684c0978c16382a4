"""Decode + tracker apply of realistic mixed bodies, one core, against bare `json.loads`.

`decode_apply_events_per_s`: bodies per second through `decode` and `JobTable.apply` (a
fresh table each pass, so every job really moves CREATED -> ... -> terminal). Baseline:
`json.loads` of the same bodies in the same loop; `decode_apply_vs_json_loads` is the ratio
of the two times. Best of several interleaved passes each.

`python -m benchmarks.decode_apply --profile` prints where the time goes (cProfile).
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import sys
from collections.abc import Sequence

from benchmarks.common import Figure, Target, best_of, exit_with, figure
from benchmarks.corpus import Corpus
from daemon.core.errors import DecodeError
from daemon.core.events.decode import decode
from daemon.core.events.tracker import JobTable

JOBS = 5_000  # ~20 000 bodies
REPEAT = 7


def decode_apply(bodies: Sequence[str], table: JobTable | None = None) -> JobTable:
    """What the pipeline does per message, minus I/O and logging: decode, then apply."""
    table = JobTable() if table is None else table
    apply = table.apply
    for body in bodies:
        try:  # noqa: SIM105 - cheaper than contextlib.suppress in the loop being measured
            apply(decode(body))
        except DecodeError:
            pass
    return table


def decode_only(bodies: Sequence[str]) -> None:
    for body in bodies:
        try:  # noqa: SIM105 - as above
            decode(body)
        except DecodeError:
            pass


def loads_only(bodies: Sequence[str]) -> None:
    loads = json.loads
    for body in bodies:
        loads(body)


def measure(bodies: Sequence[str], repeat: int = REPEAT) -> dict[str, float]:
    """Best-of times (s) of json.loads, decode, decode + apply over `bodies`, interleaved."""
    best = {"loads": float("inf"), "decode": float("inf"), "decode_apply": float("inf")}
    for _ in range(repeat):
        best["loads"] = min(best["loads"], best_of(lambda: loads_only(bodies), 1))
        best["decode"] = min(best["decode"], best_of(lambda: decode_only(bodies), 1))
        best["decode_apply"] = min(best["decode_apply"],
                                   best_of(lambda: decode_apply(bodies), 1))
    return best


def check(bodies: Sequence[str]) -> None:
    """Every body must decode: a decoder that started refusing them would look faster."""
    for body in bodies:
        try:
            decode(body)
        except DecodeError as exc:
            raise RuntimeError(f"the corpus no longer decodes ({exc}): {body[:200]}") from exc


def run() -> list[Figure]:
    bodies = Corpus().bodies(JOBS)
    check(bodies)  # also warms up: validators, interned strings, caches
    t = measure(bodies)
    n = len(bodies)
    per_s = n / t["decode_apply"]
    loads_per_s = n / t["loads"]
    ratio = t["decode_apply"] / t["loads"]
    detail = (f"{n} bodies; decode alone {n / t['decode']:,.0f}/s, apply "
              f"{t['decode_apply'] - t['decode']:.3f} s of {t['decode_apply']:.3f} s; "
              f"json.loads {loads_per_s:,.0f}/s")
    return [
        figure("decode_apply_events_per_s", per_s, "events/s", Target(">=", 50_000),
               note=detail, bodies=n),
        figure("decode_apply_vs_json_loads", ratio, "x json.loads time", Target("<=", 1.5),
               baseline=loads_per_s, baseline_unit="json.loads bodies/s", ratio=ratio,
               decode_apply_per_s=round(per_s)),
    ]


def profile(limit: int = 30) -> str:
    """cProfile of decode + apply over the corpus, top functions by own time."""
    bodies = Corpus().bodies(JOBS)
    decode_apply(bodies[:2000])
    profiler = cProfile.Profile()
    profiler.enable()
    decode_apply(bodies)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(limit)
    return out.getvalue()


if __name__ == "__main__":
    if "--profile" in sys.argv:
        print(profile())
        sys.exit(0)
    exit_with(run)
