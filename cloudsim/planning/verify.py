"""Verification of a plan by full simulations of the planned scenario (seeded).

- **growth**: the planned scenario over the plan's years without failures: no declared cloud
  host unplaced, no warm standby missing, and the tenants' cloud hosts refused for capacity
  (quota refusals apart) at most ``max_reject`` of those requested;
- **one run per failure set**: the same, with the set's centres failing together at the
  peak day for ``failure_duration``: every system whose design can survive the loss (those
  down by design are listed, not counted) must have had its recovery started, with no
  recovery VM refused for room (a recovery still running when home comes back — a restore
  slower than the failure — is reported, not held against the capacity).

Runs are independent: they run in worker processes (``workers``) and their verdicts come
back in the order of the checks.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cloudsim.engine import simulate
from cloudsim.records import EventKind
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY

#: Time of day a verification failure starts (10:00, in office hours).
FAILURE_HOUR = 10 * 3600.0


@dataclass(frozen=True)
class RunSpec:
    """One verification run: what to simulate and what to check."""

    name: str
    scenario: Scenario
    seed: int
    max_reject: float
    failed_at: float | None
    centres: tuple[str, ...]
    #: Systems down by design in this failure (not held against the plan).
    excused: frozenset[str]


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    detail: str
    wall_s: float


def run_one(spec: RunSpec) -> Verdict:
    """Simulate one verification run and judge it."""
    started = time.perf_counter()
    result = simulate(spec.scenario, seed=spec.seed)
    summary = result.summary
    problems: list[str] = []
    if summary["vms_initial_unplaced"]:
        reasons = summary["initial_unplaced_by_reason"]
        problems.append(
            f"{summary['vms_initial_unplaced']} declared cloud hosts unplaced {reasons}"
        )
    events = result.tables["events"]
    kinds = np.asarray(events.column("kind").to_pylist(), dtype=object)
    systems = np.asarray(events.column("system").to_pylist(), dtype=object)
    times = events.column("time").to_numpy()
    counts = events.column("count").to_numpy()
    if spec.failed_at is None:
        refused = sum(
            n
            for reason, n in summary["rejections_by_reason"].items()
            if not reason.startswith("quota_")
        )
        requested = summary["vms_requested"]
        ratio = refused / requested if requested else 0.0
        if ratio > spec.max_reject + 1e-12:
            problems.append(
                f"{refused} of {requested} requested cloud hosts refused for capacity "
                f"({ratio:.2%} > {spec.max_reject:.2%})"
            )
        warm = (kinds == EventKind.DR_CREATE_FAILED.value) & (times == 0.0)
        if warm.any():
            problems.append(f"{int(counts[warm].sum())} warm standby VMs found no room")
        detail = f"capacity refusals {refused}/{requested}"
    else:
        failed = (kinds == EventKind.DR_CREATE_FAILED.value) & (times >= spec.failed_at)
        short = sorted({str(s) for s in systems[failed]} - spec.excused)
        if short:
            problems.append(f"recovery VMs refused for room: {', '.join(short[:8])}")
        incidents = result.tables.get("incidents")
        idle: set[str] = set()  # no recovery started: the design did not act
        slow: set[str] = set()  # a recovery was still running when home came back
        if incidents is not None and incidents.num_rows:
            rows = incidents.to_pydict()
            seen: dict[str, list[tuple[str, str, float, float]]] = {}
            for system, by, at, action, back, repaired in zip(
                rows["system"], rows["restored_by"], rows["failed_at"], rows["dr_action"],
                rows["service_restored_at"], rows["repaired_at"], strict=True,
            ):  # fmt: skip
                if at >= spec.failed_at - 1e-6 and system not in spec.excused:
                    seen.setdefault(str(system), []).append((by, action, back, repaired))
            for system, incidents_of in seen.items():
                # a set of centres fails as one fault per centre: one incident of the system
                # may be restored by DR while another of the same loss says "repair"
                if any(by != "repair" for by, *_ in incidents_of):
                    continue
                if any(
                    back == back and repaired == repaired and back < repaired - 1e-6
                    for _, _, back, repaired in incidents_of
                ):  # served again before the repair (NaN compares false)
                    continue
                (slow if any(action for _, action, *_ in incidents_of) else idle).add(system)
        if idle:
            problems.append(
                f"{len(idle)} systems had no recovery started before the repair: "
                f"{', '.join(sorted(idle)[:8])}"
            )
        down = len(spec.excused)
        detail = f"{', '.join(spec.centres)} lost at day {spec.failed_at / DAY:.0f}"
        if down:
            detail += f"; {down} systems down by design"
        if slow:
            detail += (
                f"; {len(slow)} recoveries still running when home came back (slower than "
                f"the failure, not short of room): {', '.join(sorted(slow)[:8])}"
            )
    passed = not problems
    if problems:
        detail += "; " + "; ".join(problems)
    return Verdict(spec.name, passed, detail, time.perf_counter() - started)


def verify(
    specs: list[RunSpec], workers: int = 1, progress: Callable[[Verdict], None] | None = None
) -> list[Verdict]:
    """Every run's verdict, in the order of ``specs``."""
    if workers <= 1 or len(specs) <= 1:
        verdicts = []
        for spec in specs:
            verdict = run_one(spec)
            if progress:
                progress(verdict)
            verdicts.append(verdict)
        return verdicts
    pool = cf.ProcessPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(run_one, spec) for spec in specs]
        out: list[Verdict] = []
        for future in futures:
            verdict = future.result()
            if progress:
                progress(verdict)
            out.append(verdict)
    except BaseException:  # Ctrl-C, SIGTERM, a failed run: stop the others now
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown()
    return out
