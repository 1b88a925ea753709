"""The HPA controller's share of a Hunan run: where the per-rescale work goes.

Run from the repository root::

    python benchmarks/hpa.py [--days 90] [--repeats 3] [--kernel auto|numpy] [--wide N]

Runs ``scenarios/hunan-3s4c.yaml`` (seed 7) for ``--days`` with the HPA controller's
parts timed (CPU seconds of this process, each part's calls wrapped): a controller step,
the inputs read for the syncs ahead, the forecast (and within it the replica calculator
and the window checks), applying the sync a forecast found, and committing the syncs it
skipped; with numba (``--kernel auto``, the default when it is installed) the compiled
passes within them (inputs, forecast), with ``--kernel numpy`` the numpy reference (the
replica calculator and the window checks). Prints, for the best of ``--repeats`` runs
(least run CPU), the path, calls, CPU seconds,
share of the run and microseconds per call, then the forecasts' shape: syncs looked at,
HPAs, and the quantiles of the first sync that changes replicas (how far ahead the
rescale was). Timing wrappers add about a microsecond a call.

``--wide N`` times instead one forecast of ``N`` HPAs over 481 syncs (the lookahead) by
both paths, demand steady then rising at the last sync (every sync checked): how the
forecast scales with the number of HPAs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cloudsim import Simulation, load_scenario  # noqa: E402
from cloudsim import compiled as compilation  # noqa: E402
from cloudsim.containers.controllers.hpa import (  # noqa: E402
    HPA_LOOKAHEAD_SYNCS,
    HorizontalPodAutoscaling,
)
from cloudsim.containers.hpa import autoscalers, kernels  # noqa: E402
from cloudsim.containers.hpa.calculator import ReplicaCalculator  # noqa: E402
from cloudsim.scenario.containers import HPA  # noqa: E402

SEED = 7
HUNAN = ROOT / "scenarios" / "hunan-3s4c.yaml"

#: (label, owner, attribute) of the parts timed, outermost first.
PARTS: list[tuple[str, Any, str]] = [
    ("HPA controller step", HorizontalPodAutoscaling, "step"),
    ("  inputs of the syncs ahead", HorizontalPodAutoscaling, "_inputs"),
    ("  forecast", autoscalers.Autoscalers, "forecast"),
    ("    replica calculator", ReplicaCalculator, "calculate"),
    ("    window checks (changes)", autoscalers, "changes"),
    ("    compiled forecast pass", kernels, "forecast_pass"),
    ("    compiled inputs pass", kernels, "inputs_pass"),
    ("  apply the sync found", autoscalers.Autoscalers, "apply"),
    ("  commit the syncs skipped", autoscalers.Autoscalers, "commit"),
]


def _timed(fn: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            into[0] += 1
            into[1] += time.process_time() - started

    return wrapper


def run(
    days: int, kernel: str
) -> tuple[float, int, dict[str, list[float]], list[tuple[int, int, int]], str]:
    """One timed run: its CPU seconds, events, per-part [calls, seconds], per forecast
    (syncs, HPAs, first sync that changes), and the path ("numba" or "numpy")."""
    totals = {label: [0.0, 0.0] for label, _, _ in PARTS}
    shapes: list[tuple[int, int, int]] = []
    compiled = kernels.kernels() if compilation.available() else {}
    saved = [
        (owner, name, getattr(owner, name)) for _, owner, name in PARTS if owner is not kernels
    ]
    saved_compiled = dict(compiled)
    saved_setting = os.environ.get(compilation.ENVIRONMENT)
    inner = autoscalers.Autoscalers.forecast

    def shaped(self: Any, times: Any, *rest: Any) -> Any:
        found = inner(self, times, *rest)
        shapes.append((len(times), len(self), found.first))
        return found

    try:
        autoscalers.Autoscalers.forecast = shaped  # type: ignore[method-assign]
        if kernel == "numpy":  # every part on its reference path
            os.environ[compilation.ENVIRONMENT] = "numpy"
        for label, owner, name in PARTS:
            if owner is kernels:  # the controller and autoscalers read these at creation
                if name in compiled:
                    compiled[name] = _timed(compiled[name], totals[label])
            else:
                setattr(owner, name, _timed(getattr(owner, name), totals[label]))
        scenario = load_scenario(HUNAN, overrides={"meta.horizon": f"{days}d"})
        sim = Simulation(scenario, SEED)
        started = time.process_time()
        sim.kernel.run()
        cpu = time.process_time() - started
        path = sim.modules["containers"].cloud.hpa.hpas.kernel  # type: ignore[attr-defined]
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
        compiled.update(saved_compiled)
        if saved_setting is None:
            os.environ.pop(compilation.ENVIRONMENT, None)
        else:
            os.environ[compilation.ENVIRONMENT] = saved_setting
    return cpu, sim.events_processed, totals, shapes, path


def wide(hpas: int, repeats: int) -> None:
    """Print µs per forecast of ``hpas`` HPAs over the lookahead, by both paths (best of
    ``repeats`` rounds), after checking they agree."""
    specs = [
        HPA.model_validate(
            {"name": f"h{i}", "deployment": "d", "max_replicas": 50, "target_utilization": 60}
        )
        for i in range(hpas)
    ]
    j = HPA_LOOKAHEAD_SYNCS + 1
    times = 900.0 + 15.0 * np.arange(j)
    current = np.full(hpas, 4, dtype=np.int64)
    ready = np.full((j, hpas), 4, dtype=np.int64)
    unready = np.zeros((1, hpas), dtype=np.int64)
    missing = np.zeros(hpas, dtype=np.int64)
    request = np.full(hpas, 500, dtype=np.int64)
    usage = np.full((j, hpas), 1200, dtype=np.int64)  # 60 %: within the tolerance
    usage[-1] = 2000  # ... until the last sync
    args = (times, current, ready, unready, missing, usage, request)
    paths = ["numpy"] + (["numba"] if compilation.available() else [])
    firsts = set()
    for path in paths:
        a = autoscalers.Autoscalers(specs, 15.0, kernel=path)
        firsts.add(a.forecast(*args).first)  # compiled (or loaded) before timing
        rounds = max(1, 2000 // hpas)
        best = math.inf
        for _ in range(repeats):
            started = time.process_time()
            for _ in range(rounds):
                a.forecast(*args)
            best = min(best, (time.process_time() - started) / rounds)
        print(f"{hpas} HPAs x {j} syncs, {path}: {best * 1e6:,.1f} µs per forecast")
    assert firsts == {j - 1}, firsts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90, help="simulated days (90)")
    parser.add_argument("--repeats", type=int, default=3, help="runs, best one shown (3)")
    parser.add_argument(
        "--kernel",
        choices=("auto", "numpy"),
        default="auto",
        help="auto: the compiled passes when numba is installed (default); numpy: without",
    )
    parser.add_argument("--wide", type=int, default=0, help="time N HPAs' forecast instead")
    args = parser.parse_args(argv)
    if args.days <= 0 or args.repeats <= 0 or args.wide < 0:
        print(
            "hpa.py: --days and --repeats must be positive integers, --wide not negative",
            file=sys.stderr,
        )
        return 2
    if args.wide:
        wide(args.wide, args.repeats)
        return 0
    best = min((run(args.days, args.kernel) for _ in range(args.repeats)), key=lambda r: r[0])
    cpu, events, totals, shapes, path = best
    print(
        f"hunan {args.days}d ({path} path): {events:,} events, run CPU {cpu:.3f} s "
        f"(best of {args.repeats})"
    )
    print(f"{'part':>32} {'calls':>8} {'cpu s':>8} {'% run':>6} {'µs/call':>8}")
    for label, (calls, seconds) in totals.items():
        per = seconds / calls * 1e6 if calls else 0.0
        print(f"{label:>32} {int(calls):>8,} {seconds:>8.3f} {seconds / cpu:>6.1%} {per:>8.1f}")
    if shapes:
        syncs, hpas, first = (np.array(v) for v in zip(*shapes, strict=True))
        q = np.percentile(first, [10, 25, 50, 75, 90]).round().astype(int).tolist()
        print(
            f"forecasts: {len(shapes):,}, syncs looked at {int(np.median(syncs))} (median), "
            f"HPAs {int(hpas.max())}; first sync that changes, quantiles 10/25/50/75/90: {q}; "
            f"none in the lookahead: {int((first >= syncs).sum())}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
