"""The golden runs: a few scenarios whose results are pinned, so a refactor proves "same results".

Each case is a scenario, its overrides and a seed. :func:`digest` reduces a run to its
``summary.json`` (kept whole, so a difference reads as a diff) and one SHA-256 per table over
the table's schema and every value (exact: floats by their shortest round-trip repr).
Regenerate after a change that is *meant* to alter results, and say why in the commit::

    .venv/bin/python -m tests.golden.cases --update [case ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from cloudsim import RunResult, load_scenario, simulate

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
SHARED_DATA = REPO.parent / "shared" / "data"
OPENB = SHARED_DATA / "alibaba-openb-2023"

#: Failures that reach DR (link and whole-centre failures at DOMAIN.md's published rates,
#: as in benchmarks/faults.py) on top of the rolling host/rack/power-domain drill.
_DR_FAULTS: dict[str, Any] = {
    "faults.link.time_to_failure.distribution": "exponential",
    "faults.link.time_to_failure.mean": "60d",
    "faults.link.repair.distribution": "lognormal",
    "faults.link.repair.median": "1h",
    "faults.link.repair.sigma": 1.0,
    "faults.datacenter.time_to_failure.distribution": "exponential",
    "faults.datacenter.time_to_failure.mean": "90d",
    "faults.datacenter.repair.distribution": "lognormal",
    "faults.datacenter.repair.median": "4h",
    "faults.datacenter.repair.sigma": 0.5,
}


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str  # relative to the repository
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)
    needs: Path | None = None  # a data folder outside the repository

    def run(self) -> RunResult:
        scenario = load_scenario(REPO / self.scenario, overrides=self.overrides)
        return simulate(scenario, seed=self.seed)


CASES: tuple[Case, ...] = (
    Case("hunan-60d", "scenarios/hunan-3s4c.yaml", 7, {"meta.horizon": "60d"}),
    Case(
        "hunan-dr-faults",
        "scenarios/drills/rolling-host-failures.yaml",
        11,
        {"meta.horizon": "120d", **_DR_FAULTS},
    ),
    Case("drill-centre-loss", "scenarios/drills/centre-loss-cs-idc.yaml", 7),
    Case("drill-site-loss", "scenarios/drills/site-loss-changsha.yaml", 7),
    Case("drill-link-cut-no-witness", "scenarios/drills/link-cut-cs-no-witness.yaml", 7),
    Case("guangdong-90d", "scenarios/guangdong-1nm.yaml", 3, {"meta.horizon": "90d"}),
    Case(
        "openb-replay",
        "scenarios/alibaba-openb-replay.yaml",
        1,
        {"meta.sample_interval": "6h"},
        needs=OPENB,
    ),
)


def table_digest(table: pa.Table) -> dict[str, Any]:
    """Rows, columns and a SHA-256 over the schema and every value of ``table``."""
    h = hashlib.sha256()
    h.update(str(table.schema.remove_metadata()).encode())
    for name in table.column_names:
        values = table.column(name).to_pylist()
        h.update(name.encode())
        h.update(json.dumps(values, default=repr, ensure_ascii=False).encode())
    return {"rows": table.num_rows, "columns": table.column_names, "sha256": h.hexdigest()}


def digest(result: RunResult) -> dict[str, Any]:
    """What the golden file pins of one run."""
    return {
        "summary": json.loads(json.dumps(result.summary, sort_keys=True)),
        "tables": {name: table_digest(t) for name, t in sorted(result.tables.items())},
    }


def path_of(case: Case) -> Path:
    return GOLDEN / f"{case.name}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    args = parser.parse_args(argv)
    chosen = [c for c in CASES if not args.cases or c.name in args.cases]
    status = 0
    for case in chosen:
        if case.needs is not None and not case.needs.is_dir():
            print(f"{case.name}: skipped ({case.needs} is absent)")
            continue
        got = digest(case.run())
        path = path_of(case)
        if args.update:
            path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
            print(f"{case.name}: written")
            continue
        want = json.loads(path.read_text())
        same = got == want
        status |= not same
        print(f"{case.name}: {'same' if same else 'DIFFERENT'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
