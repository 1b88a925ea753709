"""HorizontalPodAutoscaling: every HPA of the run, synced together on one grid (15 s).

The algorithm is :class:`~cloudsim.containers.hpa.Autoscalers`'s; this controller reads
its inputs from the clusters (ready, starting and missing pods per HPA, the CPU their
services' demand puts on the ready ones) and applies the replicas it recommends. A quiet
HPA sleeps until the demand curve would next move its recommendation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.containers.controllers.base import Controller, ControlPlane, grid_after
from cloudsim.containers.hpa import Autoscalers, Forecast, kernels
from cloudsim.containers.labels import FloatArray, IntArray
from cloudsim.containers.runtime import ClusterState
from cloudsim.containers.services import ServiceLedger

#: How far a quiet HPA looks ahead for the next sync that would change something.
HPA_LOOKAHEAD_SYNCS = 480
#: Syncs of service demand read at once for the HPAs' forecasts.
DEMAND_BLOCK_SYNCS = 4096


def _feeder(selects: IntArray) -> IntArray | None:
    """(H,) for each column of ``selects`` (S, H) its one nonzero row (0 if none), or
    None if a column has several."""
    if ((selects != 0).sum(axis=0) > 1).any():
        return None
    result: IntArray = np.argmax(selects != 0, axis=0)
    return result


def _rows(values: npt.NDArray[Any], count: int) -> npt.NDArray[Any]:
    """``values`` with ``count`` rows (one row: repeated), C-contiguous."""
    if len(values) == count:
        return np.ascontiguousarray(values)
    return np.repeat(values, count, axis=0)


@dataclass
class _HPAInputs:
    """What the HPAs read at each of some sync times (the first one: now). Pods that are
    starting become ready at known times; nothing else changes without a poke."""

    times: FloatArray  # (J,)
    current: IntArray  # (H,) replicas asked for
    request: IntArray  # (H,) CPU request of one pod
    missing: IntArray  # (H,) pods without metrics (their node is NotReady or down)
    ready: IntArray  # (J, H)
    unready: IntArray  # (J, H) pending or starting
    usage: IntArray  # (J, H) CPU used by the ready pods

    def same_at(self, j: int, other: _HPAInputs) -> bool:
        """Whether ``other`` (read now) is what this forecast expected at its sync ``j``."""
        return bool(
            np.array_equal(self.current, other.current)
            and np.array_equal(self.missing, other.missing)
            and np.array_equal(self.ready[j], other.ready[0])
            and np.array_equal(self.unready[j], other.unready[0])
            and np.array_equal(self.usage[j], other.usage[0])
        )


@dataclass(frozen=True)
class _HPAGroup:
    """The HPAs of one cluster and the services that feed them, as index arrays (valid
    while the cluster has ``templates`` pod templates)."""

    state: ClusterState
    templates: int
    mine: IntArray  # (H_c,) HPA rows
    deps: IntArray  # (H_c,) their deployments
    tids: IntArray  # (H_c,) their deployments' templates
    request: IntArray  # (H_c,) CPU request of one pod
    rows: IntArray  # (S_c,) service rows
    sel: IntArray  # (S_c, T) templates each service selects
    sel_t: IntArray  # (1, S_c, H_c) sel of the HPAs' templates
    owned: IntArray  # (H_c,) 1: the deployment owns its template's pods (as per_deployment)
    every: bool  # the group has every HPA, in order
    #: (H_c,) the one service (of ``rows``) feeding each HPA; None: some has several
    feeder: IntArray | None
    #: With a feeder: (T, H_c) the templates each HPA's service selects (its columns of
    #: ``sel``), (H_c,) whether it selects the HPA's own template, and (H_c,) its row in
    #: the ledger.
    feed_sel: IntArray | None = None
    feed_own: IntArray | None = None
    feed_rows: IntArray | None = None


class HorizontalPodAutoscaling(Controller):
    """Every HPA, synced together every ``hpa_sync_period`` on a fixed grid.

    The syncs ahead are forecast at once (demand curves, pods finishing their start, the
    rest fixed); the process sleeps until the first forecast sync that changes some HPA's
    replicas, runs it, and records the recommendations of the syncs in between exactly as
    if each had run. A poke (pods or nodes changed) makes it read its inputs again at once:
    if they are what the forecast expected the forecast stands, otherwise it is redone.
    Inputs are read for the syncs ahead only when a forecast needs them (a sync or a check
    reads the current ones alone), and not at all when nothing they are read from (pods,
    nodes, hosts, templates, replicas) has changed since the forecast: they are then the
    ones it expected, and the sync it found runs from it (:meth:`Autoscalers.apply`)."""

    def __init__(
        self,
        plane: ControlPlane,
        ledger: ServiceLedger,
        autoscalers: Autoscalers,
        targets: IntArray,
        replicasets: Controller,
    ) -> None:
        super().__init__(plane)
        self.ledger = ledger
        self.replicasets = replicasets
        self.hpas = autoscalers
        self.targets = targets  # (H, 2): cluster, deployment
        self._targets = [(int(c), int(d)) for c, d in targets.tolist()]
        self.sync = autoscalers.sync
        self._whole_sync = float(self.sync).is_integer()
        self.wake_at = 0.0
        self.last = -math.inf
        self.forecast: Forecast | None = None
        self.expected: _HPAInputs | None = None
        self.rescales = 0
        self.syncs = 0
        self._ahead = self.sync * np.arange(HPA_LOOKAHEAD_SYNCS + 1.0)
        self._groups: list[_HPAGroup] = []
        self._read: tuple[tuple[int, int, int, int, bytes], ...] = ()  # what was forecast
        self._block: tuple[int, FloatArray] = (0, np.zeros((0, 0)))  # demand from a sync on
        #: With numba (as the autoscalers' forecast), the usual case's inputs in one pass.
        self._inputs_pass: Callable[..., None] | None = None
        if autoscalers.kernel == "numba":
            self._inputs_pass = kernels.kernels()["inputs_pass"]

    def due(self, now: float) -> float:
        if not len(self.hpas):
            return math.inf
        if self.trigger.poked:
            return now
        return max(self.wake_at, now)

    def groups(self) -> list[_HPAGroup]:
        """Per cluster with HPAs, its :class:`_HPAGroup` (rebuilt when templates are added)."""
        groups = self._groups
        if len(groups) == 1:  # the usual case, checked without a generator
            if len(groups[0].state.cluster.templates) == groups[0].templates:
                return groups
        elif groups and all(len(g.state.cluster.templates) == g.templates for g in groups):
            return groups
        ledger = self.ledger
        groups = []
        for c, cs in enumerate(self.plane.clusters):
            mine = np.flatnonzero(self.targets[:, 0] == c)
            if not len(mine):
                continue
            deps = self.targets[mine, 1]
            tids = np.array([cs.deployments[d].tid for d in deps.tolist()], dtype=np.int64)
            sel = ledger.selects(c).astype(np.int64)  # (S_c, T)
            rows = ledger.cluster_services(c)
            feeder = _feeder(sel[:, tids])
            groups.append(
                _HPAGroup(
                    state=cs,
                    templates=len(cs.cluster.templates),
                    mine=mine,
                    deps=deps,
                    tids=tids,
                    request=np.array(
                        [cs.deployments[d].template.cpu for d in deps.tolist()], dtype=np.int64
                    ),
                    rows=rows,
                    sel=sel,
                    sel_t=sel[:, tids][None, :, :],
                    owned=(cs.dep_of_tid[tids] == deps).astype(np.int64),
                    feeder=feeder,
                    every=bool(np.array_equal(mine, np.arange(len(self.hpas)))),
                    feed_sel=None if feeder is None else np.ascontiguousarray(sel[feeder].T),
                    feed_own=None if feeder is None else sel[feeder, tids],
                    feed_rows=None if feeder is None else rows[feeder],
                )
            )
        self._groups = groups
        return groups

    def _state(self) -> tuple[tuple[int, int, int, int, bytes], ...]:
        """What the inputs are read from besides time (pods, nodes, hosts, templates and
        replicas of every cluster with HPAs): while it stays the same, the inputs at a
        sync ahead are the ones forecast for it."""
        return tuple(
            [
                (
                    cs.cluster.changes,
                    cs.nodes.version,
                    cs.host_version(),
                    len(cs.cluster.templates),
                    cs.desired.tobytes(),
                )
                for cs in [g.state for g in self.groups()]
            ]
        )

    def _unchanged(
        self, now: float, expected: _HPAInputs | None, forecast: Forecast | None
    ) -> _HPAInputs | None:
        """The inputs forecast for the sync at ``now`` if nothing they are read from has
        changed since (they are then what :meth:`_inputs` would read), else None."""
        if expected is None or forecast is None or self._read != self._state():
            return None
        times = expected.times
        j = min(forecast.first, len(times) - 1)  # where it woke up, unless poked
        if times[j] != now:
            j = int(np.searchsorted(times, now - 1e-9))
            if j >= len(times) or times[j] != now:
                return None
        return _HPAInputs(
            expected.times[j : j + 1],
            expected.current,
            expected.request,
            expected.missing,
            expected.ready[j : j + 1],
            expected.unready[j : j + 1],
            expected.usage[j : j + 1],
        )

    def _inputs(self, now: float, times: FloatArray) -> _HPAInputs:
        """The inputs at the consecutive syncs ``times`` (the pods as they are at ``now``,
        those starting ready from the first sync at or after they finish)."""
        h, j = len(self.hpas), len(times)
        groups = self.groups()
        demand = self._demand(times)  # (J, S)
        if len(groups) == 1:
            direct = groups[0].feeder is not None
        else:
            direct = all(g.feeder is not None for g in groups)
        if len(groups) == 1 and groups[0].every and direct:  # the usual case: no scatter
            g = groups[0]
            cs = g.state
            current = cs.desired[g.deps]
            if self._inputs_pass is not None and len(g.rows):
                return self._compiled_inputs(g, now, times, demand, current)
            missing, ready, unready, usage = self._group_inputs(g, now, times, demand)
            return _HPAInputs(
                times, current, g.request, missing, _rows(ready, j), _rows(unready, j), usage
            )
        current = np.zeros(h, dtype=np.int64)
        request = np.zeros(h, dtype=np.int64)
        missing = np.zeros(h, dtype=np.int64)
        ready = np.zeros((j, h), dtype=np.int64)
        unready = np.zeros((j, h), dtype=np.int64)
        usage = np.zeros((j, h), dtype=np.int64)
        share = None if direct else np.zeros((j, h, len(self.ledger)))
        for g in groups:
            mine = g.mine
            current[mine] = g.state.desired[g.deps]
            request[mine] = g.request
            found = self._group_inputs(g, now, times, demand, share)
            missing[mine], ready[:, mine], unready[:, mine], usage[:, mine] = found
        if share is not None:  # services feeding several HPAs: summed as they always were
            usage = np.floor(np.einsum("jhs,js->jh", share, demand)).astype(np.int64)
        return _HPAInputs(times, current, request, missing, ready, unready, usage)

    def _compiled_inputs(
        self, g: _HPAGroup, now: float, times: FloatArray, demand: FloatArray, current: IntArray
    ) -> _HPAInputs:
        """:meth:`_inputs` of one group with every HPA, each fed by one service, by
        :func:`.kernels.inputs_pass` (the same as :meth:`_group_inputs`, J rows each)."""
        assert self._inputs_pass is not None and g.feed_sel is not None
        counts = g.state.pod_counts(now)
        j, h = len(times), len(g.tids)
        ready = np.empty((j, h), dtype=np.int64)
        unready = np.empty((j, h), dtype=np.int64)
        usage = np.empty((j, h), dtype=np.int64)
        missing = np.empty(h, dtype=np.int64)
        self._inputs_pass(
            times,
            counts.ready,
            counts.unready,
            counts.missing,
            counts.starting,
            counts.ready_at,
            g.tids,
            g.owned,
            g.feed_sel,
            g.feed_own,
            demand,
            g.feed_rows,
            ready,
            unready,
            usage,
            missing,
        )
        return _HPAInputs(times, current, g.request, missing, ready, unready, usage)

    @staticmethod
    def _group_inputs(
        g: _HPAGroup,
        now: float,
        times: FloatArray,
        demand: FloatArray,
        share: FloatArray | None = None,
    ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """For the HPAs of group ``g``: pods without metrics (H_c,), ready and unready pods
        (1 or J, H_c: one row when none is starting) and the CPU their services' demand puts
        on the ready ones (J, H_c; with ``share``, each service's share of it is written
        there instead, for a sum over services)."""
        j = len(times)
        counts = g.state.pod_counts(now)
        per_ready = counts.ready[None, :]  # (1 or J, T)
        unready = (counts.unready[g.tids] * g.owned)[None, :]
        if len(counts.starting):
            t = g.templates
            first = times.searchsorted(counts.ready_at - 1e-9)  # first sync seeing it
            grown = np.bincount(first * t + counts.starting, minlength=(j + 1) * t)
            became = grown.reshape(j + 1, t).cumsum(axis=0)[:j]  # (J, T)
            per_ready = per_ready + became
            unready = unready - became[:, g.tids]
        ready = per_ready[:, g.tids]
        missing = counts.missing[g.tids] * g.owned
        if not len(g.rows):
            return missing, ready, unready, np.zeros((j, len(g.tids)), dtype=np.int64)
        # a service's demand is shared by its ready pods: the HPA's pods take their part
        if share is not None:
            ready_s = per_ready @ g.sel.T  # (1 or J, S_c)
            served = g.sel_t * ready[:, None, :]
            part = served / np.maximum(ready_s, 1)[:, :, None]  # (1 or J, S_c, H_c)
            share[:, g.mine[:, None], g.rows[None, :]] = part.transpose(0, 2, 1)
            return missing, ready, unready, np.zeros((j, len(g.tids)), dtype=np.int64)
        # one service at most per HPA: its part alone (the others' are 0)
        assert g.feed_sel is not None and g.feed_own is not None and g.feed_rows is not None
        fed = per_ready @ g.feed_sel  # (1 or J, H_c) ready pods of each HPA's service
        part = (g.feed_own * ready) / np.maximum(fed, 1)
        usage = np.floor(part * demand[:, g.feed_rows]).astype(np.int64)
        return missing, ready, unready, usage

    def _demand(self, times: FloatArray) -> FloatArray:
        """(J, S) :meth:`DemandCurves.at_times` at consecutive syncs: from a block of the
        sync grid read at once, when the grid is in whole seconds (its times are then
        exactly ``k x sync``), else read directly."""
        demand = self.ledger.demand
        sync = self.sync
        first = float(times[0])
        if not self._whole_sync or not first.is_integer():
            return demand.at_times(times)
        k = int(first // sync)
        if k * sync != first:
            return demand.at_times(times)
        start, block = self._block
        if not (start <= k and k + len(times) <= start + len(block)):
            count = max(len(times), DEMAND_BLOCK_SYNCS)
            start, block = self._block = (k, demand.at_times((k + np.arange(count)) * sync))
        result: FloatArray = block[k - start : k - start + len(times)]
        return result

    def step(self, now: float) -> None:
        hpas = self.hpas
        start = grid_after(now, self.sync, strictly=self.last >= now)  # next sync not run
        if start >= self.plane.horizon:  # no sync left
            self.wake_at = math.inf
            return
        expected = self.expected
        if start > now and expected is not None:  # between syncs: does the forecast stand?
            j = int(np.searchsorted(expected.times, start - 1e-9))
            if j < len(expected.times) and (
                self._read == self._state()
                or expected.same_at(j, self._inputs(now, np.array([start])))
            ):
                return
        forecast = self.forecast
        self.forecast = self.expected = None
        # the sync the forecast found is due, with the inputs it had for it
        found = (
            start <= now
            and forecast is not None
            and expected is not None
            and forecast.final is not None
            and forecast.times[forecast.first] == now
            and self._read == self._state()
        )
        if forecast is not None and not found:  # (apply commits the syncs before it)
            hpas.commit(forecast, start)
        first = 0
        if start <= now:  # a sync is due now
            if found:
                assert forecast is not None and expected is not None
                current = expected.current
                out = hpas.apply(forecast, current)
            else:
                seen = self._unchanged(now, expected, forecast)
                x = seen if seen is not None else self._inputs(now, np.array([start]))
                current = x.current
                out = hpas.step(
                    now, current, x.ready[0], x.unready[0], x.missing, x.usage[0], x.request
                )
            self.last = now
            self.syncs += 1
            changed = (out != current).nonzero()[0]
            for h in changed.tolist():
                c, d = self._targets[h]
                self.plane.clusters[c].desired[d] = out[h]
                self.rescales += 1
            if len(changed):  # the replica sets act now and poke back: forecast then
                self.replicasets.poke()
                self.wake_at = now + self.sync
                return
            first = 1
        times: FloatArray = start + self._ahead
        if times[-1] >= self.plane.horizon:
            times = times[times < self.plane.horizon]
        if len(times) <= first:
            self.wake_at = math.inf
            return
        # the syncs ahead (the inputs of each depend on its own time only)
        ahead = self._inputs(now, times[first:])
        forecast = hpas.forecast(
            ahead.times,
            ahead.current,
            ahead.ready,
            ahead.unready,
            ahead.missing,
            ahead.usage,
            ahead.request,
        )
        self.forecast, self.expected = forecast, ahead
        self._read = self._state()
        self.wake_at = float(ahead.times[min(forecast.first, len(ahead.times) - 1)])
