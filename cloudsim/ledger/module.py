"""The ledger as a module: ``incidents`` and ``availability`` tables, ``availability`` summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from cloudsim.kernel import Context, Module, Results
from cloudsim.ledger.incidents import Ledger, build_ledger


class LedgerModule(Module):
    """Reads the records every module left, once every module has finished; always on (no
    failure: every system is up)."""

    name = "ledger"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.ledger: Ledger | None = None

    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        self.ledger = build_ledger(self.ctx.recorder, self.ctx.world, self.ctx.hosts.datacenter)
        return {"incidents": self.ledger.incidents, "availability": self.ledger.availability}

    def summary(self, results: Results) -> Mapping[str, Any]:
        assert self.ledger is not None, "tables() builds the ledger"
        return self.ledger.summary

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        avail, dr = summary.get("availability"), summary.get("dr")
        if not isinstance(avail, dict) or not (avail.get("incidents") or isinstance(dr, dict)):
            return []
        worst = ", ".join(f"{k} {v:.4%}" for k, v in list(avail["worst"].items())[:3]) or "none"
        return [
            f"availability: mean {avail['mean']:.5%}, min {avail['min']:.5%} "
            f"({avail['systems_ever_down']:,} systems ever down, "
            f"{avail['downtime_hours']:,.2f} h in all); worst: {worst}"
        ]
