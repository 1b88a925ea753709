"""The DR controller: replication, detection, policies and failover mechanics.

Ground truth and bookkeeping it keeps per business system:

- **primaries**: centres the controller made primary (home centres at the start);
  **fenced**: centres told to stop writes; **alone**: sides of an active-active pair that
  a decision let go on without their peer;
- **writable** (the truth): an active-active pair in sync (both primaries alive, unfenced,
  interconnect round trip within ``dr.sync_rtt_limit_ms``, no decision has split them)
  writes on both sides. Otherwise, *with a witness*, only the holder of the **witness
  lock** writes: a single primary holds it from the start; a failover, a fence's surviving
  side or a side going on alone must take it, which fails while another centre holds it
  validly (alive and in touch with the witness, or with every other voter of its system);
  *without a witness*, a side of a pair out of sync freezes until a decision lets it go on
  alone, and every other primary writes. A pair that loses sync therefore freezes its
  writes until a policy decides;
- **serving** = writable: the ledger counts a system's running VMs in serving centres;
- **split-brain** (truth): two or more writable centres not in sync with each other —
  impossible with a witness; without one it lasts until the older primary can reach the
  newer one and stands down (the newest decision wins; the loser's writes are discarded
  at failback and recorded as lost).

Mechanics of the actions (:mod:`cloudsim.dr.observation`): ``FailOver`` to the other side
of an active-active pair continues there alone (scale-out through the placer when that side
runs fewer VMs than the system needs); to a remote standby it promotes the warm standby
(resize) or creates the cold one through the placer (standby pools), then redirects
traffic; a corrupted or backup-only system is restored from its backup (size / restore
bandwidth) first. The side left behind is deposed if it is dead or can be told (over the
heartbeat channel). ``Fence`` stops a centre's writes when it can be reached (or, with a
witness, as it loses quorum). ``FailBack`` resyncs what was written away from home (or by
the side that went on alone), then returns the system to its own centres. ``Shed`` stops a
system's VMs in a centre to free room (they come back at failback). A decision that cannot
be carried out (target down, lock held elsewhere, no backup) is recorded once.

One simpy process: the replication tick. Everything else is an action on the kernel's
calendar (detections, decisions' completions, timers); failures reach it on the bus.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np
import simpy

from cloudsim.dr.capacity import RecoveryCapacity, triple
from cloudsim.dr.control.authority import WriteAuthority, peer_of, sync_pair
from cloudsim.dr.control.log import DecisionLog
from cloudsim.dr.control.settlement import Settlement
from cloudsim.dr.detection import HeartbeatMonitors, Monitor
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.observation import (
    Action,
    FailBack,
    FailOver,
    FailOverCentre,
    Fence,
    HeartbeatView,
    Observation,
    Resources,
    Shed,
    SystemStatus,
    Wait,
    action_problem,
)
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.policies import FailoverPolicy, make_policy
from cloudsim.dr.replication import Replication, last_backup_start
from cloudsim.dr.state import SystemState
from cloudsim.kernel import Context
from cloudsim.records import Decision, EventKind, Outage, PolicyFailure
from cloudsim.scenario.dr import DR
from cloudsim.scenario.faults import witness_name
from cloudsim.world.inventory import deal_datacenters

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
#: Policy failures kept in full (all are counted).
MAX_FAILURES_KEPT = 200


class DRController:
    """Disaster recovery of one run with a ``dr`` section (see the module docstring)."""

    def __init__(self, ctx: Context, spec: DR, plans: list[SystemPlan]) -> None:
        self.ctx = ctx
        self.world = ctx.world
        self.spec = spec
        self.schedule = ctx.calendar.schedule
        self.hosts = ctx.hosts
        self.platform = ctx.platform
        self.ha = ctx.platform.ha
        self.recorder = ctx.recorder
        self.record_event = ctx.recorder.event
        self.centres: tuple[str, ...] = self.hosts.datacenter_names
        self.n_centres = len(self.centres)
        self.plans = plans
        self.systems = [
            SystemState(p, set(p.home) if p.mode != "none" else set(range(self.n_centres)))
            for p in self.plans
        ]
        site = ctx.world.witness_site
        self.witness: str | None = witness_name(site) if site is not None else None
        self.net = NetworkTruth(ctx.world, self.hosts, ctx.components, spec, self.witness, site)
        self.authority = WriteAuthority(self.net)
        self.capacity = RecoveryCapacity(ctx.world, self.platform, self.plans)
        monitored: set[int] = set()
        for p in self.plans:
            if p.mode == "none":
                continue
            monitored.update(p.home)
            monitored.update(c for c in (p.standby_dc, p.async_to, p.restore_to) if c >= 0)
        self.monitored = tuple(sorted(monitored))
        nodes = [self.centres[c] for c in self.monitored]
        if self.witness is not None:
            nodes.append(self.witness)
        self.monitors = HeartbeatMonitors(
            nodes, self.spec.heartbeat, ctx.stream("detection"), self.schedule, self._observed
        )
        failover_rng, failback_rng = ctx.stream("policies").spawn(2)
        self.failover_name = self.spec.failover.name
        self.failback_name = self.spec.failback.name
        self.failover_policy: FailoverPolicy = make_policy(
            self.failover_name, self.spec.failover.params, failover_rng
        )
        self.failback_policy: FailoverPolicy = make_policy(
            self.failback_name, self.spec.failback.params, failback_rng
        )
        self.log = DecisionLog(
            ctx.world,
            self.hosts,
            self.net,
            self.monitors,
            ctx.recorder.outages,
            ctx.recorder.decisions,
        )
        self.repl = Replication(
            np.array([p.write_rate for p in self.plans]), [p.shape for p in self.plans]
        )
        self.records: list[Decision] = ctx.recorder.decisions
        self.policy_failures: list[PolicyFailure] = []
        self.policy_failure_count = 0
        self.settlement = Settlement(
            self.systems, self.net, self.authority, self.repl, self.log, ctx.recorder, self._reroute
        )
        ctx.recorder.serving = self.settlement.serving
        self.lag_sum = np.zeros(len(self.plans))
        self.lag_max = np.zeros(len(self.plans))
        self.lag_samples = np.zeros(len(self.plans), dtype=np.int64)
        self.last_lag = np.zeros(len(self.plans))
        self.decisions = 0
        self.ticks = 0
        self._timers: set[float] = set()
        #: Bytes dropped from the queues: charged to a record as data lost, or absorbed in a
        #: loss recorded another way (a restore's backup window, the async queue's copy).
        self.charged_bytes = 0.0
        self.absorbed_bytes = 0.0
        self._progress_at: set[float] = set()
        self._started = False
        self._by_name = {state.plan.name: state for state in self.systems}
        ctx.bus.subscribe("outage", self._fault_changed)

    @property
    def split_brain_s(self) -> FloatArray:
        """Seconds of split-brain per system."""
        return self.settlement.split_brain_s

    def start(self) -> None:
        """State at time 0 (after the initial placement): warm standbys, serving centres."""
        if self._started:
            return
        self._started = True
        for state in self.systems:
            plan = state.plan
            state.holder = self.authority.initial_holder(plan)
            if plan.standby is not None and plan.standby.kind == "warm":
                flavors = self.capacity.declared[plan.index][: plan.need]
                rows, _ = self.capacity.create(
                    plan.index, flavors, plan.standby_dc, 0.0, "warm standby", plan.standby.size
                )
                state.warm_vms = [self.capacity.vm_id(r) for r in rows]
        self.settlement.begin()

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The replication tick: advance every queue, sample every lag."""
        env = self.ctx.env
        tick = self.spec.tick
        horizon = self.ctx.horizon
        k = 1
        has_async = np.array([p.async_to >= 0 and p.write_rate > 0 for p in self.plans])
        while k * tick <= horizon:
            yield env.timeout(k * tick - env.now)
            now = env.now
            self.repl.advance(now)
            lag = self.repl.lag(now)
            # while writes flow into the async queue (home primaries writing): the times a
            # failure of the primary would lose the lag
            sampled = has_async & (self.repl.write_on > 0) & (self.repl.async_in > 0)
            self.lag_sum += np.where(sampled, lag, 0.0)
            self.lag_samples += sampled
            np.maximum(self.lag_max, np.where(sampled, lag, 0.0), out=self.lag_max)
            self.last_lag = lag
            self.ticks += 1
            self.ctx.count()
            k += 1

    def finish(self, horizon: float) -> None:
        """Close what is open at the horizon (split-brain intervals, queues)."""
        self.repl.advance(horizon)
        for state in self.systems:
            if state.split_since is not None:
                self.settlement.end_split(state, horizon)

    # -- ground truth -------------------------------------------------------------------------
    def _fault_changed(self, change: str, outage: Outage, time: float) -> None:
        if outage.effect == "corrupt":
            state = self.systems[outage.components[0][1]]
            if change == "begin":
                state.corrupted = True
                state.corrupt_outage = outage
                state.noticed = False
                self.settlement.refresh(time)
            elif change == "noticed" and state.corrupt_outage is outage:
                state.noticed = True
                self.record_event(
                    time,
                    EventKind.DR_NOTICE,
                    system=state.plan.index,
                    reason=f"{outage.label} noticed",
                )
                self._consult("corruption", time)
            return
        self.settlement.refresh(time, force=False)

    def _reroute(self, time: float) -> None:
        """The heartbeat monitors follow the network's new routes (a dead node's freeze)."""
        nodes = [self.centres[c] for c in self.monitored]
        if self.witness is not None:
            nodes.append(self.witness)
        dead = {x for x in nodes if not self.net.node_alive(x)}
        routes = {
            (x, y): self.net.node_route(x, y)
            for x in nodes
            for y in nodes
            if x != y and x not in dead
        }
        self.monitors.freeze([(x, y) for x in dead for y in nodes if x != y])
        self.monitors.update(routes, time)

    # -- detection and decisions ----------------------------------------------------------------
    def _observed(self, monitor: Monitor, time: float) -> None:
        what = "back" if monitor.reachable else "lost"
        self.record_event(
            time, EventKind.HEARTBEAT, reason=f"{monitor.source}>{monitor.target} {what}"
        )
        self._consult("heartbeat", time)

    def _consult(self, reason: str, time: float) -> None:
        """Ask both policies what to do, and do what is valid."""
        self.repl.advance(time)
        observation = self.observe(reason, time)
        self.decisions += 1
        for name, policy in (
            (self.failover_name, self.failover_policy),
            (self.failback_name, self.failback_policy),
        ):
            try:
                actions = list(policy.decide(observation))
            except Exception as exc:  # a plug-in's bug is a recorded failure, not a crash
                self._policy_failed(time, name, f"{type(exc).__name__}: {exc}")
                continue
            for action in actions:
                problem = action_problem(action, observation)
                if problem is not None:
                    self._policy_failed(time, name, f"invalid action: {problem}")
                    continue
                self._execute(action, name, time)

    def _policy_failed(self, time: float, policy: str, error: str) -> None:
        self.policy_failure_count += 1
        if len(self.policy_failures) < MAX_FAILURES_KEPT:
            self.policy_failures.append(PolicyFailure(time, policy, error))
        self.record_event(time, EventKind.POLICY_FAILURE, reason=f"{policy}: {error}"[:500])

    def observe(self, reason: str, time: float) -> Observation:
        """What the policies are told (plain data; see :mod:`cloudsim.dr.observation`)."""
        names = self.centres
        views = tuple(
            HeartbeatView(m.source, m.target, m.reachable, m.since)
            for m in self.monitors.monitors.values()
        )
        watched: dict[str, list[bool]] = {}
        for m in self.monitors.monitors.values():
            watched.setdefault(m.target, []).append(m.reachable)
        # a majority of its watchers lost it (a dead watcher's report froze with it)
        suspected = tuple(
            names[c]
            for c in self.monitored
            if 2 * sum(not ok for ok in watched.get(names[c], [])) > len(watched.get(names[c], []))
        )
        held = self.capacity.held()
        running = self.capacity.running()
        troubled = set(suspected)  # capacity is worked out where a centre may be lost
        statuses = []
        for state in self.systems:
            plan = state.plan
            home = tuple(names[c] for c in plan.home)
            demand: dict[str, Resources] = {}
            room: dict[str, bool] = {}
            if plan.mode != "none" and (state.noticed or troubled & set(home)):
                for target in self._targets(plan):
                    demand[names[target]], room[names[target]] = self.capacity.demand_at(
                        plan, target, state.promoted, running
                    )
            statuses.append(
                SystemStatus(
                    name=plan.name,
                    priority=plan.priority,
                    mode=plan.mode,
                    zone=self.world.scenario.systems[plan.index].zone,
                    home=home,
                    standby=names[plan.standby_dc] if plan.standby_dc >= 0 else None,
                    restore_to=names[plan.restore_to] if plan.backup is not None else None,
                    primaries=tuple(names[c] for c in sorted(state.primaries)),
                    fenced=tuple(names[c] for c in sorted(state.fenced)),
                    phase=state.phase,
                    corrupted=state.noticed,
                    lag_s=float(self.last_lag[plan.index]),
                    need=plan.need,
                    held=MappingProxyType(
                        {
                            names[c]: triple(held[:, plan.index, c])
                            for c in range(self.n_centres)
                            if held[:, plan.index, c].any()
                        }
                    ),
                    demand_at=MappingProxyType(demand),
                    room_at=MappingProxyType(room),
                )
            )
        return Observation(
            time=time,
            reason=reason,
            centres=tuple(names[c] for c in self.monitored),
            site_of=MappingProxyType({dc.name: dc.site for dc in self.world.scenario.datacenters}),
            witness=self.witness,
            heartbeat_interval=self.spec.heartbeat.interval,
            heartbeats=views,
            systems=tuple(statuses),
            free=self.capacity.free(
                self.monitored,
                [
                    (st.plan.index, st.reserved[0], st.reserved[1])
                    for st in self.systems
                    if st.reserved is not None
                ],
            ),
            suspected=suspected,
        )

    def _targets(self, plan: SystemPlan) -> list[int]:
        out = list(plan.home) if plan.mode == "active-active" else []
        for c in (plan.standby_dc, plan.restore_to if plan.backup else -1):
            if c >= 0 and c not in out:
                out.append(c)
        return out

    # -- actions --------------------------------------------------------------------------------
    def _execute(self, action: Action, policy: str, time: float) -> None:
        if isinstance(action, Wait):
            if action.until is not None and action.until > time:
                self._timer(action.until)
            return
        if isinstance(action, FailOverCentre):
            c = self.centres.index(action.centre)
            for state in self.systems:
                if c in state.primaries and state.plan.mode != "none":
                    self._failover(state, None, policy, time)
            return
        found = self._state(getattr(action, "system", None))
        if isinstance(action, Fence):
            self._fence(self.centres.index(action.centre), found, policy, time)
            return
        assert found is not None
        if isinstance(action, FailOver):
            to = self.centres.index(action.to) if action.to is not None else None
            self._failover(found, to, policy, time)
        elif isinstance(action, FailBack):
            self._failback(found, policy, time)
        elif isinstance(action, Shed):
            centre = self.centres.index(action.centre) if action.centre else None
            self._shed(found, centre, policy, time)

    def _state(self, name: str | None) -> SystemState | None:
        if name is None:
            return None
        return self._by_name[name]

    def _timer(self, until: float) -> None:
        """Consult the policies again at ``until``, unless an earlier timer is pending (the
        policies then ask again for what is still due)."""
        if until >= self.ctx.horizon or (self._timers and min(self._timers) <= until):
            return
        self._timers.add(until)

        def fire(time: float) -> None:
            self._timers.discard(until)
            self._consult("timer", time)

        self.schedule(until, fire)

    def _progress(self, time: float) -> None:
        """Consult the policies once a step completes (once per instant)."""
        if time in self._progress_at:
            return
        self._progress_at.add(time)

        def fire(now: float) -> None:
            self._progress_at.discard(time)
            self._consult("progress", now)

        self.schedule(time, fire)

    def _failover(self, state: SystemState, to: int | None, policy: str, time: float) -> None:
        plan = state.plan
        if state.phase in ("failing_over", "failing_back"):
            return
        if plan.mode == "none" and not state.corrupted:
            return
        if state.corrupted:
            if state.phase != "normal" or not state.noticed:
                return
            self._restore(state, to, policy, time, corrupted=True)
            return
        if to is None:
            if plan.mode == "active-active":
                live = [c for c in plan.home if c in state.primaries and self.net.alive[c]]
                to = live[0] if len(live) == 1 else plan.standby_dc
            elif plan.mode == "backup-only":
                to = plan.restore_to
            else:
                to = plan.standby_dc
        if to is None or to < 0:
            return
        if plan.mode == "active-active" and to in plan.home:
            self._continue_alone(state, to, policy, time)
            return
        if to in state.primaries and to not in state.fenced:
            return  # already there
        if plan.mode == "backup-only" or (to != plan.standby_dc and to != plan.async_to):
            self._restore(state, to, policy, time, corrupted=False)
            return
        self._promote(state, to, policy, time)

    def _continue_alone(self, state: SystemState, side: int, policy: str, time: float) -> None:
        """An active-active side goes on without its peer (a traffic shift)."""
        plan = state.plan
        s = plan.index
        peer = peer_of(plan, side)
        assert peer is not None
        if side in state.alone or (side in state.primaries and peer not in state.primaries):
            return
        why = "target down" if not self.net.alive[side] else self.authority.take_lock(state, side)
        if self._refuse(state, side, why, "failover", (peer,), policy, time):
            return
        source = (peer,)
        record = self.log.new_record(state, "failover", source, side, time, policy)
        state.alone.add(side)
        state.primaries.add(side)
        state.fenced.discard(side)
        state.winner = side
        deposed = not self.net.alive[peer] or self.net.can_tell(side, peer)
        if deposed:
            state.primaries.discard(peer)
        # the surviving side lacks what the other side had not mirrored
        lost = self.repl.drop_mirror(s, plan.home.index(peer))
        self._charge(record, lost, time)
        record.unnecessary = "false_alarm" if self.net.alive[peer] else ""
        state.phase = "failed_over"
        state.open.append(record)
        self.record_event(
            time,
            EventKind.DR_ACTION,
            system=s,
            reason=f"{policy}: {self.centres[side]} continues alone",
        )
        self.settlement.settle(state, time)
        missing = self.capacity.missing(state.plan, side, state.promoted)
        if missing:
            gen = state.generation
            self.schedule(
                time + self.spec.start_time,
                partial(self._scale_out, state, side, record, gen),
            )
        else:
            record.completed_at = time
        self.log.check_healed(record)

    def _refuse(
        self,
        state: SystemState,
        target: int,
        why: str,
        action: str,
        source: tuple[int, ...],
        policy: str,
        time: float,
    ) -> bool:
        """Record (once per target until things change) a decision that cannot be carried
        out; True when ``why`` says it cannot."""
        if not why:
            state.refused.discard(target)
            return False
        if target not in state.refused:
            state.refused.add(target)
            record = self.log.new_record(state, action, source, target, time, policy)
            record.failure = why
        return True

    def _scale_out(
        self, state: SystemState, side: int, record: Decision, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        flavors = self.capacity.missing(state.plan, side, state.promoted)
        created, missing = self._create_for(state, flavors, side, time, "scale-out")
        record.vms_created += created
        record.vms_missing += missing
        record.completed_at = time
        self.log.check_healed(record)
        self.settlement.refresh(time)
        self._progress(time)

    def _promote(self, state: SystemState, target: int, policy: str, time: float) -> None:
        """Fail over to the remote standby (warm: resize; cold: create)."""
        plan = state.plan
        s = plan.index
        source = tuple(sorted(c for c in state.primaries if c != target))
        why = (
            "target down" if not self.net.alive[target] else self.authority.take_lock(state, target)
        )
        if self._refuse(state, target, why, "failover", source, policy, time):
            return
        record = self.log.new_record(state, "failover", source, target, time, policy)
        state.winner = target
        self._depose(state, source, target)
        if target == plan.async_to:
            lost = self.repl.drop_async(s)
            for side in range(2):  # everything unmirrored is in the async queue too
                self.absorbed_bytes += self.repl.drop_mirror(s, side)
        else:  # a synchronous standby
            pair = sync_pair(plan)
            side = 0 if pair is not None and pair[0] in source else 1
            lost = self.repl.drop_mirror(s, side)
        self._charge(record, lost, time)
        record.unnecessary = "false_alarm" if any(self.net.alive[c] for c in source) else ""
        state.phase = "failing_over"
        state.open.append(record)
        state.reserved = (target, self.capacity.demand_at(state.plan, target, state.promoted)[0])
        self.record_event(
            time,
            EventKind.DR_ACTION,
            system=s,
            reason=f"{policy}: fail over to {self.centres[target]}",
        )
        assert plan.standby is not None or plan.mode == "active-active"
        delay = plan.standby.start_s if plan.standby is not None else self.spec.start_time
        self.schedule(
            time + delay, partial(self._promoted, state, target, record, state.generation)
        )
        self.settlement.settle(state, time)

    def _promoted(
        self, state: SystemState, target: int, record: Decision, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        plan = state.plan
        created = 0
        missing = 0
        if plan.standby is not None and plan.standby.kind == "warm" and not state.promoted:
            grown, stuck = self.capacity.grow(state.warm_vms, plan.index)
            for row in stuck:  # a standby VM that cannot grow is no use: gone
                self._forget(state, row)
                self.platform.delete(row, time, kind=EventKind.DR_DELETE, reason="resize_failed")
            created += grown
            missing += len(stuck)
            state.promoted = True
        flavors = self.capacity.missing(state.plan, target, state.promoted)
        c2, m2 = self._create_for(state, flavors, target, time, "failover")
        state.reserved = None
        record.vms_created += created + c2
        record.vms_missing += missing + m2
        self.schedule(
            time + self.spec.redirect_time, partial(self._activate, state, target, record, gen)
        )

    def _activate(
        self, state: SystemState, target: int, record: Decision, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        state.primaries.add(target)
        state.fenced.discard(target)
        state.phase = "failed_over"
        if state.corrupted and record.action == "restore":
            self._end_corruption(state, time)
        record.completed_at = time
        self.log.check_healed(record)
        self.settlement.refresh(time)
        self._progress(time)

    def _restore(
        self, state: SystemState, to: int | None, policy: str, time: float, *, corrupted: bool
    ) -> None:
        """Restore from the backup: in place (a corrupted system whose centres are up) or at
        ``to`` / the restore centre."""
        plan = state.plan
        s = plan.index
        if to is None:
            to = plan.home[0] if corrupted and self.net.alive[plan.home[0]] else plan.restore_to
        source = tuple(sorted(state.primaries))
        in_place = to in plan.home and corrupted
        if plan.backup is None:
            why = "no backup: the data cannot be restored"
        elif not self.net.alive[to]:
            why = "target down"
        else:
            why = "" if in_place else self.authority.take_lock(state, to)
        if self._refuse(state, to, why, "restore", source, policy, time):
            return
        assert plan.backup is not None
        record = self.log.new_record(state, "restore", source, to, time, policy)
        if not in_place:
            state.winner = to
        # the data written after the newest complete backup taken before the damage is lost
        until = (
            state.corrupt_outage.start
            if corrupted and state.corrupt_outage is not None
            else min(time, state.stopped_writing)
        )
        start = last_backup_start(
            until, plan.backup.interval, plan.backup.offset, plan.backup_delay()
        )
        for side in range(2):  # queued writes are part of the window lost
            self.absorbed_bytes += self.repl.drop_mirror(s, side)
        self.absorbed_bytes += self.repl.drop_async(s)
        record.data_lost_s = until - start
        record.data_lost_bytes = self.repl.written_between(s, start, until)
        if not in_place:
            self._depose(state, source, to)
            record.unnecessary = (
                "false_alarm" if not corrupted and any(self.net.alive[c] for c in source) else ""
            )
        state.phase = "failing_over"
        state.open.append(record)
        if not in_place:
            state.reserved = (to, self.capacity.demand_at(state.plan, to, state.promoted)[0])
        self.record_event(
            time, EventKind.DR_ACTION, system=s, reason=f"{policy}: restore at {self.centres[to]}"
        )
        done = time + plan.restore_seconds() + (0.0 if in_place else self.spec.start_time)
        self.schedule(done, partial(self._restored, state, to, record, in_place, state.generation))
        self.settlement.settle(state, time)

    def _restored(
        self, state: SystemState, to: int, record: Decision, in_place: bool, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        if not in_place:
            flavors = self.capacity.missing(state.plan, to, state.promoted)
            created, missing = self._create_for(state, flavors, to, time, "restore")
            state.reserved = None
            record.vms_created += created
            record.vms_missing += missing
        self.schedule(
            time + self.spec.redirect_time, partial(self._activate, state, to, record, gen)
        )

    def _end_corruption(self, state: SystemState, time: float) -> None:
        state.corrupted = False
        state.noticed = False
        if state.corrupt_outage is not None:
            state.corrupt_outage.end = time
        state.corrupt_outage = None
        if set(state.primaries) == set(state.plan.home) or state.plan.mode == "none":
            state.phase = "normal"
            for record in state.open:
                record.failback_decided_at = record.failback_done_at = time
            state.open.clear()

    def _depose(self, state: SystemState, source: Sequence[int], target: int) -> None:
        for c in source:
            if not self.net.alive[c] or self.net.can_tell(target, c):
                state.primaries.discard(c)

    def _charge(self, record: Decision, lost: float, time: float) -> None:
        record.data_lost_bytes += lost
        self.charged_bytes += lost
        if lost > 0:
            amount = np.zeros(len(self.plans))
            amount[record.system] = lost
            end = min(time, self.systems[record.system].stopped_writing)
            record.data_lost_s += float(self.repl.age(amount, end)[record.system])

    def _fence(self, centre: int, only: SystemState | None, policy: str, time: float) -> None:
        targets = (
            [only]
            if only is not None
            else [st for st in self.systems if centre in st.primaries and st.plan.mode != "none"]
        )
        delivered = (
            not self.net.alive[centre]
            or self.witness is not None
            or any(self.net.can_tell(c, centre) for c in self.monitored if c != centre)
        )
        for state in targets:
            if centre in state.fenced or centre not in state.primaries:
                continue
            record = self.log.new_record(state, "fence", (centre,), -1, time, policy)
            if not delivered:
                record.failure = "fence undeliverable: no route and no witness"
                continue
            state.fenced.add(centre)
            if state.holder == centre:
                state.holder = None
            peer = peer_of(state.plan, centre)
            if peer is not None:  # the peer goes on (with the witness lock if there is one)
                why = self.authority.take_lock(state, peer)
                if why:
                    record.failure = f"{self.centres[peer]} cannot go on: {why}"
                state.winner = peer
            record.completed_at = time
            state.open.append(record)
            self.record_event(
                time,
                EventKind.DR_ACTION,
                system=state.plan.index,
                reason=f"{policy}: fence {self.centres[centre]}",
            )
            self.settlement.settle(state, time)

    def _shed(self, state: SystemState, centre: int | None, policy: str, time: float) -> None:
        plan = state.plan
        centres = [centre] if centre is not None else sorted(state.serving)
        vms = self.platform.vms
        record = self.log.new_record(state, "shed", tuple(centres), -1, time, policy)
        for c in centres:
            rows = np.flatnonzero(
                vms.live & (vms.ints["system"] == plan.index) & (vms.ints["datacenter"] == c)
            )
            for row in rows.tolist():
                state.shed.append((int(vms.ints["flavor"][row]), c))
                self._forget(state, row)
                self.platform.delete(row, time, kind=EventKind.DR_DELETE, reason="shed")
        state.phase = "shed"
        record.completed_at = time
        state.open.append(record)
        self.record_event(time, EventKind.DR_ACTION, system=plan.index, reason=f"{policy}: shed")
        self.settlement.refresh(time)

    def _forget(self, state: SystemState, row: int) -> None:
        vm_id = self.capacity.vm_id(row)
        self.ha.waiting.pop(vm_id, None)
        if vm_id in state.dr_vms:
            state.dr_vms.remove(vm_id)
        if vm_id in state.warm_vms:
            state.warm_vms.remove(vm_id)

    def _failback(self, state: SystemState, policy: str, time: float) -> None:
        plan = state.plan
        s = plan.index
        if state.phase in ("failing_over", "failing_back") or state.corrupted:
            return
        away = set(state.primaries) != set(plan.home) or state.fenced or state.alone or state.shed
        if not away and state.phase == "normal":
            return
        if not all(self.net.alive[c] for c in plan.home):
            self._policy_failed(time, policy, f"FailBack({plan.name}): a home centre is down")
            return
        writers = sorted(state.serving) or sorted(state.primaries)
        copy = float(self.repl.away[s] + self.repl.mirror[s].sum())
        rate = 0.0
        for c in writers:
            for h in plan.home:
                if c != h:
                    rate = max(rate, self.net.throughput(c, h))
        share = self.settlement.async_share[s] or self.settlement.pair_share
        rate *= share
        if copy > 0 and rate <= 0:
            self._policy_failed(time, policy, f"FailBack({plan.name}): no route to resync")
            return
        duration = copy / rate if copy > 0 else 0.0
        for record in state.open:
            if math.isnan(record.failback_decided_at):
                record.failback_decided_at = time
        state.phase = "failing_back"
        self.record_event(time, EventKind.DR_ACTION, system=s, reason=f"{policy}: fail back")
        self.schedule(time + duration, partial(self._failed_back, state, state.generation))

    def _failed_back(self, state: SystemState, gen: int, time: float) -> None:
        if gen != state.generation:
            return
        plan = state.plan
        s = plan.index
        state.generation += 1
        self.repl.advance(time)
        # after a split-brain the losing side's writes are discarded
        if plan.mode == "active-active" and (self.repl.mirror[s] > 0).all():
            winner = state.winner if state.winner in plan.home else plan.home[0]
            loser = plan.home.index(winner) ^ 1
            lost = self.repl.drop_mirror(s, loser)
            if state.open:
                self._charge(state.open[-1], lost, time)
        self.repl.resynced[s] += self.repl.mirror[s].sum()
        self.repl.mirror[s] = 0.0
        self.repl.bring_back(s)
        state.primaries = set(plan.home)
        state.fenced.clear()
        state.alone.clear()
        state.winner = -1
        state.refused.clear()
        state.holder = self.authority.initial_holder(plan)
        # home VMs as dealt, DR copies gone, shed VMs back
        for vm_id in list(state.dr_vms):
            row = self.capacity.row_of(vm_id)
            if row is not None:
                self._forget(state, row)
                self.platform.delete(row, time, kind=EventKind.DR_DELETE, reason="failback")
        state.dr_vms.clear()
        if state.promoted:
            assert plan.standby is not None
            self.capacity.shrink(state.warm_vms, s, plan.standby.size)
            state.promoted = False
        system = self.world.scenario.systems[s]
        for flavor_name, dc_name, count in deal_datacenters(system):
            flavor = self.world.flavors.index_of(flavor_name)
            centres = [self.centres.index(dc_name)] if dc_name else list(plan.home)
            have = sum(
                1
                for c in centres
                for r in self.capacity.live_rows(s, c)
                if int(self.platform.vms.ints["flavor"][r]) == flavor
            )
            if have < count:
                self._create_for(state, [flavor] * (count - have), centres[0], time, "failback")
        state.shed.clear()
        state.phase = "normal"
        if state.split_since is not None:  # reconciled: the split ends with the failback
            self.settlement.end_split(state, time)
        for record in state.open:
            record.failback_done_at = time
        state.open.clear()
        self.record_event(time, EventKind.DR_ACTION, system=s, reason="failback done")
        self.settlement.refresh(time)
        self._progress(time)

    # -- VMs ------------------------------------------------------------------------------------
    def _create_for(
        self, state: SystemState, flavors: list[int], centre: int, time: float, reason: str
    ) -> tuple[int, int]:
        rows, missing = self.capacity.create(state.plan.index, flavors, centre, time, reason)
        state.dr_vms.extend(self.capacity.vm_id(r) for r in rows)
        return len(rows), missing
