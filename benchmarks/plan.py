"""`cloudsim plan` on the Hunan DR scenario: survive any centre over three years of growth.

Prints the wall time of the search (packing with the vectorised placer), of the runway and
of the verification (one growth run and one run per failure set, in worker processes)
separately, and beside them, measured in the same process, one full run of the centre-loss
drill: what a planner spends on each trial when answering the question by hand. The ratios
(search / one trial; plan in all / one trial) are the figures; absolute times are notes.

    .venv/bin/python benchmarks/plan.py [--years 3] [--workers 2] [--json runs/bench/plan.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, write_json

import cloudsim
from cloudsim.planning.command import make_plan

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "hunan-3s4c-dr.yaml"
DRILL = ROOT / "scenarios" / "drills" / "centre-loss-cs-idc.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--survive", default="datacenter")
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    started = time.perf_counter()
    drill = cloudsim.simulate(cloudsim.load_scenario(DRILL))
    trial_s = time.perf_counter() - started
    print(f"one trial by hand (centre-loss drill, 3 simulated days): {trial_s:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = make_plan(
            SCENARIO,
            [f"plan.survive={args.survive}", f"plan.years={args.years:g}"],
            Path(tmp) / "plan",
            run_verification=not args.no_verify,
            workers=args.workers,
        )
        total_s = time.perf_counter() - started
    doc = done.document
    timing = doc["timing"]
    changed = [p for p in doc["pools"] if p["change"]]
    print(
        f"plan: {len(changed)} pools changed, platform {doc['platform']['hosts_now']} -> "
        f"{doc['platform']['hosts_needed']} hosts; verified: {done.verified}"
    )
    for pool in changed:
        binding = pool["binding"] or {}
        print(
            f"  {pool['pool']}: {pool['hosts_now']} -> {pool['hosts_needed']} "
            f"({binding.get('check')}, {binding.get('resource')})"
        )
    print(
        f"search {timing['search_s']:.1f} s, runway {timing['runway_s']:.1f} s, "
        f"verification {timing['verification_s']:.1f} s ({args.workers} workers), "
        f"in all {total_s:.1f} s"
    )
    for verdict in doc["verification"]:
        state = "passed" if verdict["passed"] else "FAILED"
        print(f"  {verdict['run']}: {state} {verdict['wall_s']:.1f} s")
    print(
        f"ratios: search / one trial {timing['search_s'] / trial_s:.2f}; "
        f"whole plan (search + runway + verification) / one trial {total_s / trial_s:.2f}"
    )
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "plan",
                "machine": machine(),
                "scenario": SCENARIO.name,
                "years": args.years,
                "survive": args.survive,
                "workers": args.workers,
                "trial_s": trial_s,
                "timing": timing,
                "total_s": total_s,
                "verified": done.verified,
                "pools_changed": {p["pool"]: [p["hosts_now"], p["hosts_needed"]] for p in changed},
                "drill_events": drill.summary["events_processed"],
            },
        )


if __name__ == "__main__":
    main()
