"""Event economy: what a run costs per event against simpy's own floor, in one process.

Run from the repository root::

    python benchmarks/engine.py [--quick] [--repeats 1] [--json PATH]

Times, in this one process and order:

1. a simulated year (``--quick``: 30 days) of ``scenarios/hunan-3s4c.yaml`` with its
   container cluster (seed 7);
2. the same span of the Hunan DR design with failures at published rates: the host, rack
   and power-domain failures of ``scenarios/drills/rolling-host-failures.yaml`` plus the
   link and centre failures of ``benchmarks/faults.py``, DR on (``hunan-3s4c-dr.yaml``);
3. a small cluster: ``cloudsim replay`` of the first 300 pods of the Alibaba openb trace on
   8 of its GPU nodes, pods deleted at their deletion time (skipped, saying why, when
   the traces' folder, ``../shared/data`` or ``--data``, is absent);

and, for each, the **event floor**: the wall time simpy alone needs for as many bare
timeouts as the run processed events (one process yielding ``env.timeout``), measured here,
best of five. Prints events, wall time of the run (``Kernel.run``: the simulation, without
loading the scenario or assembling the results, printed apart), µs per event, the floor and
the ratio; and the same ratio in CPU seconds of this process (run and floor), steadier than
wall time on a machine shared with other work. Then what any event costs before it does
work: one step of a container controller that does nothing (its loop: due time, wait,
step, count) and one numpy reduction over six integers, in CPU µs, and what 10x the floor
leaves for the work itself. Targets (issue 14): a Hunan year and a
Hunan-DR year within 10x of the floor; a small replay well under a second per thousand
events.

``--breakdown`` runs the Hunan case once more, timing its parts (each container
controller's steps, the cluster-change fan-out within them, each module's samples) and
prints where the CPU time of a run goes and what each part costs per call; ``--only hunan``
skips the other cases.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_json  # noqa: E402
from benchmarks.faults import DR, DRILL, NETWORK_AND_FACILITY  # noqa: E402
from cloudsim import Scenario, Simulation, load_scenario, scenario_from_dict  # noqa: E402
from cloudsim.containers.controllers.base import Controller  # noqa: E402
from cloudsim.containers.replay import replay_scenario  # noqa: E402
from cloudsim.results import assemble  # noqa: E402
from cloudsim.scenario.faults import Faults  # noqa: E402

SEED = 7
HUNAN = ROOT / "scenarios" / "hunan-3s4c.yaml"
DATA = ROOT.parent / "shared" / "data"
TARGET_FLOOR_RATIO = 10.0
TARGET_SMALL_S_PER_1000 = 1.0
SMALL_NODES = 8
SMALL_PODS = 300


@dataclass
class Case:
    label: str
    events: int
    build_s: float
    run_s: float
    results_s: float
    floor_s: float
    sim_days: float
    run_cpu_s: float = 0.0
    floor_cpu_s: float = 0.0

    @property
    def us_per_event(self) -> float:
        return self.run_s / max(self.events, 1) * 1e6

    @property
    def ratio(self) -> float:
        return self.run_s / self.floor_s if self.floor_s > 0 else float("inf")

    @property
    def cpu_ratio(self) -> float:
        return self.run_cpu_s / self.floor_cpu_s if self.floor_cpu_s > 0 else float("inf")

    @property
    def s_per_1000(self) -> float:
        return self.run_s / max(self.events, 1) * 1000

    def record(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "us_per_event": self.us_per_event,
            "floor_ratio": self.ratio,
            "floor_ratio_cpu": self.cpu_ratio,
            "s_per_1000_events": self.s_per_1000,
        }


def event_floor(events: int, repeats: int = 3) -> tuple[float, float]:
    """Best wall and CPU seconds of simpy running ``events`` bare timeouts in one process."""

    def ticker(env: simpy.Environment) -> Any:
        for _ in range(events):
            yield env.timeout(1.0)

    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        env = simpy.Environment()
        env.process(ticker(env))
        started, cpu = time.perf_counter(), time.process_time()
        env.run()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best, best_cpu


class _Plane:
    """The least a controller runs in: a clock, a horizon and an event count."""

    def __init__(self, env: simpy.Environment, horizon: float) -> None:
        self.env = env
        self.horizon = horizon
        self.clusters: list[Any] = []
        self.counted = 0

    def changed(self, now: float, *, readiness_only: bool = False) -> None:
        pass

    def count(self) -> None:
        self.counted += 1


class _Idle(Controller):
    """A controller whose every step does nothing but set its next wake one second on."""

    def __init__(self, plane: _Plane) -> None:
        super().__init__(plane)
        self.next = 0.0

    def due(self, now: float) -> float:
        return self.next

    def step(self, now: float) -> None:
        self.next = now + 1.0


def skeleton_cpu(steps: int = 200_000, repeats: int = 5) -> tuple[float, float]:
    """CPU µs of one step of a controller that does nothing (the container controllers'
    own loop: due time, wait, step, count), and of one numpy reduction over six integers
    (the size of Hunan's cluster), best of ``repeats``: what any event costs before work."""
    best = math.inf
    for _ in range(repeats):
        env = simpy.Environment()
        plane = _Plane(env, float(steps + 10))
        env.process(_Idle(plane).run())
        cpu = time.process_time()
        env.run(until=steps)
        best = min(best, (time.process_time() - cpu) / plane.counted)
    small = np.arange(6, dtype=np.int64)
    best_np = math.inf
    for _ in range(repeats):
        cpu = time.process_time()
        for _ in range(steps):
            small.sum()
        best_np = min(best_np, (time.process_time() - cpu) / steps)
    return best * 1e6, best_np * 1e6


def time_case(label: str, make: Callable[[], Scenario], repeats: int) -> Case:
    """Best of ``repeats`` runs of the scenario ``make`` returns, then its event floor."""
    best: Case | None = None
    for _ in range(repeats):
        scenario = make()
        started = time.perf_counter()
        sim = Simulation(scenario, SEED)
        built, cpu = time.perf_counter(), time.process_time()
        sim.kernel.run()
        ran, run_cpu = time.perf_counter(), time.process_time() - cpu
        assemble(sim.kernel)
        done = time.perf_counter()
        case = Case(
            label=label,
            events=sim.events_processed,
            build_s=built - started,
            run_s=ran - built,
            results_s=done - ran,
            floor_s=0.0,
            sim_days=sim.horizon / 86400,
            run_cpu_s=run_cpu,
        )
        if best is None or case.run_s < best.run_s:
            best = case
    assert best is not None
    best.floor_s, best.floor_cpu_s = event_floor(best.events, 5)
    return best


@dataclass
class Part:
    """One timed part of a run: calls, CPU seconds, and whether it runs inside another."""

    label: str
    calls: int = 0
    cpu_s: float = 0.0
    nested: bool = False


def _timed(part: Part, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            part.calls += 1
            part.cpu_s += time.process_time() - started

    return timed


def breakdown(make: Callable[[], Scenario]) -> tuple[float, int, list[Part]]:
    """Run CPU seconds, events and the timed parts of one run of ``make``'s scenario: each
    container controller's steps, the cluster-change fan-out (``ContainerCloud.changed``,
    inside the steps) and each module's samples. Methods are wrapped on the instances
    only (a wrapper costs about a microsecond a call, counted in the parts)."""
    sim = Simulation(make(), SEED)
    kernel = sim.kernel
    kernel.start()  # builds the controllers; ``run`` does not start twice
    parts: list[Part] = []
    for module in kernel.modules:
        part = Part(f"samples: {module.name}")
        parts.append(part)
        module.sample = _timed(part, module.sample)  # type: ignore[method-assign]
        cloud = getattr(module, "cloud", None)
        if cloud is None:
            continue
        controllers = [cloud.replicasets, cloud.lifecycle, cloud.endpoints, cloud.hpa]
        controllers += [cloud.autoscaler] + ([cloud.replay] if cloud.replay else [])
        for controller in controllers:
            part = Part(f"steps: {type(controller).__name__}")
            parts.append(part)
            controller.step = _timed(part, controller.step)
        part = Part("  of which cluster changes (services, pokes)", nested=True)
        parts.append(part)
        cloud.changed = _timed(part, cloud.changed)
    cpu = time.process_time()
    kernel.run()
    return time.process_time() - cpu, sim.events_processed, [p for p in parts if p.calls]


def print_breakdown(label: str, run_cpu: float, events: int, parts: list[Part]) -> None:
    print(f"where the CPU goes, {label} ({events:,} events, {run_cpu:.2f} s CPU):")
    print(f"{'part':>46} {'calls':>8} {'cpu s':>7} {'share':>6} {'µs/call':>8}")
    for p in parts:
        print(
            f"{p.label:>46} {p.calls:>8,} {p.cpu_s:>7.2f} {p.cpu_s / run_cpu:>6.1%} "
            f"{p.cpu_s / p.calls * 1e6:>8.1f}"
        )
    rest = run_cpu - sum(p.cpu_s for p in parts if not p.nested)
    label = "the rest (simpy, waits, due times, IaaS)"
    print(f"{label:>46} {'':>8} {rest:>7.2f} {rest / run_cpu:>6.1%}")


def hunan(horizon: str) -> Callable[[], Scenario]:
    return lambda: load_scenario(HUNAN, overrides={"meta.horizon": horizon})


def hunan_dr(horizon: str) -> Callable[[], Scenario]:
    """The Hunan DR design with host, rack, power-domain, link and centre failures."""

    def make() -> Scenario:
        over = {"meta.horizon": horizon}
        with_faults = load_scenario(DRILL, overrides=over)
        assert with_faults.faults is not None
        wider = Faults.model_validate(
            {**with_faults.faults.model_dump(mode="json"), **NETWORK_AND_FACILITY}
        )
        dr = load_scenario(DR, overrides=over).dr
        return with_faults.model_copy(update={"dr": dr, "faults": wider})

    return make


def small_replay(openb: Path, folder: Path) -> Callable[[], Scenario]:
    """``cloudsim replay`` of the first pods of openb on a handful of its GPU nodes."""
    nodes, pods = folder / "nodes.csv", folder / "pods.csv"
    with (openb / "openb_node_list_all_node.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    gpu = rows[0].index("gpu")
    chosen = [r for r in rows[1:] if int(r[gpu]) > 0][:SMALL_NODES]
    with nodes.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([rows[0], *chosen])
    with (openb / "openb_pod_list_default.csv").open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(SMALL_PODS + 1)]
    pods.write_text("".join(lines), encoding="utf-8")
    data = replay_scenario(nodes, pods, keep_running=False, name="small-openb-replay")
    return lambda: scenario_from_dict(data, label="small replay")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="30 days instead of a year")
    parser.add_argument("--repeats", type=int, default=1, help="timings are the best of these")
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--data", type=Path, default=DATA, help="the public traces' folder")
    parser.add_argument(
        "--breakdown", action="store_true", help="time the parts of the Hunan run too"
    )
    parser.add_argument("--only", choices=["hunan"], default=None, help="run the Hunan case alone")
    args = parser.parse_args(argv)
    openb = args.data / "alibaba-openb-2023"
    horizon = "30d" if args.quick else "365d"

    cases = [time_case(f"hunan {horizon}", hunan(horizon), args.repeats)]
    if args.only is None:
        cases.append(time_case(f"hunan-dr {horizon}, faults", hunan_dr(horizon), args.repeats))
    skipped = None
    if args.only is not None:
        skipped = f"hunan-dr and the small replay skipped: --only {args.only}"
    elif openb.is_dir():
        with tempfile.TemporaryDirectory(prefix="cloudsim-bench-") as tmp:
            cases.append(
                time_case(
                    f"replay {SMALL_PODS} pods, {SMALL_NODES} nodes",
                    small_replay(openb, Path(tmp)),
                    max(args.repeats, 3),
                )
            )
    else:
        skipped = f"small replay skipped: no openb trace at {openb}"

    floor_rate = cases[0].events / cases[0].floor_s
    print(f"simpy event floor: {floor_rate:,.0f} bare timeouts/s (best of 5, this process)")
    print(
        f"{'case':>30} {'events':>9} {'run s':>7} {'µs/ev':>7} {'floor s':>8} {'x floor':>8} "
        f"{'s/1k ev':>8} {'results s':>9} {'cpu s':>7} {'x floor cpu':>11}"
    )
    for c in cases:
        print(
            f"{c.label:>30} {c.events:>9,} {c.run_s:>7.2f} {c.us_per_event:>7.1f} "
            f"{c.floor_s:>8.3f} {c.ratio:>7.1f}x {c.s_per_1000:>8.3f} {c.results_s:>9.2f} "
            f"{c.run_cpu_s:>7.2f} {c.cpu_ratio:>10.1f}x"
        )
    if skipped:
        print(skipped)
    floor_us = 1e6 * cases[0].floor_cpu_s / max(cases[0].events, 1)
    idle_us, numpy_us = skeleton_cpu()
    print(
        f"a controller step doing nothing: {idle_us:.2f} µs CPU = {idle_us / floor_us:.1f}x the "
        f"floor; one numpy sum of 6 integers: {numpy_us:.2f} µs; {TARGET_FLOOR_RATIO:g}x the "
        f"floor leaves {TARGET_FLOOR_RATIO * floor_us - idle_us:.2f} µs of work per event"
    )
    checks: dict[str, dict[str, Any]] = {}
    for c in cases[:2]:
        checks[f"{c.label}: x floor"] = {
            "value": c.ratio,
            "target": TARGET_FLOOR_RATIO,
            "pass": c.ratio <= TARGET_FLOOR_RATIO,
        }
    for c in cases[2:]:
        checks[f"{c.label}: s per 1000 events"] = {
            "value": c.s_per_1000,
            "target": TARGET_SMALL_S_PER_1000,
            "pass": c.s_per_1000 < TARGET_SMALL_S_PER_1000,
        }
    for name, check in checks.items():
        verdict = "PASS" if check["pass"] else "FAIL"
        print(f"  {verdict}  {name} {check['value']:.3f} (target {check['target']:g})")
    parts: list[Part] = []
    if args.breakdown:
        run_cpu, events, parts = breakdown(hunan(horizon))
        print_breakdown(f"hunan {horizon}", run_cpu, events, parts)

    if args.json is not None:
        write_json(
            args.json,
            {
                "seed": SEED,
                "horizon": horizon,
                "repeats": args.repeats,
                "floor_timeouts_per_s": floor_rate,
                "idle_controller_step_us_cpu": idle_us,
                "numpy_small_sum_us_cpu": numpy_us,
                "cases": [c.record() for c in cases],
                "skipped": skipped,
                "checks": checks,
                "breakdown": [asdict(p) for p in parts],
                "machine": machine(),
            },
        )
    return 0 if all(c["pass"] for c in checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
