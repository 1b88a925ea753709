"""Services: endpoints (the ready pods a selector matches), capacity against demand, and
exact accounting of the time each service spends short of ready endpoints.

The endpoint state changes only when something happens to pods or nodes (a bind, an
eviction, a node NotReady, a host failing or coming back, a pod finishing its start), and
every controller calls :meth:`ServiceLedger.advance` after acting, so the state between two
calls is constant: time short of endpoints is integrated exactly. Demand is piecewise
constant per step and integrated step by step over each interval (core-seconds demanded
and unserved, seconds overloaded), without waking up at each step. The intervals are noted
as they end and added to the integrals at each sample (and at the end), all at once but
one after the other, so the sums are those of adding each as it ended.

A pod is a ready endpoint only if it is bound to a node that is Ready *and* whose host is
really up (ground truth): a pod on a failed host never counts, even during the 40 s before
Kubernetes notices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cloudsim.containers.build import selector_of
from cloudsim.containers.demand import DemandCurves
from cloudsim.containers.labels import BoolArray, IntArray, LabelSelector
from cloudsim.containers.runtime import ClusterState
from cloudsim.records.columns import names_column
from cloudsim.scenario.containers import Containers
from cloudsim.world import World

FloatArray = npt.NDArray[np.float64]
#: A service, its cluster and the deployments it selects.
_Selected = tuple[int, ClusterState, list[int]]


@dataclass(frozen=True)
class ServiceSpec:
    """A service resolved against its cluster."""

    name: str
    cluster: int
    namespace: str
    selector: LabelSelector
    deployment: int  # the deployment it fronts, -1: selector only
    system: int  # index into scenario.systems, -1: none
    required: int


class _Series:
    """The services' samples, one entry per sample (stacked into columns only for the
    table): the time, the time since the sample before, and the (S,) ready endpoints, bound
    endpoints, replicas and capacity, arrays that are replaced, never changed in place.
    Demand is a pure function of time, read for every sample at once at the end."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.intervals: list[float] = []
        self.states: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []

    def add(
        self,
        time: float,
        interval: float,
        ready: IntArray,
        endpoints: IntArray,
        replicas: IntArray,
        capacity: IntArray,
    ) -> None:
        self.times.append(time)
        self.intervals.append(interval)
        self.states.append((ready, endpoints, replicas, capacity))

    def __len__(self) -> int:
        return len(self.times)

    def columns(self, n: int) -> dict[str, npt.NDArray[np.generic]]:
        """Per sample and service (sample-major): time, service, ready, endpoints,
        replicas, capacity and interval."""
        k = len(self.times)
        stacked = (
            np.array(self.states, dtype=np.int64).reshape(k, 4, n).transpose(1, 0, 2)
            if k
            else np.zeros((4, 0, n), dtype=np.int64)
        )
        ready, endpoints, replicas, capacity = (a.reshape(-1) for a in stacked)
        return {
            "time": np.repeat(np.array(self.times, dtype=np.float64), n),
            "service": np.tile(np.arange(n, dtype=np.int64), k),
            "ready": ready,
            "endpoints": endpoints,
            "replicas": replicas,
            "capacity": capacity,
            "interval": np.repeat(np.array(self.intervals, dtype=np.float64), n),
        }


#: Intervals held at most before they are settled (any batch gives the same sums).
SETTLE_BATCH = 4096
#: The integral columns of the services table, in order.
_INTEGRALS = ("short_s", "overload_s", "demand_core_s", "unserved_core_s")
#: The totals' rows (short, ready, demanded, unserved, overload) as a sample reads them.
_SAMPLE_ORDER = [0, 4, 2, 3, 1]


class ServiceLedger:
    """Every service of the run: current endpoint state and integrals since the start."""

    def __init__(
        self, specs: Sequence[ServiceSpec], clusters: Sequence[ClusterState], demand: DemandCurves
    ) -> None:
        self.specs = list(specs)
        self.clusters = clusters
        self.demand = demand
        n = len(self.specs)
        self.required = np.array([s.required for s in self.specs], dtype=np.int64)
        self.ready = np.zeros(n, dtype=np.int64)
        self.endpoints = np.zeros(n, dtype=np.int64)
        self.capacity = np.zeros(n, dtype=np.int64)
        self.last = 0.0
        # totals since the start, and since the last sample
        self.short_s = np.zeros(n)
        self.overload_s = np.zeros(n)
        self.demand_ms = np.zeros(n)
        self.unserved_ms = np.zeros(n)
        self.ready_s = np.zeros(n)
        self._mark = np.zeros((5, n))
        self.min_ready = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.series = _Series()
        self._last_sample = 0.0
        # outages (ready < required), closed and open
        self.outage_start = np.full(n, np.nan)
        self.outage_min = np.zeros(n, dtype=np.int64)
        self.outages: list[tuple[int, float, float, int]] = []
        self._open = False  # some outage open
        #: Intervals not in the integrals yet: start, end, ready endpoints, capacity.
        self._held: list[tuple[float, float, IntArray, IntArray]] = []
        #: Samples whose integrals are not settled yet: (sample, intervals held before it).
        self._pending: list[tuple[int, int]] = []
        #: Per sample (5, S): short, overload, demanded, unserved and ready seconds since
        #: the sample before (None until settled).
        self._deltas: list[FloatArray | None] = []
        self._selects: dict[int, BoolArray] = {}  # per cluster: (S_c, T)
        self._weight_cache: dict[int, tuple[IntArray, IntArray, IntArray]] = {}
        self._read: tuple[tuple[int, int, int, float], ...] | None = None
        self._by_cluster = {
            c: np.array([i for i, s in enumerate(self.specs) if s.cluster == c], dtype=np.int64)
            for c in range(len(clusters))
        }
        self._selected: tuple[tuple[int, ...], list[_Selected]] | None = None
        #: The cluster whose services are all the services, in order (None: none is).
        self._sole = next(
            (
                c
                for c, rows in self._by_cluster.items()
                if len(rows) and np.array_equal(rows, np.arange(len(self.specs)))
            ),
            None,
        )

    def __len__(self) -> int:
        return len(self.specs)

    def cluster_services(self, c: int) -> IntArray:
        """Indices of the services of cluster ``c`` (the rows of :meth:`selects`)."""
        return self._by_cluster[c]

    def replicas(self) -> IntArray:
        """(S,) replicas asked for of the deployments each service selects."""
        out = np.zeros(len(self), dtype=np.int64)
        for i, cs, deps in self._deployments():
            out[i] = sum(int(cs.desired[d]) for d in deps)
        return out

    def _deployments(self) -> list[_Selected]:
        """Per service: its cluster and the deployments it selects (while the clusters have
        the templates they have)."""
        key = tuple(len(cs.cluster.templates) for cs in self.clusters)
        if self._selected is not None and self._selected[0] == key:
            return self._selected[1]
        found = []
        for i, s in enumerate(self.specs):
            cs = self.clusters[s.cluster]
            sel = self.selects(s.cluster)[
                int(np.flatnonzero(self.cluster_services(s.cluster) == i)[0])
            ]
            found.append((i, cs, [d.index for d in cs.deployments if sel[d.tid]]))
        self._selected = (key, found)
        return found

    # -- endpoint state -------------------------------------------------------------------
    def selects(self, c: int) -> BoolArray:
        """(S_c, T) which templates of cluster ``c`` each of its services selects."""
        cluster = self.clusters[c].cluster
        t = len(cluster.templates)
        found = self._selects.get(c)
        if found is not None and found.shape[1] == t:
            return found
        rows = self._by_cluster[c]
        matrix = np.zeros((len(rows), t), dtype=np.bool_)
        for i, s in enumerate(rows.tolist()):
            spec = self.specs[s]
            for tid, template in enumerate(cluster.templates):
                matrix[i, tid] = template.namespace == spec.namespace and spec.selector.matches(
                    template.label_map
                )
        self._selects[c] = matrix
        return matrix

    def _weights(self, c: int) -> tuple[IntArray, IntArray, IntArray]:
        """(T, S_c) :meth:`selects`, transposed, as integers, (T,) the CPU one pod of each
        template serves (its limit, else its request) and a (3, T) scratch row block, for
        the templates of cluster ``c`` now."""
        templates = self.clusters[c].cluster.templates
        found = self._weight_cache.get(c)
        if found is not None and len(found[1]) == len(templates):
            return found
        per_pod = np.array([t.cpu_limit or t.cpu for t in templates], dtype=np.int64)
        by_template = np.ascontiguousarray(self.selects(c).T, dtype=np.int64)
        scratch = np.empty((3, len(templates)), dtype=np.int64)
        found = self._weight_cache[c] = (by_template, per_pod, scratch)
        return found

    def _cluster_state(self, c: int, now: float) -> IntArray:
        """(3, S_c) ready endpoints, bound endpoints and capacity of cluster ``c``'s
        services: one product of its per-template counts with the selection."""
        counts = self.clusters[c].pod_counts(now)
        by_template, per_pod, rows = self._weights(c)
        rows[0] = counts.ready
        rows[1] = counts.bound
        np.multiply(counts.ready, per_pod, out=rows[2])
        result: IntArray = rows @ by_template  # a new array: the scratch rows are reused
        return result

    def state(self, now: float) -> tuple[IntArray, IntArray, IntArray]:
        """(S,) ready endpoints, bound endpoints and capacity (millicores) right now."""
        sole = self._sole
        if sole is not None:  # one cluster has every service: no scatter into (S,)
            ready, bound, capacity = self._cluster_state(sole, now)
            return ready, bound, capacity
        out = np.zeros((3, len(self.specs)), dtype=np.int64)
        for c, rows in self._by_cluster.items():
            if len(rows):
                out[:, rows] = self._cluster_state(c, now)
        return out[0], out[1], out[2]

    def advance(self, now: float) -> None:
        """Integrate the state held since the last call up to ``now``, then read it anew
        (nothing to integrate or read without services: a replay's cluster has none)."""
        if not self.specs:
            self.last = max(self.last, now)
            return
        self._integrate(now)
        key = tuple([cs.state_key(now) for cs in self.clusters])
        if key == self._read:
            return
        self._read = key
        self.ready, self.endpoints, self.capacity = self.state(now)
        self.min_ready = np.minimum(self.min_ready, self.ready)
        short = self.ready < self.required
        if not short.any() and not self._open:
            return  # no outage starts, goes on or ends
        starting = short & np.isnan(self.outage_start)
        self.outage_start[starting] = now
        self.outage_min[starting] = self.ready[starting]
        open_ = ~np.isnan(self.outage_start)
        self.outage_min[open_ & short] = np.minimum(
            self.outage_min[open_ & short], self.ready[open_ & short]
        )
        for s in np.flatnonzero(open_ & ~short).tolist():
            self.outages.append((s, float(self.outage_start[s]), now, int(self.outage_min[s])))
            self.outage_start[s] = np.nan
        self._open = bool(short.any())

    def _integrate(self, now: float) -> None:
        """Hold the state of ``[last, now)`` for the integrals (:meth:`_settle` adds it)."""
        start = self.last
        if now <= start:
            return
        self._held.append((start, now, self.ready, self.capacity))
        self.last = now
        if len(self._held) >= SETTLE_BATCH:  # memory stays bounded over long runs
            self._settle()

    def _settle(self) -> None:
        """Add the intervals held since the last call to the integrals, one after the other
        in time order (each sum as if added at once), all services and intervals at once;
        the samples taken meanwhile get their part (the totals at their instant less the
        totals at the sample before). Samples only mark where they fall, so a run settles
        in a few large batches instead of one small one per sample."""
        held = self._held
        pending = self._pending
        if not held and not pending:
            return
        self._held, self._pending = [], []
        rows = np.empty((len(held) + 1, 5, len(self.specs)))
        rows[0] = (self.short_s, self.ready_s, self.demand_ms, self.unserved_ms, self.overload_s)
        if held:
            bounds = np.array([(h[0], h[1]) for h in held])  # (K, 2)
            ready = np.array([h[2] for h in held])  # (K, S)
            starts, ends = bounds[:, 0], bounds[:, 1]
            spans = (ends - starts)[:, None]
            demanded, unserved, over = self.demand.integrate_many(
                starts, ends, np.array([h[3] for h in held])
            )
            # the totals, then each interval's part of each, summed down in order
            rows[1:, 0] = spans * (ready < self.required)
            rows[1:, 1] = spans * ready
            rows[1:, 2] = demanded
            rows[1:, 3] = unserved
            rows[1:, 4] = over
        running = np.add.accumulate(rows, axis=0)  # running[k]: after k intervals
        for sample, before in pending:
            at = running[before][_SAMPLE_ORDER]
            self._deltas[sample] = at - self._mark
            self._mark = at
        self.short_s, self.ready_s, self.demand_ms, self.unserved_ms, self.overload_s = running[-1]

    # -- results --------------------------------------------------------------------------
    def sample(self, now: float, replicas: IntArray) -> None:
        """One row per service: the state now and the integrals since the previous sample
        (no rows, and no work, without services). ``replicas`` is kept, not copied: the
        caller hands over a fresh array."""
        if not self.specs:
            self._last_sample = now
            return
        self.advance(now)
        # the integrals' part since the previous sample is filled in when they settle
        self._pending.append((len(self._deltas), len(self._held)))
        self._deltas.append(None)
        self.series.add(
            now,
            now - self._last_sample,
            self.ready,
            self.endpoints,
            np.asarray(replicas, dtype=np.int64),  # the caller's, not changed afterwards
            self.capacity,
        )
        self._last_sample = now

    def close(self, horizon: float) -> None:
        """End of the run: integrate to the horizon and close open outages."""
        self._integrate(horizon)
        self._settle()
        for s in np.flatnonzero(~np.isnan(self.outage_start)).tolist():
            self.outages.append((s, float(self.outage_start[s]), horizon, int(self.outage_min[s])))
            self.outage_start[s] = np.nan
        self._open = False

    def integrals(self) -> dict[str, FloatArray]:
        """Per sample and service, in sample order: the seconds short of the required
        endpoints and overloaded, and the core-seconds demanded and unserved since the
        sample before."""
        self._settle()
        deltas = [d for d in self._deltas if d is not None]
        assert len(deltas) == len(self._deltas), "a sample's integrals are not settled"
        if not deltas:
            return {k: np.zeros(0) for k in _INTEGRALS}
        short, overload, demanded, unserved, _ = np.concatenate(deltas, axis=1)
        return dict(
            zip(_INTEGRALS, (short, overload, demanded / 1000.0, unserved / 1000.0), strict=True)
        )

    def table(self, names: Sequence[str], systems: Sequence[str]) -> pa.Table:
        n = len(self.specs)
        columns = self.series.columns(n)
        times = np.array(self.series.times, dtype=np.float64)
        demand = self.demand.at_times(times).astype(np.int64).reshape(-1)
        integrals = self.integrals()
        service = columns["service"]
        return pa.table(
            {
                "time": pa.array(columns["time"], pa.float64()),
                "service": names_column(service, names),
                "system": names_column(
                    np.array([self.specs[i].system for i in service], dtype=np.int64), systems
                ),
                **{
                    key: pa.array(columns[key], pa.int64())
                    for key in ("ready", "endpoints", "replicas")
                },
                "required": pa.array(np.tile(self.required, len(times)), pa.int64()),
                "demand_cpu_milli": pa.array(demand, pa.int64()),
                "capacity_cpu_milli": pa.array(columns["capacity"], pa.int64()),
                "interval": pa.array(columns["interval"], pa.float64()),
                **{key: pa.array(integrals[key], pa.float64()) for key in _INTEGRALS},
            }
        )

    def outage_table(self, names: Sequence[str], systems: Sequence[str]) -> pa.Table:
        rows = sorted(self.outages, key=lambda o: (o[1], o[0]))
        service = np.array([o[0] for o in rows], dtype=np.int64)
        start = np.array([o[1] for o in rows], dtype=np.float64)
        end = np.array([o[2] for o in rows], dtype=np.float64)
        return pa.table(
            {
                "service": names_column(service, names),
                "system": names_column(
                    np.array([self.specs[i].system for i in service], dtype=np.int64), systems
                ),
                "start": pa.array(start, pa.float64()),
                "end": pa.array(end, pa.float64()),
                "duration_s": pa.array(end - start, pa.float64()),
                "required": pa.array(self.required[service], pa.int64()),
                "min_ready": pa.array([o[3] for o in rows], pa.int64()),
            }
        )

    def summary(self, horizon: float) -> dict[str, dict[str, float | int]]:
        self._settle()
        out: dict[str, dict[str, float | int]] = {}
        for i, spec in enumerate(self.specs):
            demanded = float(self.demand_ms[i])
            served = 1.0 - float(self.unserved_ms[i]) / demanded if demanded > 0 else 1.0
            out[spec.name] = {
                "required_endpoints": int(self.required[i]),
                "availability": round(1.0 - float(self.short_s[i]) / horizon, 6),
                "short_s": round(float(self.short_s[i]), 3),
                "outages": sum(1 for o in self.outages if o[0] == i),
                "overload_s": round(float(self.overload_s[i]), 3),
                "demand_served": round(served, 6),
                "mean_ready": round(float(self.ready_s[i]) / horizon, 3) if horizon else 0.0,
                "min_ready": int(self.min_ready[i]),
            }
        return out


def required_default(declared: int, fraction: float) -> int:
    """The availability ledger's rule for services: half (by default) of the declared
    replicas, rounded up."""
    return math.ceil(declared * fraction - 1e-9)


def ledger_of(
    containers: Containers,
    world: World,
    clusters: Sequence[ClusterState],
    horizon: float,
    rng: np.random.Generator,
) -> ServiceLedger:
    """The ledger of the scenario's services, resolved against the clusters' deployments: a
    service without a selector fronts its deployment's pods; without ``required_endpoints``
    it needs the availability rule's share of the replicas its deployments declare (their
    HPAs' minimum when autoscaled). Demand curves draw from ``rng``."""
    rule = world.availability
    hpa_min = {h.deployment: h.min_replicas for h in containers.hpas}
    by_name = {cs.name: cs for cs in clusters}
    specs: list[ServiceSpec] = []
    for svc in containers.services:
        cs = by_name[svc.cluster]
        dep = next((d for d in cs.deployments if d.name == svc.deployment), None)
        selector: LabelSelector = (
            selector_of(svc.selector)
            if svc.selector is not None
            else LabelSelector.of(dict(dep.template.labels) if dep else {})
        )
        namespace = (
            svc.namespace if svc.selector is not None or dep is None else (dep.template.namespace)
        )
        selected = [
            d
            for d in cs.deployments
            if d.template.namespace == namespace and selector.matches(d.template.label_map)
        ]
        declared = sum(hpa_min.get(d.name, d.declared) for d in selected)
        system = world.systems.get(svc.system) if svc.system else -1
        if system < 0 and dep is not None:
            system = dep.system
        required = (
            svc.required_endpoints
            if svc.required_endpoints is not None
            else required_default(declared, rule.required_fraction)
        )
        specs.append(
            ServiceSpec(
                svc.name,
                cs.index,
                namespace,
                selector,
                dep.index if dep is not None else -1,
                system,
                required,
            )
        )
    demand = DemandCurves(
        [s.demand for s in containers.services], horizon, world.scenario.meta.start, rng
    )
    return ServiceLedger(specs, clusters, demand)
