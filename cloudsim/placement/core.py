"""The vectorised placer: filters as boolean masks over hosts, weighted scorers, seeded ties.

A decision is a handful of numpy row operations over the host table; a batch of identical
VMs is placed with one full scoring pass followed by one-row rescores of the chosen host,
which gives exactly the hosts that placing them one by one would.

The hosts that pass the static filters for a constraint (a *group*) come from an index of
the hosts sorted by static class (zone, centre, architecture, pool purpose, dedicated
owner), built when the placer is made and again when a host's static attributes change: a
group is the slices of the classes it accepts, so no filter mask is computed per group.
Whether a host is up and not cordoned is no part of its class: each group keeps the
positions of its hosts that are not, brought up to date from the hosts that changed when
hosts go down, up or are cordoned (no new index), and masks them when deciding.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import chosen
from cloudsim.placement import kernels
from cloudsim.placement.filters import BUILTIN_FILTERS, FILTERS, HostFilter
from cloudsim.placement.request import ANTI_AFFINITY_LEVELS, VM_PURPOSES, Request
from cloudsim.placement.scorers import (
    SCORERS,
    ScoreContext,
    Scorer,
    is_column_local,
    resolve_weights,
)
from cloudsim.scenario.schema import RESOURCES
from cloudsim.state.hosts import ARCHES, PURPOSES, BoolArray, FloatArray, HostTable, IntArray

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
#: On the numpy path a group of at most this many hosts reads the whole table's columns
#: through its host ids (gathering a few thousand values costs less than keeping copies in
#: step); a larger one keeps copies of its columns.
SMALL_GROUP = 8192
#: Changes of which hosts are up and not cordoned a placer keeps for its groups to catch up
#: from (a group further behind looks its hosts up again).
AVAILABILITY_LOG_LIMIT = 1024

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
        kernel: str = "auto",
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
        self._static_cache: dict[tuple[object, ...], _Group] = {}
        self._classes: _HostClasses | None = None
        self._cache_version = -1
        #: how many times the class index was built (hosts going down, up or cordoned do
        #: not build it again; pools carved and new limits do)
        self.index_builds = 0
        #: hosts up and not cordoned, by id, as of :attr:`_avail_epoch` (bumped when one
        #: of them changes); entry ``i`` of the log: the hosts whose status changed from
        #: epoch ``_avail_log_base + i`` to the next
        self._avail: BoolArray = np.zeros(0, dtype=np.bool_)
        self._avail_epoch = 0
        self._avail_log: list[IntArray] = []
        self._avail_log_base = 0
        #: the hosts down or cordoned, ascending
        self._down_ids: IntArray = np.zeros(0, dtype=np.int64)
        self._avail_scratch: BoolArray = np.zeros(0, dtype=np.bool_)
        self._purpose_seen: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._static_ids: tuple[int, ...] = ()
        self._refresh_limits()
        self._weighted_ids = np.array(self.weighted, dtype=np.int64)
        self._small_group = SMALL_GROUP
        self._kernels = self._choose_kernels(kernel)
        self._index_hosts()

    def _choose_kernels(self, kernel: str) -> dict[str, Any] | None:
        """The compiled kernels when ``kernel`` asks for them ("numba"; "auto": when numba
        is installed) and this placer's case is theirs: a lone least- or most-allocated
        scorer and no filter of the scenario's own. Otherwise the numpy path (None)."""
        if not chosen(kernel, what="placement kernel"):
            return None
        names = [name for name, _, _ in self.scorers]
        fits = (
            not self._own
            and len(names) == 1
            and names[0] in ("least_allocated", "most_allocated")
            and is_column_local(self.scorers[0][1])
        )
        if not fits:
            if kernel == "numba":
                raise ValueError(
                    "placement kernel 'numba' runs a lone least_allocated or most_allocated "
                    "scorer without the scenario's own filters; use 'numpy' or 'auto'"
                )
            return None
        self._most = names[0] == "most_allocated"
        self._weight = float(self.scorers[0][2])
        compiled = kernels.kernels()
        self._scan, self._best = compiled["scan"], compiled["best"]
        self._nth_tie, self._score_one = compiled["nth_tie"], compiled["score_one"]
        self._sync = compiled["sync"]
        return compiled

    @property
    def kernel(self) -> str:
        """Which path decides: "numba" (compiled scans) or "numpy"."""
        return "numpy" if self._kernels is None else "numba"

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

    def _static_key(self) -> tuple[int, ...]:
        """The identity of the static columns (a run changes only ``purpose`` in place:
        :data:`~cloudsim.state.hosts.MUTABLE_COLUMNS`)."""
        h = self.hosts
        return tuple(id(a) for a in (h.zone, h.datacenter, h.arch, h.purpose, h.dedicated_to))

    def _index_hosts(self) -> None:
        """Sort the hosts by static class again (at construction and whenever a host's
        static attributes or the limits change), dropping the groups."""
        hosts = self.hosts
        self._static_cache.clear()
        self._cache_version = hosts.version
        if self._limit_id != id(hosts.limit):
            self._refresh_limits()
        self._purpose_seen = hosts.purpose.copy()
        self._static_ids = self._static_key()
        self._avail_scratch = np.empty(hosts.size, dtype=np.bool_)
        self._avail = np.logical_not(hosts.cordoned)
        self._avail &= hosts.up
        self._avail_epoch += 1
        self._avail_log.clear()
        self._avail_log_base = self._avail_epoch
        self._down_ids = np.flatnonzero(~self._avail)
        self._classes = _HostClasses(
            hosts,
            None if self._kernels is None else (self.weighted_inv, self.weighted, self._sync),
            self._classes,
        )
        self.index_builds += 1

    def _host_changes(self) -> None:
        """Catch up with a change of the host table's version: a new index when a host's
        static attributes or the limits changed, else only the hosts that went down, up,
        or were cordoned or released, logged for the groups (a few vectorised passes over
        the hosts, no sort)."""
        hosts = self.hosts
        if (
            self._limit_id != id(hosts.limit)
            or self._static_key() != self._static_ids
            or not np.array_equal(hosts.purpose, self._purpose_seen)
        ):
            self._index_hosts()
            return
        self._cache_version = hosts.version
        now = np.logical_not(hosts.cordoned, out=self._avail_scratch)
        now &= hosts.up
        changed = np.flatnonzero(now != self._avail)
        if not changed.size:
            return
        self._avail_scratch, self._avail = self._avail, now
        self._avail_epoch += 1
        log = self._avail_log
        if len(log) >= AVAILABILITY_LOG_LIMIT:
            self._avail_log_base += len(log)
            log.clear()
        log.append(changed)
        self._down_ids = _set_members(self._down_ids, changed, ~now.take(changed))

    def _group(self, req: Request) -> _Group:
        """The hosts passing the built-in static filters for ``req`` whether up or not
        (cached per distinct constraint; dropped when a host's static attributes or the
        limits change)."""
        if self._cache_version != self.hosts.version or self._limit_id != id(self.hosts.limit):
            self._host_changes()
        # The department only matters to dedicated pools: departments that own none share
        # one entry, so the cache grows with the distinct constraints, not the tenants.
        classes = self._classes
        assert classes is not None
        owner = req.department if req.department in classes.dedicated_owners else None
        key = (req.zone, req.datacenters, req.arch, owner, req.purposes)
        group = self._static_cache.get(key)
        if group is None:
            cand, runs = classes.hosts_of(req.zone, req.datacenters, req.arch, req.purposes, owner)
            spans = None if self._kernels is None else classes.spans(cand, runs)
            group = _Group(self, cand, spans)
            self._static_cache[key] = group
        return group

    def static_mask(self, req: Request) -> BoolArray:
        """Hosts that pass every filter that does not depend on allocations (the built-in
        ones cached; never write to the result)."""
        mask = self._group(req).available_mask()
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

    def _feasible(self, req: Request, group: _Group) -> BoolArray | None:
        """Over the group's hosts, those that pass every filter (in :data:`FILTER_ORDER`,
        then the scenario's own); None when none does. May be one of the group's shared
        (read-only) masks: never write to it."""
        free = None if group.small else group.synced_free()
        up = group.available()  # None: every host of the group is up and not cordoned
        fits: BoolArray | None = None
        static_own = [f for _, f in self._own if f.static]
        if static_own:  # called with the hosts still in the running, as they come
            fits = np.ones(group.size, dtype=np.bool_) if up is None else up.copy()
            for host_filter in static_own:
                inside = np.flatnonzero(fits)
                if not inside.size:
                    return None
                fits[inside] = host_filter.function(self.hosts, req, group.cand[inside])
        for r, need in enumerate(req.demand.tolist()):
            if need > 0:
                row = self.hosts.free_f[r].take(group.cand) if free is None else free[r]
                ok = row >= need
                if fits is None:
                    fits = ok
                    if up is not None:
                        fits &= up
                else:
                    fits &= ok
        if fits is None:
            fits = group.everyone if up is None else up
        allowed = self._affinity_allowed(req, group)
        if allowed is not None:
            fits = fits & allowed
        if self._dynamic_filters:
            fits = fits if fits.flags.writeable else fits.copy()
            for _, host_filter in self._dynamic_filters:
                inside = np.flatnonzero(fits)
                if not inside.size:
                    return None
                fits[inside] = host_filter.function(self.hosts, req, group.cand[inside])
        if not fits.any():
            return None
        return fits

    def _affinity_allowed(self, req: Request, group: _Group) -> BoolArray | None:
        """Over the group's hosts, those the system's anti-affinity leaves (None: all)."""
        if req.system < 0 or not req.anti_affinity:
            return None
        if req.anti_affinity == 1:
            used = self._host_count.get(req.system)
            if not used:
                return None
            allowed = np.ones(group.size, dtype=np.bool_)
            allowed[group.positions(np.fromiter(used, dtype=np.int64, count=len(used)))] = False
            return allowed
        racks = self._rack_count.get(req.system)
        if not racks:
            return None
        blocked = np.zeros(len(self.hosts.rack_names), dtype=np.bool_)
        blocked[np.fromiter(racks, dtype=np.int64, count=len(racks))] = True
        result: BoolArray = ~blocked[group.racks()]
        return result

    def _fits(self, req: Request, host: int) -> bool:
        """The capacity filters of :meth:`_feasible` for one host."""
        free = self.hosts.free_f
        return all(free[r, host] >= need for r, need in enumerate(req.demand.tolist()) if need > 0)

    def _context(self, demand: FloatArray) -> ScoreContext:
        return ScoreContext(
            free=self.hosts.free_f,
            inv_limit=self.inv_limit,
            weighted_inv=self.weighted_inv,
            weights=self.resource_weights,
            demand=demand,
            weighted=self.weighted,
        )

    # -- scoring ------------------------------------------------------------------------
    def _raw_scores(self, ctx: ScoreContext, cols: slice | IntArray) -> list[FloatArray]:
        return [scorer(ctx, cols) for _, scorer, _ in self.scorers]

    def _group_scores(
        self, group: _Group, demand: FloatArray, positions: slice | IntArray
    ) -> list[FloatArray]:
        """Every scorer over the group's hosts at ``positions``: the built-in ones on the
        group's own columns (a large group's), others on the whole table's (they may index
        it by host)."""
        local = None if group.small else group.context(demand)
        whole: ScoreContext | None = None
        out = []
        for _, scorer, _ in self.scorers:
            if local is not None and is_column_local(scorer):
                out.append(scorer(local, positions))
            else:
                if whole is None:
                    whole = self._context(demand)
                out.append(scorer(whole, group.cand[positions]))
        return out

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
        stream, which is used only when there is a tie. Hosts out of the running score
        -inf (and at least one host is in it)."""
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
        if self._kernels is not None:
            return self._compiled_batch(req, 1)[0]
        group = self._group(req)
        fits = self._feasible(req, group)
        if fits is None:
            return -1
        # scored over the candidates only, as a list of them (cheaper than masking)
        inside = slice(None) if fits is group.everyone else np.flatnonzero(fits)
        raw = self._group_scores(group, req.demand.astype(np.float64), inside)
        total = self._combine(raw, None, group.size if isinstance(inside, slice) else inside.size)
        pick = self._pick(total)
        host = int(group.cand[pick if isinstance(inside, slice) else inside[pick]])
        self.commit(host, req)
        return host

    def place_batch(self, req: Request, count: int) -> list[int]:
        """Place ``count`` identical VMs (same result as ``count`` calls to :meth:`place`)."""
        if self._kernels is not None:
            return self._compiled_batch(req, count)
        group = self._group(req)
        fits = self._feasible(req, group)
        if fits is None:
            return [-1] * count
        demand = req.demand.astype(np.float64)
        raw = self._group_scores(group, demand, slice(None))
        needs_full = any(s.normalize == "minmax" for _, s, _ in self.scorers)
        alive = fits.copy()
        n_alive = int(np.count_nonzero(alive))
        total = self._combine(raw, None if n_alive == group.size else alive, group.size)
        aa = req.anti_affinity if req.system >= 0 else 0
        cand_rack = group.racks() if aa == 2 else None
        # a dynamic filter is asked about the hosts that passed every filter at the start
        first_cand = group.cand[fits] if self._dynamic_filters else None
        first_pos = np.flatnonzero(fits) if self._dynamic_filters else None
        placed: list[int] = []
        for i in range(count):
            if n_alive == 0:
                placed.extend([-1] * (count - i))
                break
            pos = self._pick(total if n_alive == group.size else np.where(alive, total, -np.inf))
            host = int(group.cand[pos])
            self.commit(host, req)
            placed.append(host)
            if aa == 1 or not self._fits(req, host):
                alive[pos] = False
            if cand_rack is not None:
                alive &= cand_rack != cand_rack[pos]
            if first_cand is not None and first_pos is not None:
                for _, host_filter in self._dynamic_filters:  # may read any host's state
                    alive[first_pos] &= host_filter.function(self.hosts, req, first_cand)
            n_alive = int(np.count_nonzero(alive))
            if not group.small:
                group.synced_free()
            row = self._group_scores(group, demand, slice(pos, pos + 1))
            for values, new in zip(raw, row, strict=True):
                values[pos] = new[0]
            if needs_full:
                if n_alive:
                    total = self._combine(raw, None if n_alive == group.size else alive, group.size)
            else:
                total[pos] = self._combine(row, None, 1)[0]
        return placed

    def _compiled_batch(self, req: Request, count: int) -> list[int]:
        """:meth:`place_batch` by the compiled kernels: the same decisions as the numpy
        path (scores in the group's buffer, -inf for hosts out of the running). The group's
        hosts are read from the placer's class-ordered copy of the columns, where they lie
        in a few runs (``spans``), in ascending host id as on the numpy path."""
        group = self._group(req)
        classes = self._classes
        assert classes is not None and group.spans is not None
        cand, demand = group.cand, req.demand
        free, winv, at = classes.synced_free(), classes.weighted_inv, classes.position
        allowed = self._affinity_allowed(req, group)
        out = group.scratch()
        fresh = group._layout_epoch == self._avail_epoch
        layout = group._layout if fresh else group.layout()
        most, weight, weighted = self._most, self._weight, self._weighted_ids
        first, ties = self._scan(
            free, winv, layout, demand, weighted, most, weight,
            group.everyone if allowed is None else allowed, allowed is not None,
            TIE_EPSILON, out,
        )  # fmt: skip
        aa = req.anti_affinity if req.system >= 0 else 0
        cand_rack = group.racks() if aa == 2 else None
        placed: list[int] = []
        for i in range(count):
            if i:
                first, ties = self._best(out, TIE_EPSILON)
            if first < 0:
                placed.extend([-1] * (count - i))
                break
            if ties > 1:
                first = self._nth_tie(out, first, TIE_EPSILON, self.rng.integers(ties))
            host = int(cand[first])
            self.commit(host, req)
            placed.append(host)
            if i + 1 == count:
                break
            if aa == 1 or not self._fits(req, host):
                out[first] = -np.inf
            else:
                free = classes.synced_free()
                column = int(at[host])
                out[first] = self._score_one(free, winv, demand, weighted, most, weight, column)
            if cand_rack is not None:
                out[cand_rack == cand_rack[first]] = -np.inf
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
        ctx = self._context(req.demand.astype(np.float64))
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


class _HostClasses:
    """The hosts grouped by static class, to find the hosts of a constraint without a scan.

    A host's class numbers its zone, centre, architecture, pool purpose and, in a dedicated
    pool, its owner. One stable sort by class lists each class's hosts, ascending, as one
    slice of :attr:`order`; the hosts of a constraint are the slices of the classes it
    accepts, joined in id order. Made again only when a host's static attributes change
    (pools carved) or the limits do: whether a host is up and not cordoned is no part of
    its class (the groups mask those that are not).

    For the compiled path (``compiled``: the placer's weighted inverse limits and the sync
    kernel) it also keeps the free and weighted-inverse columns in class order, kept in step
    from the host table's change log, so a group reads a few contiguous runs of one table
    instead of gathering its hosts' columns or keeping copies of its own.
    """

    weighted_inv: FloatArray
    _free: FloatArray

    def __init__(
        self,
        hosts: HostTable,
        compiled: tuple[FloatArray, Sequence[int], Callable[..., None]] | None = None,
        previous: _HostClasses | None = None,
    ) -> None:
        self.hosts = hosts
        self.shape = (
            _extent(hosts.zone, len(hosts.zone_names)),
            _extent(hosts.datacenter, len(hosts.datacenter_names)),
            _extent(hosts.arch, len(ARCHES)),
            _extent(hosts.purpose, len(PURPOSES)),
        )
        dedicated = hosts.purpose == _DEDICATED
        self.owners: IntArray = np.unique(hosts.dedicated_to[dedicated]).astype(np.int64)
        self.dedicated_owners = frozenset(int(d) for d in self.owners)
        self.slots = self.owners.size + 1
        n_dc, n_arch, n_purpose = self.shape[1:]
        code: IntArray = hosts.zone.astype(np.int64) * n_dc
        code += hosts.datacenter
        code *= n_arch
        code += hosts.arch
        code *= n_purpose
        code += hosts.purpose
        code *= self.slots
        if self.owners.size:
            code[dedicated] += 1 + np.searchsorted(self.owners, hosts.dedicated_to[dedicated])
        code += 1
        # hosts come in pools, so their classes in long runs: a stable sort merges them
        self.order: IntArray = np.argsort(code, kind="stable")
        # the occupied classes only, each with its slice of ``order``: the product of the
        # extents (centres x owners x ...) may be far larger than the hosts
        ordered = code.take(self.order)
        present, starts = np.unique(ordered, return_index=True)
        stops = np.append(starts[1:], ordered.size) if starts.size else starts
        self.slices: dict[int, tuple[int, int]] = dict(
            zip(present.tolist(), zip(starts.tolist(), stops.tolist(), strict=True), strict=True)
        )
        self._sync: Callable[..., None] | None = None
        if compiled is not None:
            weighted_inv, weighted, self._sync = compiled
            # the previous index's arrays are filled again (no fresh memory to fault in)
            old = previous if previous is not None and previous._sync is not None else None
            #: column of each host in the class-ordered copies
            self.position: IntArray = np.empty(hosts.size, dtype=np.int64)
            self.position[self.order] = np.arange(hosts.size, dtype=np.int64)
            self.weighted_inv = _columns(
                weighted_inv, self.order, weighted, None if old is None else old.weighted_inv
            )
            self._free = _columns(hosts.free_f, self.order, into=None if old is None else old._free)
            self.synced = hosts.free_changes

    def hosts_of(
        self,
        zone: int,
        datacenters: tuple[int, ...],
        arch: int,
        purposes: tuple[int, ...],
        owner: int | None,
    ) -> tuple[IntArray, list[tuple[int, int]] | None]:
        """Ascending ids of the hosts (up or not, cordoned or not) in ``zone``, one of
        ``datacenters``, of ``arch`` (-1: any) and in a pool of one of ``purposes``
        (dedicated pools: ``owner``'s only; None: no one's); and the slices of
        :attr:`order` they are, in id order (None: their ids interleave)."""
        n_zone, n_dc, n_arch, n_purpose = self.shape
        dcs = sorted({d for d in datacenters if 0 <= d < n_dc})
        arches = range(n_arch) if arch < 0 else [arch] if arch < n_arch else []
        kinds = sorted(
            {p for p in purposes if 0 <= p < n_purpose and (p != _DEDICATED or owner is not None)}
        )
        slot = 0 if owner is None else 1 + int(np.searchsorted(self.owners, owner))
        runs: list[tuple[int, int]] = []
        if 0 <= zone < n_zone:
            for dc in dcs:
                for a in arches:
                    for kind in kinds:
                        base = ((zone * n_dc + dc) * n_arch + a) * n_purpose + kind
                        c = 1 + base * self.slots + (slot if kind == _DEDICATED else 0)
                        run = self.slices.get(c)
                        if run is not None:
                            runs.append(run)
        if not runs:
            return np.zeros(0, dtype=np.int64), runs
        order = self.order
        if len(runs) == 1:
            lo, hi = runs[0]
            return order[lo:hi].astype(np.int64, copy=True), runs
        runs.sort(key=lambda run: int(order[run[0]]))
        joined = np.concatenate([order[lo:hi] for lo, hi in runs]).astype(np.int64, copy=False)
        if any(order[a[1] - 1] > order[b[0]] for a, b in itertools.pairwise(runs)):
            joined.sort(kind="stable")  # classes whose ids interleave: merge the runs
            return joined, None
        return joined, runs

    def spans(self, cand: IntArray, runs: list[tuple[int, int]] | None) -> IntArray:
        """Where the hosts ``cand`` (ascending; ``runs``: as :meth:`hosts_of` found them)
        lie in the class-ordered columns: runs of consecutive columns, as ``[start0, stop0,
        start1, stop1, ...]``."""
        if runs is not None:
            merged: list[int] = []
            for lo, hi in runs:
                if merged and merged[-1] == lo:
                    merged[-1] = hi
                else:
                    merged += (lo, hi)
            return np.array(merged, dtype=np.int64)
        at = self.position.take(cand)
        if not at.size:
            return np.zeros(0, dtype=np.int64)
        breaks = np.flatnonzero(np.diff(at) != 1) + 1
        starts = at[np.concatenate(([0], breaks))]
        stops = at[np.concatenate((breaks - 1, [at.size - 1]))] + 1
        result: IntArray = np.column_stack((starts, stops)).ravel()
        return result

    def synced_free(self) -> FloatArray:
        """The class-ordered free columns brought up to date with the host table."""
        hosts = self.hosts
        done = hosts.free_changes
        if self.synced != done:
            if self.synced < hosts.free_log_base:  # the log moved past us: gather again
                self._free = _columns(hosts.free_f, self.order, into=self._free)
            elif done - self.synced == 1:
                host = hosts.free_log[-1]
                self._free[:, self.position[host]] = hosts.free_f[:, host]
            else:
                assert self._sync is not None
                changed = hosts.free_log[self.synced - hosts.free_log_base :]
                self._sync(self._free, hosts.free_f, self.position, np.array(changed, np.int64))
            self.synced = done
        return self._free


def _extent(column: npt.NDArray[np.int32], known: int) -> int:
    """How many values ``column`` may take: ``known``, or more if it holds larger ones."""
    return max(known, int(column.max()) + 1) if column.size else known


class _Group:
    """The hosts of one static constraint: ``cand``, their ids, ascending.

    On the compiled path ``spans`` says where they lie in the placer's class-ordered
    columns. On the numpy path a large group keeps copies of its columns: ``free`` mirrors
    ``hosts.free_f[:, cand]`` and is brought up to date from the host table's change log
    before each use, so a decision reads contiguous columns instead of gathering them.
    """

    def __init__(self, placer: Placer, cand: IntArray, spans: IntArray | None = None) -> None:
        self.hosts = placer.hosts
        self._placer = placer
        self.cand = cand
        self._mask: BoolArray | None = None
        #: positions of the hosts down or cordoned, ascending, as of the placer's
        #: availability epoch ``_down_epoch``; the hosts up and not cordoned as a mask over
        #: the group and over the table, as of ``_up_epoch`` (None: not made)
        self._down: IntArray = np.zeros(0, dtype=np.int64)
        self._down_epoch = -1
        self._layout: IntArray = np.zeros(0, dtype=np.int64)
        self._layout_epoch = -1
        self._up_epoch = -1
        self._up: BoolArray | None = None
        self._up_mask: BoolArray | None = None
        self.size = int(self.cand.size)
        self.everyone: BoolArray = np.ones(self.size, dtype=np.bool_)
        self.everyone.flags.writeable = False
        self._placer_inv = placer.inv_limit
        self._inv_limit: FloatArray | None = None
        #: compiled path: where the hosts lie in the placer's class-ordered columns
        self.spans = spans
        self._placer_winv = placer.weighted_inv
        self._weighted_inv: FloatArray | None = None
        self.weights = placer.resource_weights
        self.weighted = placer.weighted
        self._free: FloatArray | None = None
        self.synced = -1
        self._racks: IntArray | None = None
        #: numpy path: read the whole table through ``cand`` instead of keeping copies
        self.small = spans is None and self.size <= placer._small_group
        self._scratch: FloatArray | None = None

    @property
    def mask(self) -> BoolArray:
        """The group's hosts, up or not, as a mask over the whole table (made when first
        asked for)."""
        if self._mask is None:
            self._mask = np.zeros(self.hosts.size, dtype=np.bool_)
            self._mask[self.cand] = True
        return self._mask

    def down(self) -> IntArray:
        """Positions of the group's hosts that are down or cordoned, ascending (from the
        hosts whose status changed since the last call, when the placer still has them)."""
        placer = self._placer
        epoch = placer._avail_epoch
        if self._down_epoch == epoch:
            return self._down
        behind = self._down_epoch - placer._avail_log_base
        if behind < 0:  # new, or too far behind: look up the hosts down or cordoned
            ids = placer._down_ids
            self._down = np.zeros(0, dtype=np.int64)
            if ids.size and self.size:
                lo, hi = ids.searchsorted((self.cand[0], self.cand[-1] + 1)).tolist()
                ids = ids[lo:hi]
                pos = np.searchsorted(self.cand, ids)
                np.minimum(pos, self.size - 1, out=pos)
                self._down = pos[self.cand.take(pos) == ids]
        else:
            log = placer._avail_log[behind:]
            ids = log[0] if len(log) == 1 else np.unique(np.concatenate(log))
            pos = np.searchsorted(self.cand, ids)
            np.minimum(pos, self.size - 1, out=pos)
            hit = self.cand.take(pos) == ids if self.size else np.zeros(0, dtype=np.bool_)
            if hit.any():
                pos, ids = pos[hit], ids[hit]
                self._down = _set_members(self._down, pos, ~placer._avail.take(ids))
        self._down_epoch = epoch
        return self._down

    def layout(self) -> IntArray:
        """The compiled scan's ``layout``: the number of :attr:`spans`, the spans, then
        :meth:`down` (one array: each array argument costs the call time)."""
        if self._layout_epoch != self._placer._avail_epoch:
            assert self.spans is not None
            head = np.array([self.spans.size // 2], dtype=np.int64)
            self._layout = np.concatenate((head, self.spans, self.down()))
            self._layout_epoch = self._placer._avail_epoch
        return self._layout

    def _refresh_up(self) -> None:
        placer = self._placer
        if self._up_epoch != placer._avail_epoch:
            down = self.down()
            if down.size:
                up = np.ones(self.size, dtype=np.bool_)
                up[down] = False
                up.flags.writeable = False
                self._up = up
            else:
                self._up = None
            self._up_mask = None
            self._up_epoch = placer._avail_epoch

    def available(self) -> BoolArray | None:
        """Which of the group's hosts are up and not cordoned (None: all; read-only)."""
        self._refresh_up()
        return self._up

    def available_mask(self) -> BoolArray:
        """The group's hosts that are up and not cordoned, as a mask over the whole table
        (read-only when it is not :attr:`mask` itself)."""
        self._refresh_up()
        if self._up is None:
            return self.mask
        if self._up_mask is None:
            mask = self.mask & self._placer._avail
            mask.flags.writeable = False
            self._up_mask = mask
        return self._up_mask

    def scratch(self) -> FloatArray:
        """A reusable buffer of one float per host of the group."""
        if self._scratch is None:
            self._scratch = np.empty(self.size)
        return self._scratch

    def synced_free(self) -> FloatArray:
        """``free`` brought up to date with the host table."""
        hosts = self.hosts
        done = hosts.free_log_base + len(hosts.free_log)
        if self._free is None:
            self._free = _columns(hosts.free_f, self.cand)
            self.synced = done
        if self.synced != done:
            if self.synced < hosts.free_log_base or done - self.synced > self.size:
                self._free = _columns(hosts.free_f, self.cand)
            elif done - self.synced == 1:
                host = hosts.free_log[-1]
                at = int(self.cand.searchsorted(host))
                if at < self.size and self.cand[at] == host:
                    self.free[:, at] = hosts.free_f[:, host]
            else:
                changed = hosts.free_log[self.synced - hosts.free_log_base :]
                ids = np.array(changed, dtype=np.int64)
                pos = np.searchsorted(self.cand, ids)
                np.minimum(pos, self.size - 1, out=pos)
                hit = self.cand[pos] == ids
                if hit.all():
                    self.free[:, pos] = hosts.free_f[:, ids]
                elif hit.any():
                    self.free[:, pos[hit]] = hosts.free_f[:, ids[hit]]
            self.synced = done
        return self.free

    def positions(self, ids: IntArray) -> IntArray:
        """Positions in the group of those of the hosts ``ids`` that belong to it."""
        pos = np.searchsorted(self.cand, ids)
        inside = pos < self.size
        pos = pos[inside]
        found: IntArray = pos[self.cand[pos] == ids[inside]]
        return found

    @property
    def free(self) -> FloatArray:
        """The hosts' free columns as of the last :meth:`synced_free`."""
        assert self._free is not None
        return self._free

    @property
    def weighted_inv(self) -> FloatArray:
        if self._weighted_inv is None:
            self._weighted_inv = _columns(self._placer_winv, self.cand, self.weighted)
        return self._weighted_inv

    @property
    def inv_limit(self) -> FloatArray:
        if self._inv_limit is None:
            self._inv_limit = _columns(self._placer_inv, self.cand)
        return self._inv_limit

    def racks(self) -> IntArray:
        if self._racks is None:
            self._racks = self.hosts.rack.take(self.cand).astype(np.int64)
        return self._racks

    def context(self, demand: FloatArray) -> ScoreContext:
        """A score context over the group's own columns."""
        return ScoreContext(
            free=self.free,
            inv_limit=self.inv_limit,
            weighted_inv=self.weighted_inv,
            weights=self.weights,
            demand=demand,
            weighted=self.weighted,
        )


def _columns(
    table: FloatArray,
    cols: IntArray,
    rows: Sequence[int] | None = None,
    into: FloatArray | None = None,
) -> FloatArray:
    """``table[:, cols]`` as a contiguous array (``into`` when it has the shape, else a new
    one), row by row (a 1-D gather is several times faster than a 2-D one); only ``rows``
    filled when given, the others zero."""
    shape = (table.shape[0], cols.size)
    if into is not None and into.shape == shape:
        out = into
        if rows is not None:
            out[[r for r in range(shape[0]) if r not in rows]] = 0.0
    else:
        out = np.zeros(shape)
    for r in range(table.shape[0]) if rows is None else rows:
        table[r].take(cols, out=out[r], mode="clip")  # unbuffered: ids are in range
    return out


def _set_members(members: IntArray, keys: IntArray, inside: BoolArray) -> IntArray:
    """``members`` (ascending, distinct) with each of ``keys`` (ascending, distinct) in it
    exactly when ``inside`` says so; ``members`` itself when nothing changes."""
    at = members.searchsorted(keys)
    present = at < members.size
    present[present] = members[at[present]] == keys[present]
    drop = at[present & ~inside]
    add = keys[~present & inside]
    if drop.size:
        keep = np.ones(members.size, dtype=np.bool_)
        keep[drop] = False
        members = members[keep]
    if add.size:
        members = np.concatenate((members, add))
        members.sort()
    return members


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
