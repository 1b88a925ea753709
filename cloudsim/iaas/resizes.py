"""Resizes of running cloud hosts: a Poisson stream of requests, applied in place.

``workload.resizes`` asks for ``per_day`` resizes a day in all, ``per_system_per_day`` for
each selected system, or ``share_per_day`` of the live cloud hosts a day. Each request is
for a cloud host chosen uniformly among the *tenants'* running cloud hosts (declared or
requested; not the container cloud's nodes nor VMs disaster recovery created) of the
selected systems (of its own system, per system). With ``share_per_day`` the rate
follows the live count N(t), which only the run knows: the stream is drawn at once, by
thinning, at the rate ``share x B(t)`` with ``B(t)`` the declared cloud hosts plus those
requested by ``t`` (known from the request stream, and never less than N(t)), and the run
keeps a candidate with probability N(t) / B(t) — exactly a Poisson stream of rate
``share x N(t)``. Every draw comes from the ``resizes`` stream, so adding resizes changes
nothing else.

The target flavor is ``steps`` places up (probability ``up``) or down the flavors ordered
by vCPUs, memory, disk and network; past either end the request is refused ``no_flavor``;
otherwise :meth:`~cloudsim.platform.Platform.resize` applies it or says why not
(``quota_*``, ``host_full_*``, ``host_down``). No migration on resize: a cloud host whose
own host lacks room is refused (a cold migration would stop it, which the tenant asked for
no more than a resize).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.iaas.requests import RequestStream
from cloudsim.kernel import Context
from cloudsim.records import EventKind
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ResizeStream:
    """Column arrays, one row per candidate request (in time order)."""

    time: FloatArray
    keep: FloatArray  # uniform: kept when below N(t) / bound(t) (share_per_day)
    pick: FloatArray  # uniform: which of the eligible cloud hosts
    up: BoolArray  # up or down the flavor order
    bound: FloatArray  # B(t) at each candidate (0: no thinning)
    system: IntArray  # whose cloud host (-1: any selected system's)

    def __len__(self) -> int:
        return len(self.time)


def _empty() -> ResizeStream:
    z = np.zeros(0)
    return ResizeStream(z, z, z, np.zeros(0, dtype=np.bool_), z, np.zeros(0, dtype=np.int64))


def selected_systems(scenario: Scenario) -> BoolArray:
    """Per system: whether its cloud hosts are resized."""
    spec = scenario.workload.resizes
    names = [s.name for s in scenario.systems]
    chosen = np.zeros(len(names), dtype=np.bool_)
    if spec is None:
        return chosen
    if spec.systems is None:
        chosen[:] = True
    else:
        chosen[[names.index(x) for x in spec.systems]] = True
    return chosen


def resize_stream(
    scenario: Scenario, requests: RequestStream, rng: np.random.Generator
) -> ResizeStream:
    """Draw every candidate resize of a run from ``rng`` (see the module docstring)."""
    spec = scenario.workload.resizes
    horizon = scenario.meta.horizon
    if spec is None:
        return _empty()
    system = np.zeros(0, dtype=np.int64)
    if spec.per_day is not None:
        n = int(rng.poisson(spec.per_day * horizon / DAY))
        times = np.sort(rng.uniform(0.0, horizon, size=n))
        bound = np.zeros(n)
    elif spec.per_system_per_day is not None:
        members = np.flatnonzero(selected_systems(scenario))
        counts = rng.poisson(spec.per_system_per_day * horizon / DAY, size=len(members))
        system = np.repeat(members, counts).astype(np.int64)
        raw = rng.uniform(0.0, horizon, size=len(system))
        by_time = np.argsort(raw, kind="stable")
        times, system = raw[by_time], system[by_time]
        n = len(times)
        bound = np.zeros(n)
    else:
        assert spec.share_per_day is not None
        chosen = selected_systems(scenario)
        declared = sum(s.vm_count for s, keep in zip(scenario.systems, chosen, strict=True) if keep)
        mine = chosen[requests.system] if len(requests) else np.zeros(0, dtype=np.bool_)
        knots = np.concatenate([[0.0], requests.time[mine], [horizon]])
        steps = declared + np.concatenate([[0], np.cumsum(requests.count[mine])])
        rate = spec.share_per_day / DAY
        # Λ(t) of the bound's rate: piecewise linear between the knots
        cumulative = np.concatenate([[0.0], np.cumsum(rate * steps * np.diff(knots))])
        total = float(cumulative[-1])
        n = int(rng.poisson(total)) if total > 0 else 0
        marks = np.sort(rng.uniform(0.0, total, size=n))
        times = np.interp(marks, cumulative, knots)
        segment = np.minimum(np.searchsorted(cumulative, marks, side="right") - 1, len(steps) - 1)
        bound = steps[np.maximum(segment, 0)].astype(np.float64)
    keep = rng.random(n)
    pick = rng.random(n)
    up = rng.random(n) < spec.up
    if not len(system):
        system = np.full(n, -1, dtype=np.int64)
    return ResizeStream(times, keep, pick, up, bound, system)


def flavor_order(scenario: Scenario) -> tuple[IntArray, IntArray]:
    """Flavor indices from smallest to largest (vCPUs, memory, disk, network, name), and
    each flavor's place in that order."""
    flavors = scenario.flavors
    order = sorted(
        range(len(flavors)),
        key=lambda i: (
            flavors[i].vcpus,
            flavors[i].memory,
            flavors[i].disk,
            flavors[i].network_mbps,
            flavors[i].name,
        ),
    )
    place = np.empty(len(flavors), dtype=np.int64)
    place[order] = np.arange(len(flavors))
    return np.array(order, dtype=np.int64), place


def target_flavor(order: IntArray, place: IntArray, flavor: int, up: bool, steps: int) -> int:
    """The flavor ``steps`` places up or down from ``flavor`` (-1: none)."""
    at = int(place[flavor]) + (steps if up else -steps)
    return int(order[at]) if 0 <= at < len(order) else -1


def is_thinned_out(keep: float, live: int, bound: float) -> bool:
    """Whether a ``share_per_day`` candidate is dropped (kept with probability N / B;
    ``bound`` 0: a ``per_day`` request, never dropped)."""
    return bound > 0 and keep * bound >= live


class Resizer:
    """Replays a run's resize stream against the platform and counts the outcomes."""

    def __init__(self, ctx: Context, requests: RequestStream) -> None:
        scenario = ctx.world.scenario
        self.spec = scenario.workload.resizes
        self.enabled = self.spec is not None
        self.platform = ctx.platform
        self.hosts = ctx.hosts
        self.stream = resize_stream(scenario, requests, ctx.stream("resizes"))
        self.selected = selected_systems(scenario)
        self.order, self.place = flavor_order(scenario)
        self.pool_names = ctx.hosts.pool_names
        self.department_names = [d.name for d in scenario.departments]
        #: Per VM row: the vm_id of the tenant's cloud host it holds (-1: none).
        self._tenant = np.full(len(self.platform.vms.live), -1, dtype=np.int64)
        self._next = 0
        self.candidates = 0
        self.without_cloud_host = 0
        self.outcomes: Counter[str] = Counter()  # "" accepted, else the reason
        self.directions: Counter[str] = Counter()  # accepted up / down
        self.by_pool: dict[str, Counter[str]] = {}
        self.by_department: dict[str, Counter[str]] = {}

    @property
    def next_time(self) -> float:
        """When the next candidate is due (inf: none left)."""
        s = self.stream
        return float(s.time[self._next]) if self._next < len(s) else math.inf

    def adopt(self, rows: IntArray) -> None:
        """The tenant's new cloud hosts (their rows now)."""
        if not len(rows):
            return
        vms = self.platform.vms
        if len(self._tenant) < len(vms.live):
            grown = np.full(len(vms.live), -1, dtype=np.int64)
            grown[: len(self._tenant)] = self._tenant
            self._tenant = grown
        self._tenant[rows] = vms.ints["vm_id"][rows]

    def eligible(self, system: int = -1) -> IntArray:
        """Rows of the tenants' running cloud hosts of the selected systems (of ``system``
        only, unless -1)."""
        vms = self.platform.vms
        n = len(self._tenant)
        ints = vms.ints
        mine = vms.live[:n] & (self._tenant == ints["vm_id"][:n])
        if system >= 0:
            mine &= ints["system"][:n] == system
        else:
            mine &= self.selected[np.maximum(ints["system"][:n], 0)]
        return np.flatnonzero(mine).astype(np.int64)

    def due(self, time: float) -> None:
        """The next candidate: thinned, or a resize of one eligible cloud host."""
        s = self.stream
        j = self._next
        self._next += 1
        self.candidates += 1
        rows = self.eligible(int(s.system[j]))
        if is_thinned_out(float(s.keep[j]), len(rows), float(s.bound[j])):
            return
        if not len(rows):
            self.without_cloud_host += 1
            return
        assert self.spec is not None
        row = int(rows[min(int(float(s.pick[j]) * len(rows)), len(rows) - 1)])
        ints = self.platform.vms.ints
        up = bool(s.up[j])
        current = int(ints["flavor"][row])
        host = int(ints["host"][row])
        target = target_flavor(self.order, self.place, current, up, self.spec.steps)
        if target < 0:
            reason = "no_flavor"
            self.platform.record(
                time, EventKind.RESIZE_REFUSED, system=int(ints["system"][row]), count=1,
                host=host, vm=int(ints["vm_id"][row]), flavor=current, reason=reason,
            )  # fmt: skip
        else:
            reason = self.platform.resize(row, target, time)
        outcome = reason or "accepted"
        self.outcomes[outcome] += 1
        if not reason:
            self.directions["up" if up else "down"] += 1
        pool = self.pool_names[int(self.hosts.pool[host])]
        department = self.department_names[int(ints["department"][row])]
        self.by_pool.setdefault(pool, Counter())[outcome] += 1
        self.by_department.setdefault(department, Counter())[outcome] += 1

    def summary(self) -> dict[str, Any]:
        """Requests, accepted (up/down) and refused by reason, per pool and department."""
        accepted = self.outcomes["accepted"]
        refused = {k: v for k, v in sorted(self.outcomes.items()) if k != "accepted"}
        requests = accepted + sum(refused.values())
        return {
            "requests": requests,
            "accepted": accepted,
            "accepted_up": self.directions["up"],
            "accepted_down": self.directions["down"],
            "refused": sum(refused.values()),
            "refused_by_reason": refused,
            "without_cloud_host": self.without_cloud_host,
            "by_pool": {k: dict(sorted(v.items())) for k, v in sorted(self.by_pool.items())},
            "by_department": {
                k: dict(sorted(v.items())) for k, v in sorted(self.by_department.items())
            },
        }
