"""The vectorised placer: filters as boolean masks over hosts, weighted scorers, seeded ties.

A decision is a handful of numpy row operations over the host table; a batch of identical
VMs is placed with one full scoring pass followed by one-row rescores of the chosen host,
which gives exactly the hosts that placing them one by one would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from cloudsim.placement.filters import BUILTIN_FILTERS, FILTERS, HostFilter
from cloudsim.placement.request import ANTI_AFFINITY_LEVELS, VM_PURPOSES, Request
from cloudsim.placement.scorers import SCORERS, ScoreContext, Scorer, resolve_weights
from cloudsim.scenario.schema import RESOURCES
from cloudsim.state.hosts import PURPOSES, BoolArray, FloatArray, HostTable, IntArray

__all__ = [
    "ANTI_AFFINITY_LEVELS",
    "FILTER_ORDER",
    "REJECTION_REASONS",
    "TIE_EPSILON",
    "VM_PURPOSES",
    "Explanation",
    "Placer",
    "Request",
]

_DEDICATED = PURPOSES.index("dedicated")
#: Scores closer than this are ties, broken by the seeded placement stream.
TIE_EPSILON = 1e-9

#: Built-in filters in the order they are applied and explained; a scenario's own filters
#: (``placement.filters``, :mod:`cloudsim.placement.filters`) come after them.
FILTER_ORDER = BUILTIN_FILTERS
REJECTION_REASONS: dict[str, str] = {
    "host_up": "no_host_up",
    "cordoned": "hosts_cordoned",
    "zone": "no_host_in_zone",
    "architecture": "no_host_with_architecture",
    "datacenter": "no_host_in_datacenter",
    "pool": "no_pool_for_department",
    "anti_affinity": "anti_affinity",
    **{r: f"no_capacity_{r}" for r in RESOURCES},
}


@dataclass
class Explanation:
    """Why a decision came out as it did."""

    candidates_before: int
    removed_by: dict[str, int]
    candidates: int
    host: int  # -1: rejected
    host_name: str | None
    reason: str | None
    score: float | None
    score_parts: dict[str, dict[str, float]] = field(default_factory=dict)
    tied_hosts: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "candidates_before": self.candidates_before,
            "removed_by": self.removed_by,
            "candidates": self.candidates,
            "host": self.host_name,
            "reason": self.reason,
            "score": self.score,
            "score_parts": self.score_parts,
            "tied_hosts": self.tied_hosts,
        }


class Placer:
    """Places requests on a :class:`HostTable`; the only writer of allocations.

    ``filters`` names registered filters to apply after the built-in ones.
    """

    def __init__(
        self,
        hosts: HostTable,
        rng: np.random.Generator,
        *,
        preset: str = "spread",
        weights: dict[str, float] | None = None,
        resource_weights: dict[str, float] | None = None,
        filters: Sequence[str] = (),
    ) -> None:
        self.hosts = hosts
        self.rng = rng
        chosen = [(name, FILTERS.get(name)) for name in filters]
        #: The scenario's own filters, static ones (to check once per decision) first.
        self._own: list[tuple[str, HostFilter]] = sorted(chosen, key=lambda f: not f[1].static)
        self._dynamic_filters = [f for f in self._own if not f[1].static]
        self._reasons = {**REJECTION_REASONS, **{name: f.reason for name, f in chosen}}
        self.weights = resolve_weights(preset, weights)
        self.scorers: list[tuple[str, Scorer, float]] = [
            (name, SCORERS[name], w) for name, w in self.weights.items()
        ]
        rw = resource_weights if resource_weights is not None else {"cpu": 1.0, "memory": 1.0}
        raw = np.array([float(rw.get(r, 0.0)) for r in RESOURCES])
        if raw.sum() <= 0:
            raise ValueError("placement.resource_weights must give some resource a weight")
        self.resource_weights = raw / raw.sum()
        self.weighted = tuple(int(r) for r in np.flatnonzero(self.resource_weights > 0))
        self._host_count: dict[int, dict[int, int]] = defaultdict(dict)
        self._rack_count: dict[int, dict[int, int]] = defaultdict(dict)
        self._static_cache: dict[tuple[object, ...], tuple[BoolArray, IntArray]] = {}
        self._dedicated_owners: frozenset[int] = frozenset()
        self._cache_version = -1
        self._refresh_limits()

    # -- derived arrays ------------------------------------------------------------------
    def _refresh_limits(self) -> None:
        limit = self.hosts.limit.astype(np.float64)
        with np.errstate(divide="ignore"):
            inv = np.where(limit > 0, 1.0 / np.where(limit > 0, limit, 1.0), 0.0)
        self.inv_limit: FloatArray = np.ascontiguousarray(inv)
        self.weighted_inv: FloatArray = np.ascontiguousarray(
            inv * (100.0 * self.resource_weights)[:, None]
        )
        self._limit_id = id(self.hosts.limit)

    def _static_masks(self, req: Request) -> Iterator[tuple[str, BoolArray]]:
        h = self.hosts
        yield "host_up", h.up
        yield "cordoned", ~h.cordoned
        yield "zone", h.zone == req.zone
        if req.arch >= 0:
            yield "architecture", h.arch == req.arch
        if len(req.datacenters) == 1:
            yield "datacenter", h.datacenter == req.datacenters[0]
        else:
            yield "datacenter", np.isin(h.datacenter, req.datacenters)
        pool_ok = np.isin(h.purpose, req.purposes)
        if _DEDICATED in req.purposes:
            pool_ok &= (h.purpose != _DEDICATED) | (h.dedicated_to == req.department)
        yield "pool", pool_ok

    def _static_entry(self, req: Request) -> tuple[BoolArray, IntArray]:
        if self._cache_version != self.hosts.version or self._limit_id != id(self.hosts.limit):
            self._static_cache.clear()
            self._cache_version = self.hosts.version
            owners = self.hosts.dedicated_to[self.hosts.purpose == _DEDICATED]
            self._dedicated_owners = frozenset(int(d) for d in np.unique(owners))
            if self._limit_id != id(self.hosts.limit):
                self._refresh_limits()
        # The department only matters to dedicated pools: departments that own none share
        # one entry, so the cache grows with the distinct constraints, not the tenants.
        owner = req.department if req.department in self._dedicated_owners else None
        key = (req.zone, req.datacenters, req.arch, owner, req.purposes)
        entry = self._static_cache.get(key)
        if entry is None:
            mask = np.ones(self.hosts.size, dtype=np.bool_)
            for _, part in self._static_masks(req):
                mask &= part
            entry = (mask, np.flatnonzero(mask))
            self._static_cache[key] = entry
        return entry

    def static_mask(self, req: Request) -> BoolArray:
        """Hosts that pass every filter that does not depend on allocations (the built-in
        ones cached; never write to the result)."""
        mask = self._static_entry(req)[0]
        if self._own and len(self._dynamic_filters) < len(self._own):
            every = np.arange(self.hosts.size, dtype=np.int64)
            mask = mask.copy()
            for _, host_filter in self._own:
                if host_filter.static:
                    mask &= host_filter.function(self.hosts, req, every)
        return mask

    def _anti_affinity_block(self, req: Request, mask: BoolArray) -> None:
        if req.system < 0:
            return
        if req.anti_affinity == 1:
            used = self._host_count.get(req.system)
            if used:
                mask[np.fromiter(used, dtype=np.int64, count=len(used))] = False
        elif req.anti_affinity == 2:
            racks = self._rack_count.get(req.system)
            if racks:
                blocked = np.zeros(len(self.hosts.rack_names), dtype=np.bool_)
                blocked[np.fromiter(racks, dtype=np.int64, count=len(racks))] = True
                mask &= ~blocked[self.hosts.rack]

    def _candidates(self, req: Request) -> IntArray:
        """Ascending ids of the hosts that pass every filter. When no filter past the static
        ones removed a host this is the cached static array itself: never write to it."""
        cand = self._static_entry(req)[1]
        for _, host_filter in self._own:
            if host_filter.static and cand.size:
                cand = cand[host_filter.function(self.hosts, req, cand)]
        free = self.hosts.free_f
        fits: BoolArray | None = None
        for r, need in enumerate(req.demand.tolist()):
            if need > 0:
                ok = free[r].take(cand) >= need
                if fits is None:
                    fits = ok
                else:
                    fits &= ok
        if fits is not None:
            cand = cand[fits]
        if req.system < 0 or req.anti_affinity == 0 or not cand.size:
            return self._dynamic(req, cand)
        if req.anti_affinity == 1:
            used = self._host_count.get(req.system)
            if used:
                ids = np.fromiter(used, dtype=np.int64, count=len(used))
                pos = np.searchsorted(cand, ids)
                inside = pos < cand.size
                pos = pos[inside]
                hit = pos[cand[pos] == ids[inside]]
                if hit.size:
                    cand = np.delete(cand, hit)
        elif req.anti_affinity == 2:
            racks = self._rack_count.get(req.system)
            if racks:
                blocked = np.zeros(len(self.hosts.rack_names), dtype=np.bool_)
                blocked[np.fromiter(racks, dtype=np.int64, count=len(racks))] = True
                cand = cand[~blocked[self.hosts.rack[cand]]]
        return self._dynamic(req, cand)

    def _dynamic(self, req: Request, cand: IntArray) -> IntArray:
        """``cand`` without the hosts a dynamic filter of the scenario removes (``cand``
        itself, which may be the cached static array, when there is none)."""
        for _, host_filter in self._dynamic_filters:
            if not cand.size:
                break
            cand = cand[host_filter.function(self.hosts, req, cand)]
        return cand

    def _fits(self, req: Request, host: int) -> bool:
        """The capacity filters of :meth:`_candidates` for one host."""
        free = self.hosts.free_f
        return all(free[r, host] >= need for r, need in enumerate(req.demand.tolist()) if need > 0)

    def _context(self, req: Request) -> ScoreContext:
        return ScoreContext(
            free=self.hosts.free_f,
            inv_limit=self.inv_limit,
            weighted_inv=self.weighted_inv,
            weights=self.resource_weights,
            demand=req.demand.astype(np.float64),
            weighted=self.weighted,
        )

    # -- scoring ------------------------------------------------------------------------
    def _raw_scores(self, ctx: ScoreContext, cols: slice | IntArray) -> list[FloatArray]:
        return [scorer(ctx, cols) for _, scorer, _ in self.scorers]

    def _combine(self, raw: list[FloatArray], mask: BoolArray | None, size: int) -> FloatArray:
        """Weighted sum of the scorers over ``size`` hosts; min-max ones are scaled over
        ``mask`` (None: all of them). No scorer at all: every host scores 0 (all tie)."""
        total: FloatArray | None = None
        for (_, scorer, weight), values in zip(self.scorers, raw, strict=True):
            if scorer.normalize == "minmax":
                values = _minmax(values, mask)
            term = values * weight if weight != 1.0 else values
            # A lone unweighted scorer's values are the total itself (callers only ever
            # write the same value into both).
            total = term if total is None else total + term
        if total is None:
            total = np.zeros(size)
        return total

    def _pick(self, total: FloatArray) -> int:
        """Position of the best score; ties (within TIE_EPSILON) drawn from the placement
        stream, which is used only when there is a tie."""
        if total.size == 1:
            return 0
        first = int(total.argmax())
        near = total >= total[first] - TIE_EPSILON
        count = int(np.count_nonzero(near))
        if count == 1:
            return first
        return int(near.nonzero()[0][self.rng.integers(count)])

    # -- decisions ----------------------------------------------------------------------
    def place(self, req: Request) -> int:
        """Place one VM and commit it; returns the host or -1 (see :meth:`reject_reason`)."""
        cand = self._candidates(req)
        if not cand.size:
            return -1
        total = self._combine(self._raw_scores(self._context(req), cand), None, cand.size)
        host = int(cand[self._pick(total)])
        self.commit(host, req)
        return host

    def place_batch(self, req: Request, count: int) -> list[int]:
        """Place ``count`` identical VMs (same result as ``count`` calls to :meth:`place`)."""
        cand = self._candidates(req)
        if not cand.size:
            return [-1] * count
        ctx = self._context(req)
        raw = self._raw_scores(ctx, cand)
        needs_full = any(s.normalize == "minmax" for _, s, _ in self.scorers)
        total = self._combine(raw, None, cand.size)
        alive = np.ones(cand.size, dtype=np.bool_)
        n_alive = cand.size
        aa = req.anti_affinity if req.system >= 0 else 0
        cand_rack = self.hosts.rack[cand] if aa == 2 else None
        placed: list[int] = []
        for i in range(count):
            if n_alive == 0:
                placed.extend([-1] * (count - i))
                break
            pos = self._pick(total if n_alive == cand.size else np.where(alive, total, -np.inf))
            host = int(cand[pos])
            self.commit(host, req)
            placed.append(host)
            if aa == 1 or not self._fits(req, host):
                alive[pos] = False
            if cand_rack is not None:
                alive &= cand_rack != cand_rack[pos]
            for _, host_filter in self._dynamic_filters:  # may read any host's state
                alive &= host_filter.function(self.hosts, req, cand)
            n_alive = int(np.count_nonzero(alive))
            row = self._raw_scores(ctx, cand[pos : pos + 1])
            for values, new in zip(raw, row, strict=True):
                values[pos] = new[0]
            if needs_full:
                if n_alive:
                    mask = None if n_alive == cand.size else alive
                    total = self._combine(raw, mask, cand.size)
            else:
                total[pos] = self._combine(row, None, 1)[0]
        return placed

    def commit(self, host: int, req: Request) -> None:
        """Allocate ``req`` on ``host`` (no checks: placement, restarts and moves use this)."""
        self.hosts.allocate(host, req.demand)
        if req.system >= 0:
            _bump(self._host_count[req.system], host, 1)
            _bump(self._rack_count[req.system], int(self.hosts.rack[host]), 1)

    def release(self, host: int, demand: IntArray, system: int = -1) -> None:
        """Give back what a VM held on ``host``."""
        self.hosts.release(host, demand)
        if system >= 0:
            _bump(self._host_count[system], host, -1)
            _bump(self._rack_count[system], int(self.hosts.rack[host]), -1)

    # -- explanations -------------------------------------------------------------------
    def _filter_chain(self, req: Request) -> Iterator[tuple[str, BoolArray]]:
        yield from self._static_masks(req)
        aa = np.ones(self.hosts.size, dtype=np.bool_)
        self._anti_affinity_block(req, aa)
        yield "anti_affinity", aa
        for r, name in enumerate(RESOURCES):
            yield name, self.hosts.free[r] >= req.demand[r]
        every = np.arange(self.hosts.size, dtype=np.int64)
        for name, host_filter in self._own:
            yield name, host_filter.function(self.hosts, req, every)

    def reject_reason(self, req: Request) -> str:
        """The first filter, in :data:`FILTER_ORDER` then the scenario's own, after which no
        host is left."""
        explanation = self.explain(req)
        return explanation.reason or "none"

    def explain(self, req: Request) -> Explanation:
        """Hosts removed by each filter and the score parts of the host that would win.

        Changes nothing and draws no random numbers: among tied hosts the first is shown.
        """
        mask = np.ones(self.hosts.size, dtype=np.bool_)
        removed: dict[str, int] = {}
        reason = None
        for name, part in self._filter_chain(req):
            before = int(mask.sum())
            mask &= part
            removed[name] = before - int(mask.sum())
            if reason is None and before > 0 and not mask.any():
                reason = self._reasons[name]
        candidates = int(mask.sum())
        if candidates == 0:
            return Explanation(self.hosts.size, removed, 0, -1, None, reason or "no_host", None)
        ctx = self._context(req)
        raw = self._raw_scores(ctx, slice(None))
        total = self._combine(raw, mask, self.hosts.size)
        masked = np.where(mask, total, -np.inf)
        best = float(masked.max())
        ties = np.flatnonzero(masked >= best - TIE_EPSILON)
        host = int(ties[0])
        parts = {}
        for (name, scorer, weight), values in zip(self.scorers, raw, strict=True):
            norm = _minmax(values, mask) if scorer.normalize == "minmax" else values
            parts[name] = {
                "raw": float(values[host]),
                "normalised": float(norm[host]),
                "weight": weight,
            }
        return Explanation(
            self.hosts.size,
            removed,
            candidates,
            host,
            self.hosts.names[host],
            None,
            best,
            parts,
            len(ties),
        )


def _minmax(values: FloatArray, mask: BoolArray | None) -> FloatArray:
    """Rescale to 0..100 over the hosts in ``mask`` (None: every entry); all equal: 0."""
    chosen = values if mask is None else values[mask]
    if not chosen.size:
        return np.zeros_like(values)
    lo = chosen.min()
    hi = chosen.max()
    if hi - lo <= 0:
        return np.zeros_like(values)
    result: FloatArray = (values - lo) * (100.0 / (hi - lo))
    return result


def _bump(counter: dict[int, int], key: int, delta: int) -> None:
    value = counter.get(key, 0) + delta
    if value:
        counter[key] = value
    else:
        counter.pop(key, None)


def anti_affinity_level(name: str) -> int:
    return ANTI_AFFINITY_LEVELS.index(name)
