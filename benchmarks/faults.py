"""Fault injection and DR cost: a year of the Hunan scenario with and without failures.

Run from the repository root::

    python benchmarks/faults.py [--json PATH] [--repeats 3] [--stress 10]

Times one simulated year of ``scenarios/hunan-3s4c.yaml`` (seed 7) as is, then the same
year with the failures of ``scenarios/drills/rolling-host-failures.yaml`` (host, rack and
power-domain failures at the published rates of DOMAIN.md, local HA restarts), then the
same failures plus inter-centre link and whole-centre failures (below) with the DR design
of ``scenarios/hunan-3s4c-dr.yaml`` on (replication tick, heartbeat monitors, witness-quorum
failover, failback, ledger with RTO/RPO and GB/T 20988 levels), then, as a stress case,
with every failure rate multiplied by ``--stress`` (DR on). Each timing is the best of
``--repeats`` runs of scenario build + run + results (what ``simulate`` does); events are
the simulation's processed events (arrivals, departures, samples, fault actions,
replication ticks, detections and decisions).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_json  # noqa: E402
from cloudsim import Scenario, Simulation, load_scenario  # noqa: E402
from cloudsim.scenario.faults import COMPONENT_CLASSES, Faults  # noqa: E402

SEED = 7
TARGET_YEAR_S = 60.0
BASE = ROOT / "scenarios" / "hunan-3s4c.yaml"
DRILL = ROOT / "scenarios" / "drills" / "rolling-host-failures.yaml"
DR = ROOT / "scenarios" / "hunan-3s4c-dr.yaml"
#: Failures that reach DR, at DOMAIN.md's published rates for one cluster-year: 3 router
#: failures (here: each of the 6 inter-centre links fails about once a year, back in about an
#: hour) and ~0.5 room-wide overheating events (here: each centre about every 2 years, most
#: machines back within hours).
NETWORK_AND_FACILITY: dict[str, Any] = {
    "link": {
        "time_to_failure": {"distribution": "exponential", "mean": "365d"},
        "repair": {"distribution": "lognormal", "median": "1h", "sigma": 1.0},
    },
    "datacenter": {
        "time_to_failure": {"distribution": "exponential", "mean": "730d"},
        "repair": {"distribution": "lognormal", "median": "4h", "sigma": 0.5},
    },
}


@dataclass
class Timing:
    label: str
    wall_s: float
    events: int
    outages: int
    vms_stopped: int
    vms_restarted: int
    vms_lost: int
    availability_mean: float
    failovers: int = 0
    decisions: int = 0


def time_year(label: str, scenario: Scenario, repeats: int) -> Timing:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        sim = Simulation(scenario, SEED)
        result = sim.run()
        best = min(best, time.perf_counter() - start)
    faults = result.summary["faults"]
    dr = result.summary.get("dr", {})
    return Timing(
        label=label,
        wall_s=best,
        events=sim.events_processed,
        outages=faults["outages"],
        vms_stopped=faults["vms_stopped"],
        vms_restarted=faults["vms_restarted"],
        vms_lost=faults["vms_lost"],
        availability_mean=result.summary["availability"]["mean"],
        failovers=dr.get("failovers", 0),
        decisions=dr.get("decisions", 0),
    )


def stressed(scenario: Scenario, factor: float) -> Scenario:
    """The same scenario with every mean time to failure divided by ``factor``."""
    faults = scenario.faults
    assert faults is not None
    update: dict[str, Any] = {}
    for kind in COMPONENT_CLASSES:
        spec = getattr(faults, kind)
        if spec is None:
            continue
        ttf = spec.time_to_failure
        field = "mean" if ttf.distribution == "exponential" else "scale"
        faster = ttf.model_copy(update={field: getattr(ttf, field) / factor})
        update[kind] = spec.model_copy(update={"time_to_failure": faster})
    return scenario.model_copy(update={"faults": faults.model_copy(update=update)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of these")
    parser.add_argument("--stress", type=float, default=10.0, help="rate multiplier, 0 to skip")
    args = parser.parse_args(argv)

    with_faults = load_scenario(DRILL)
    without = load_scenario(BASE)
    assert with_faults.faults is not None
    wider = Faults.model_validate(
        {**with_faults.faults.model_dump(mode="json"), **NETWORK_AND_FACILITY}
    )
    with_dr = with_faults.model_copy(update={"dr": load_scenario(DR).dr, "faults": wider})
    runs = [
        time_year("no faults", without, args.repeats),
        time_year("published rates", with_faults, args.repeats),
        time_year("+ links, centres, DR", with_dr, args.repeats),
    ]
    if args.stress > 0:
        runs.append(
            time_year(f"{args.stress:g}x all + DR", stressed(with_dr, args.stress), args.repeats)
        )
    base = runs[0]

    print(
        f"hunan-3s4c, one year, seed {SEED}, {with_faults.host_count} hosts, "
        f"best of {args.repeats} runs"
    )
    print(
        f"{'faults':>20} {'wall s':>7} {'events':>8} {'x wall':>7} {'x events':>9} "
        f"{'outages':>8} {'VMs stopped':>12} {'restarted':>10} {'lost':>5} {'mean avail':>11} "
        f"{'failovers':>10} {'decisions':>10}"
    )
    for r in runs:
        print(
            f"{r.label:>20} {r.wall_s:>7.2f} {r.events:>8,} {r.wall_s / base.wall_s:>6.2f}x "
            f"{r.events / base.events:>8.2f}x {r.outages:>8,} {r.vms_stopped:>12,} "
            f"{r.vms_restarted:>10,} {r.vms_lost:>5,} {r.availability_mean:>11.6f} "
            f"{r.failovers:>10,} {r.decisions:>10,}"
        )
    published, dr_on = runs[1], runs[2]
    ok = published.wall_s < TARGET_YEAR_S and dr_on.wall_s < TARGET_YEAR_S
    for label, timing in (("with faults", published), ("with faults and DR", dr_on)):
        verdict = "PASS" if timing.wall_s < TARGET_YEAR_S else "FAIL"
        print(
            f"  {verdict}  Hunan year {label} < {TARGET_YEAR_S:.0f} s "
            f"(measured {timing.wall_s:.2f})"
        )

    if args.json is not None:
        record = {
            "seed": SEED,
            "scenario": str(BASE.relative_to(ROOT)),
            "faults_scenario": str(DRILL.relative_to(ROOT)),
            "repeats": args.repeats,
            "runs": [
                {
                    **r.__dict__,
                    "wall_ratio_to_no_faults": r.wall_s / base.wall_s,
                    "events_ratio_to_no_faults": r.events / base.events,
                }
                for r in runs
            ],
            "dr_scenario": str(DR.relative_to(ROOT)),
            "checks": {
                "year_with_faults_s": {
                    "value": published.wall_s,
                    "target": TARGET_YEAR_S,
                    "pass": published.wall_s < TARGET_YEAR_S,
                },
                "year_with_faults_and_dr_s": {
                    "value": dr_on.wall_s,
                    "target": TARGET_YEAR_S,
                    "pass": dr_on.wall_s < TARGET_YEAR_S,
                },
            },
            "machine": machine(),
        }
        write_json(args.json, record)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
