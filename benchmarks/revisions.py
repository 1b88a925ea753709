"""This checkout against another revision, side by side in one run: same scenario, seed and
machine, alternating, so the ratio survives a noisy machine.

Run from the repository root::

    python benchmarks/revisions.py [--baseline REV] [--repeats 3] [--json PATH]

The baseline revision is checked out into a temporary git worktree and imported from there
(``PYTHONPATH``), each timing in a fresh child process: a one-day and a one-year run of
``scenarios/hunan-3s4c.yaml`` (seed 7, container cluster included) and a 120-day run of
``scenarios/hunan-3s4c-dr.yaml`` with the rolling failures of
``scenarios/drills/rolling-host-failures.yaml``. Each figure is the best of ``--repeats`` of
what a user waits for: loading and validating the scenario, building, running and the
results (the refactor moved work between validation and the run: the compiled world is
built once and shared, so both are timed). The default baseline is the last commit before
the one-way architecture refactor.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_json  # noqa: E402

#: The last commit before the kernel/modules refactor (golden digests taken there).
DEFAULT_BASELINE = "e79b255"
#: (label, scenario, overrides, extra scenario whose faults section is merged in)
CASES: tuple[tuple[str, str, dict[str, Any], str | None], ...] = (
    ("hunan 1 day", "scenarios/hunan-3s4c.yaml", {"meta.horizon": "1d"}, None),
    ("hunan 1 year", "scenarios/hunan-3s4c.yaml", {}, None),
    (
        "hunan-dr 120 days, rolling failures",
        "scenarios/hunan-3s4c-dr.yaml",
        {"meta.horizon": "120d"},
        "scenarios/drills/rolling-host-failures.yaml",
    ),
)
#: What a child process runs, timed: load and validate, build, run, results. The scenario
#: with another's faults is rebuilt as data and validated whole (what a user's file is).
CHILD = """
import json, sys, time
import cloudsim
from cloudsim import Simulation, load_scenario, scenario_from_dict
root, path, overrides, faults_from, seed = sys.argv[1:6]
if faults_from != "-":
    extra = load_scenario(f"{root}/{faults_from}").model_dump(mode="json")["faults"]
start = time.perf_counter()
scenario = load_scenario(f"{root}/{path}", overrides=json.loads(overrides))
if faults_from != "-":
    scenario = scenario_from_dict({**scenario.model_dump(mode="json"), "faults": extra})
sim = Simulation(scenario, int(seed))
result = sim.run()
wall = time.perf_counter() - start
print(json.dumps({"wall_s": wall, "events": result.summary["events_processed"],
                  "module": cloudsim.__file__}))
"""


def measure(tree: Path, case: tuple[str, str, dict[str, Any], str | None], seed: int) -> Any:
    """One timing of ``case`` with cloudsim imported from ``tree``."""
    _, path, overrides, faults_from = case
    args = [str(ROOT), path, json.dumps(overrides), faults_from or "-", str(seed)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        cwd=tree,  # the child's sys.path starts with its working folder
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(record["module"]).is_relative_to(tree), record["module"]
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare")
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of these")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            for case in CASES:
                best: dict[str, Any] = {}
                sides = [("baseline", base), ("current", ROOT)]
                for repeat in range(args.repeats):  # alternate who goes first
                    for side, tree in sides if repeat % 2 == 0 else sides[::-1]:
                        got = measure(tree, case, args.seed)
                        if side not in best or got["wall_s"] < best[side]["wall_s"]:
                            best[side] = got
                ratio = best["current"]["wall_s"] / best["baseline"]["wall_s"]
                rows.append(
                    {
                        "case": case[0],
                        "baseline_s": best["baseline"]["wall_s"],
                        "current_s": best["current"]["wall_s"],
                        "ratio": ratio,
                        "baseline_events": best["baseline"]["events"],
                        "current_events": best["current"]["events"],
                    }
                )
                print(
                    f"{case[0]:>38}: baseline {best['baseline']['wall_s']:7.3f} s, current "
                    f"{best['current']['wall_s']:7.3f} s, ratio {ratio:5.2f}x "
                    f"(events {best['baseline']['events']:,} / {best['current']['events']:,})"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    if args.json is not None:
        record = {
            "baseline": args.baseline,
            "seed": args.seed,
            "repeats": args.repeats,
            "cases": rows,
            "machine": machine(),
        }
        write_json(args.json, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
