"""Maintenance drains: cordon the target's hosts, move their VMs away a few hosts at a time,
maintain each emptied host and bring it back.

Every step is a calendar action (a drain's start, a move's stop and resume, a host's
return); every byte a move sends is a flow of the run's shared network. A VM holds its
place on both hosts while it moves (so no host is ever over its limit), stops for the
pause only (``vm_down``/``restart`` in the event log, reason ``maintenance <drain>``: the
availability ledger counts the downtime), and is then on its new host. A failure during a
move abandons it: the source's failure leaves the VM to local HA, the destination's sends
it back to run on the source; a link cut on its path reroutes it (the move is abandoned,
the VM runs on at the source and moves again at once over the route there is now, or stays
with reason ``no_route``). A VM mid-move is marked in ``platform.moving`` (no
resize while it holds two places). Uncordoning a host retries the VMs local HA holds for
room; a VM stopped for maintenance on a host that failed meanwhile is left to local HA.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import partial

import numpy as np
import numpy.typing as npt

from cloudsim.kernel import Context
from cloudsim.maintenance.migration import Move, MoveSpec
from cloudsim.maintenance.schema import Drain, Maintenance, SystemRule
from cloudsim.placement.request import Request
from cloudsim.platform.ha import STANDBY, Waiting
from cloudsim.records import EventKind, Outage
from cloudsim.scenario.faults import seconds_after
from cloudsim.state.hosts import PURPOSES
from cloudsim.world.inventory import make_request

CONTAINER = PURPOSES.index("container")
MIB = 2**20


@dataclass
class VMMove:
    """One VM a drain found on a target host, and what became of it."""

    drain: int
    vm: int
    row: int
    system: int
    flavor: int
    from_host: int
    to_host: int = -1
    method: str = "none"  # live, forced, cold, cold-fallback; none: not moved
    started: float = math.nan
    stopped: float = math.nan
    resumed: float = math.nan
    rounds: int = 0
    bytes: float = 0.0
    reason: str = ""  # why it did not move (empty: it moved)
    served: bool = False  # stopped in a centre serving its system (its stop may cost service)
    move: Move | None = None
    request: Request | None = None


@dataclass
class HostWork:
    """One target host being drained."""

    host: int
    queue: deque[VMMove] = field(default_factory=deque)
    moving: list[VMMove] = field(default_factory=list)
    stuck: list[VMMove] = field(default_factory=list)
    stopped: list[VMMove] = field(default_factory=list)
    emptied: float = math.nan


@dataclass
class DrainState:
    """One drain of a run."""

    index: int
    spec: Drain
    start: float
    hosts: list[int]
    label: str
    pending: deque[int] = field(default_factory=deque)
    active: dict[int, HostWork] = field(default_factory=dict)
    vms: list[VMMove] = field(default_factory=list)
    hosts_done: int = 0
    #: Hosts left with VMs that could not move (not maintained, or still holding them).
    hosts_not_emptied: int = 0
    evacuated: float = math.nan
    end: float = math.nan
    #: Per system at the drain's start: VMs running in centres serving it (plus those stopped
    #: by maintenance then) minus those required: how many maintenance may stop at once
    #: without an outage.
    headroom: dict[int, int] = field(default_factory=dict)
    #: (system, stop, resume, served) of every VM the drain stopped (served: in a centre
    #: serving its system then; a standby's stop costs no service).
    stops: list[tuple[int, float, float, bool]] = field(default_factory=list)


class Drains:
    """Every drain of a run (the maintenance module's controller)."""

    def __init__(self, ctx: Context, spec: Maintenance) -> None:
        self.ctx = ctx
        self.spec = spec
        self.hosts = ctx.hosts
        self.platform = ctx.platform
        self.vms = ctx.platform.vms
        self.ha = ctx.platform.ha
        self.placer = ctx.platform.placer
        self.links = ctx.links
        self.schedule: Callable[[float, Callable[[float], None]], None] = ctx.calendar.schedule
        self.record = ctx.recorder.event
        world = ctx.world
        self.systems = world.scenario.systems
        self.rules: list[SystemRule | None] = [
            next((r for r in spec.systems if fnmatchcase(s.name, r.match)), None)
            for s in self.systems
        ]
        centres = {name: i for i, name in enumerate(self.hosts.datacenter_names)}
        self.move_to = [
            tuple(centres[c] for c in rule.move_to) if rule is not None else ()
            for rule in self.rules
        ]
        self.pinned = np.array(
            [any(g.hosts is not None for g in s.vms) for s in self.systems], dtype=np.bool_
        )
        #: Drains holding each host cordoned (overlapping drains lift it when both are done).
        self.cordons = np.zeros(self.hosts.size, dtype=np.int64)
        #: Per system: VMs stopped by maintenance now (every drain).
        self.stopped_now = np.zeros(len(self.systems), dtype=np.int64)
        #: Centres with standby pools (where a standby VM may go).
        self.standby_centres = tuple(
            sorted(set(self.hosts.datacenter[self.hosts.purpose == STANDBY].tolist()))
        )
        self.drains: list[DrainState] = []
        for i, drain in enumerate(spec.drains):
            component = world.catalog.resolve(drain.target)
            hosts = world.catalog.hosts_of(component.kind, component.index)
            start = seconds_after(drain.start, world.scenario.meta.start)
            self.drains.append(
                DrainState(
                    i, drain, start, sorted(int(h) for h in hosts), f"maintenance {drain.name}"
                )
            )
        ctx.bus.subscribe("outage", self._outage)

    # -- the run ----------------------------------------------------------------------------
    def start(self) -> None:
        m = self.spec.migration
        names = self.hosts.datacenter_names
        gbps = np.array([m.lan_bandwidth_by_centre.get(n, m.lan_bandwidth) for n in names])
        self.links.set_lan(gbps * 1e9 / 8, np.full(len(names), m.lan_rtt), 0.0)
        for drain in self.drains:
            self.schedule(drain.start, partial(self._begin, drain))

    def _begin(self, drain: DrainState, time: float) -> None:
        self.cordons[drain.hosts] += 1
        self.hosts.set_cordoned(drain.hosts, True)
        running = self._running_per_system(time) + self.stopped_now
        required = self.ctx.recorder.rules.required
        drain.headroom = {s: int(running[s] - required[s]) for s in range(len(self.systems))}
        drain.pending = deque(drain.hosts)
        self._fill(drain, time)

    def _running_per_system(self, time: float) -> npt.NDArray[np.int64]:
        """Running VMs per system in centres serving it at ``time`` (as the ledger counts:
        a warm standby or a copy in a centre not serving does not keep a system up)."""
        vms = self.vms
        live = np.flatnonzero(vms.live)
        waiting = {w.row for w in self.ha.waiting.values()}
        rows = np.array([r for r in live.tolist() if r not in waiting], dtype=np.int64)
        system = vms.ints["system"][rows]
        served = self._serving(time)[system, self.hosts.datacenter[vms.ints["host"][rows]]]
        return np.bincount(system[served], minlength=len(self.systems)).astype(np.int64)

    def _serving(self, time: float) -> npt.NDArray[np.bool_]:
        """(system, centre): whether the centre serves the system at ``time`` (every centre
        without a serving log)."""
        log = self.ctx.recorder.serving
        n_c = len(self.hosts.datacenter_names)
        if log is None:
            return np.ones((len(self.systems), n_c), dtype=np.bool_)
        serving = log.initial.copy()
        for t, system, centre, value in log.changes:
            if t <= time:
                serving[system, centre] = value
        return serving

    def _fill(self, drain: DrainState, time: float) -> None:
        while drain.pending and len(drain.active) < drain.spec.parallel:
            self._host_begin(drain, drain.pending.popleft(), time)
        if not drain.pending and not drain.active and math.isnan(drain.end):
            drain.end = time

    # -- one host ---------------------------------------------------------------------------
    def _host_begin(self, drain: DrainState, host: int, time: float) -> None:
        work = HostWork(host)
        drain.active[host] = work
        vms = self.vms
        moving = {m.row for d in self.drains for w in d.active.values() for m in w.moving}
        waiting = {w.row for w in self.ha.waiting.values()}
        rows = np.flatnonzero(vms.live & (vms.ints["host"] == host)).tolist()
        for row in rows:
            if row in waiting or row in moving:
                continue
            vm = VMMove(
                drain.index, int(vms.ints["vm_id"][row]), row, int(vms.ints["system"][row]),
                int(vms.ints["flavor"][row]), host,
            )  # fmt: skip
            drain.vms.append(vm)
            reason = self._refusal(vm)
            if reason:
                vm.reason = reason
                work.stuck.append(vm)
            else:
                work.queue.append(vm)
        self._next_moves(drain, work, time)

    def _refusal(self, vm: VMMove) -> str:
        """Why a VM may not move at all (empty: it may)."""
        if int(self.hosts.purpose[vm.from_host]) == CONTAINER:
            return "container_node"
        if self.pinned[vm.system]:
            return "pinned"
        rule = self.rules[vm.system]
        if rule is not None and rule.method == "refuse":
            return "policy"
        return ""

    def _next_moves(self, drain: DrainState, work: HostWork, time: float) -> None:
        per_host = self.spec.migration.per_host
        while work.queue and len(work.moving) < per_host:
            vm = work.queue.popleft()
            if self._alive(vm) and self._start_move(drain, work, vm, time):
                work.moving.append(vm)
        if not work.queue and not work.moving:
            self._host_emptied(drain, work, time)

    def _alive(self, vm: VMMove) -> bool:
        vms = self.vms
        if vms.live[vm.row] and int(vms.ints["vm_id"][vm.row]) == vm.vm:
            return True
        vm.reason = vm.reason or "deleted"
        return False

    def _request(self, vm: VMMove, centres: tuple[int, ...]) -> Request:
        """A request for the VM in ``centres``; away from its system's own centres (a
        ``move_to`` centre) or off a standby host, standby pools may take it too."""
        profile = self.platform.profiles[vm.system]
        req = make_request(profile, self.vms.demand[:, vm.row].copy(), centres)
        away = any(c not in profile.datacenters for c in centres)
        if away or int(self.hosts.purpose[vm.from_host]) == STANDBY:
            req = replace(req, purposes=(*req.purposes, STANDBY))
        return req

    def _destination(self, vm: VMMove) -> tuple[int, Request | None, str]:
        """Where the placer puts the VM (its own centre first, then the other centres its
        system may use) and the request it was committed with; else -1 and the reason.

        A standby VM (on a standby host, or in a centre that is not one of its system's own:
        a warm standby or a disaster-recovery copy) stays out of production: its own centre
        or another centre with standby pools, else it does not move (``standby``)."""
        own = int(self.hosts.datacenter[vm.from_host])
        profile = self.platform.profiles[vm.system]
        standby = int(self.hosts.purpose[vm.from_host]) == STANDBY or own not in profile.datacenters
        if standby:
            others = tuple(
                c for c in self.standby_centres if c != own and c not in profile.datacenters
            )
        else:
            others = tuple(c for c in (*profile.datacenters, *self.move_to[vm.system]) if c != own)
        reason = ""
        for centres in ((own,), tuple(dict.fromkeys(others))):
            if not centres:
                continue
            req = self._request(vm, centres)
            host = self.placer.place(req)
            if host >= 0:
                return host, req, ""
            reason = self.placer.reject_reason(req)
        if standby and not others:
            reason = "standby"  # no other standby centre: never moved into production
        elif self._only_cordoned(self._request(vm, (own, *dict.fromkeys(others)))):
            # every host it may use is drained: in its only centre, or in all of them
            reason = "all_centres_cordoned" if others else "no_other_centre"
        return -1, None, reason

    def _only_cordoned(self, req: Request) -> bool:
        """Every running host of the request's centre, zone, architecture and pools is
        cordoned (so the placer's reason, a filter after the cordon, would mislead)."""
        h = self.hosts
        fit = h.up & np.isin(h.datacenter, req.datacenters) & (h.zone == req.zone)
        fit &= np.isin(h.purpose, req.purposes)
        if req.arch >= 0:
            fit &= h.arch == req.arch
        return bool(fit.any() and h.cordoned[fit].all())

    def _start_move(self, drain: DrainState, work: HostWork, vm: VMMove, time: float) -> bool:
        host, req, reason = self._destination(vm)
        if host < 0:
            vm.reason = reason
            work.stuck.append(vm)
            return False
        m = self.spec.migration
        rule = self.rules[vm.system]
        a, b = int(self.hosts.datacenter[vm.from_host]), int(self.hosts.datacenter[host])
        path = self.links.path(a, b)
        if path is None or self._cut(path.links):
            self.placer.release(host, self.vms.demand[:, vm.row].copy(), vm.system)
            vm.reason = "no_route"
            work.stuck.append(vm)
            return False
        dirty = (
            rule.dirty_rate if rule is not None and rule.dirty_rate is not None else m.dirty_rate
        )
        demand = self.vms.demand[:, vm.row]
        spec = MoveSpec(
            links=path.links,
            limit=m.max_bandwidth * 1e9 / 8,
            rtt=path.rtt_s,
            memory=float(demand[1]) * MIB,
            dirty_rate=dirty * 1e9 / 8,
            disk=float(demand[2]) * 1e9 if a != b and m.storage_between_centres == "copy" else 0.0,
            target=m.downtime_target,
            max_rounds=m.max_rounds,
            switchover=m.switchover,
            restart_time=m.restart_time,
            live=rule is None or rule.method == "live",
            cold_fallback=m.on_non_convergence == "cold",
        )
        vm.to_host = host
        vm.request = req
        vm.started = time
        self.platform.moving.add(vm.row)
        vm.move = Move(
            spec,
            self.links.network,
            self.schedule,
            partial(self._stopped, drain, work, vm),
            partial(self._moved, drain, work, vm),
        )
        vm.move.start(time)
        return True

    def _stopped(self, drain: DrainState, work: HostWork, vm: VMMove, time: float) -> None:
        """The VM stops for its pause (or for a cold move)."""
        if not self._alive(vm):
            self._abandon(drain, work, vm, time, resume=False)
            return
        vm.stopped = time
        self._stop_vm(drain, vm, vm.from_host, time)

    def _stop_vm(self, drain: DrainState, vm: VMMove, host: int, time: float) -> None:
        self.ha.waiting[vm.vm] = Waiting(vm.row, host, time, "restarting")
        vm.served = bool(self._serving(time)[vm.system, int(self.hosts.datacenter[host])])
        self.stopped_now[vm.system] += vm.served
        self.record(
            time, EventKind.VM_DOWN, system=vm.system, vm=vm.vm, host=host, flavor=vm.flavor,
            reason=drain.label,
        )  # fmt: skip

    def _resume_vm(self, drain: DrainState, vm: VMMove, host: int, time: float) -> None:
        self.ha.waiting.pop(vm.vm, None)
        self.stopped_now[vm.system] -= vm.served
        self.record(
            time, EventKind.RESTART, system=vm.system, vm=vm.vm, host=host, flavor=vm.flavor,
            reason=drain.label,
        )  # fmt: skip
        drain.stops.append((vm.system, vm.stopped, time, vm.served))

    def _moved(self, drain: DrainState, work: HostWork, vm: VMMove, time: float) -> None:
        """The VM runs at its destination: the source's place is given back."""
        move = vm.move
        assert move is not None
        if not self._alive(vm):  # deleted by its tenant while stopped
            self.stopped_now[vm.system] -= vm.served
            self._abandon(drain, work, vm, time, resume=False)
            return
        self.platform.moving.discard(vm.row)
        self.placer.release(vm.from_host, self.vms.demand[:, vm.row].copy(), vm.system)
        self.vms.ints["host"][vm.row] = vm.to_host
        self.vms.ints["datacenter"][vm.row] = int(self.hosts.datacenter[vm.to_host])
        vm.resumed = time
        vm.method = move.result.method
        vm.rounds += move.result.rounds
        vm.bytes += move.result.bytes
        vm.move = None
        self._resume_vm(drain, vm, vm.to_host, time)
        work.moving.remove(vm)
        self._next_moves(drain, work, time)

    def _abandon(
        self,
        drain: DrainState,
        work: HostWork,
        vm: VMMove,
        time: float,
        *,
        resume: bool,
        retry: bool = False,
    ) -> None:
        """Give up a move: the destination's place is given back; ``resume``: the stopped
        VM runs again on its source; ``retry``: it is queued again at once (a new move over
        the route there is now)."""
        if vm.move is not None:
            vm.bytes += vm.move.result.bytes
            vm.rounds += vm.move.result.rounds
            vm.move.cancel(time)
            vm.move = None
        self.platform.moving.discard(vm.row)
        assert vm.request is not None
        self.placer.release(vm.to_host, vm.request.demand, vm.system)
        vm.to_host = -1
        if resume and not math.isnan(vm.stopped):
            self._resume_vm(drain, vm, vm.from_host, time)
        if vm in work.moving:
            work.moving.remove(vm)
        if retry:
            vm.reason = ""
            work.queue.appendleft(vm)
        elif vm.reason not in ("deleted", "source_failed"):
            work.stuck.append(vm)
        self._next_moves(drain, work, time)

    def _host_emptied(self, drain: DrainState, work: HostWork, time: float) -> None:
        """Every VM that could go has gone: maintain the host (or skip it)."""
        work.emptied = time
        if not drain.pending and all(not math.isnan(w.emptied) for w in drain.active.values()):
            drain.evacuated = time
        duration = drain.spec.duration
        stuck = [vm for vm in work.stuck if self._alive(vm) and vm.vm not in self.ha.waiting]
        # a container cloud's node VM is drained by Kubernetes, not stopped under its pods
        nodes = any(vm.reason == "container_node" for vm in stuck)
        if duration is None or (stuck and drain.spec.unmovable == "skip") or nodes:
            if stuck:
                drain.hosts_not_emptied += 1
            # an evacuation keeps its hosts cordoned; a skipped host goes back to service
            self._host_done(drain, work, time, uncordon=duration is not None, maintained=not stuck)
            return
        for vm in stuck:
            vm.stopped = time
            self._stop_vm(drain, vm, work.host, time)
            work.stopped.append(vm)
        self.schedule(time + duration, partial(self._host_back, drain, work))

    def _host_back(self, drain: DrainState, work: HostWork, time: float) -> None:
        """The maintenance is over: the VMs stopped for it run again on the host; a host
        that failed meanwhile leaves them to local HA, as VMs of a failed host."""
        up = bool(self.hosts.up[work.host])
        for vm in work.stopped:
            if not (self._alive(vm) and vm.vm in self.ha.waiting):
                self.stopped_now[vm.system] -= vm.served  # deleted by its tenant meanwhile
                continue
            if up:
                self._resume_vm(drain, vm, work.host, time)
                vm.resumed = time
            else:
                vm.reason = "host_failed"
                self._to_ha(drain, vm, time)
        self._host_done(drain, work, time, uncordon=True)

    def _to_ha(self, drain: DrainState, vm: VMMove, time: float) -> None:
        """A VM stopped by the drain whose host failed: its stop ends here, local HA
        restarts it elsewhere as a VM of a failed host (or waits for room)."""
        w = self.ha.waiting[vm.vm]
        self.stopped_now[vm.system] -= vm.served
        drain.stops.append((vm.system, vm.stopped, time, vm.served))
        if self.ha.settings.enabled:
            w.state = "restarting"
            self.schedule(time + self.ha.settings.restart_time, partial(self.ha.attempt, [vm.vm]))
        else:
            w.state = "pending"  # restarts in place when its host is repaired
        limit = self.ha.settings.give_up_after
        if limit is not None:  # as for a VM its host's failure stopped: lost if still waiting
            self.schedule(max(time, w.since + limit), partial(self.ha.give_up, [vm.vm]))

    def _host_done(
        self,
        drain: DrainState,
        work: HostWork,
        time: float,
        *,
        uncordon: bool,
        maintained: bool = True,
    ) -> None:
        """The host is finished with (``maintained``: emptied and patched, else skipped or
        left holding VMs); ``uncordon``: back in service, and what waits for room is retried."""
        if uncordon:
            self.cordons[work.host] -= 1
            if not self.cordons[work.host]:
                self.hosts.set_cordoned([work.host], False)
                self.ha.hosts_up(np.array([work.host], dtype=np.int64), time)
        del drain.active[work.host]
        if maintained:
            drain.hosts_done += 1
        self._fill(drain, time)

    # -- failures ---------------------------------------------------------------------------
    def _outage(self, change: str, outage: Outage, time: float) -> None:
        """A failure began or ended: the links' capacities, and moves whose hosts fell."""
        if outage.effect == "corrupt":
            return
        self.links.refresh(time)
        up = self.hosts.up
        for drain in self.drains:
            for work in list(drain.active.values()):
                for vm in list(work.moving):
                    if not up[vm.from_host]:
                        vm.reason = "source_failed"
                        stopped = not math.isnan(vm.stopped)
                        self._abandon(drain, work, vm, time, resume=False)
                        if stopped:  # local HA takes it from here, as a VM of a failed host
                            self._to_ha(drain, vm, time)
                    elif not up[vm.to_host]:
                        vm.reason = "destination_failed"
                        self._abandon(drain, work, vm, time, resume=True)
                    elif vm.move is not None and self._cut(vm.move.spec.links):
                        # rerouted: the VM runs on at its source and moves again at once
                        # over the route there is now (``no_route`` if none)
                        self._abandon(drain, work, vm, time, resume=True, retry=True)

    def _cut(self, links: tuple[int, ...]) -> bool:
        """A link of a transfer carries nothing now (a cut, or a centre with no host up)."""
        capacity = self.links.network.capacity
        return any(capacity[k] <= 0 for k in links)

    def finish(self, horizon: float) -> None:
        """Close the stops still open at the horizon."""
        for drain in self.drains:
            for work in drain.active.values():
                for vm in (*work.moving, *work.stopped):
                    if not math.isnan(vm.stopped) and math.isnan(vm.resumed):
                        drain.stops.append((vm.system, vm.stopped, horizon, vm.served))
