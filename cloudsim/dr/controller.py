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

from collections.abc import Generator
from types import MappingProxyType
from typing import Any

import numpy as np
import simpy

from cloudsim.dr.capacity import RecoveryCapacity, triple
from cloudsim.dr.control.authority import WriteAuthority
from cloudsim.dr.control.failback import Failback
from cloudsim.dr.control.log import DecisionLog
from cloudsim.dr.control.recovery import Recovery
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
from cloudsim.dr.replication import Replication
from cloudsim.dr.state import SystemState
from cloudsim.kernel import Context
from cloudsim.records import Decision, EventKind, Outage, PolicyFailure
from cloudsim.scenario.dr import DR
from cloudsim.scenario.faults import witness_name

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
        self._progress_at: set[float] = set()
        self._started = False
        self._by_name = {state.plan.name: state for state in self.systems}
        self.recovery = Recovery(
            self.systems,
            spec,
            self.net,
            self.authority,
            self.settlement,
            self.log,
            self.capacity,
            self.repl,
            self.platform,
            ctx.calendar,
            ctx.recorder,
            self.monitored,
            self._progress,
        )
        self.failback = Failback(
            ctx.world,
            self.net,
            self.authority,
            self.settlement,
            self.recovery,
            self.capacity,
            self.repl,
            self.platform,
            ctx.calendar,
            ctx.recorder,
            self._policy_failed,
            self._progress,
        )
        ctx.bus.subscribe("outage", self._fault_changed)

    @property
    def split_brain_s(self) -> FloatArray:
        """Seconds of split-brain per system."""
        return self.settlement.split_brain_s

    @property
    def charged_bytes(self) -> float:
        """Bytes dropped from the queues and charged to a record as data lost."""
        return self.recovery.charged_bytes

    @property
    def absorbed_bytes(self) -> float:
        """Bytes dropped from the queues within a loss recorded another way."""
        return self.recovery.absorbed_bytes

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
                    self.recovery.failover(state, None, policy, time)
            return
        found = self._state(getattr(action, "system", None))
        if isinstance(action, Fence):
            self.recovery.fence(self.centres.index(action.centre), found, policy, time)
            return
        assert found is not None
        if isinstance(action, FailOver):
            to = self.centres.index(action.to) if action.to is not None else None
            self.recovery.failover(found, to, policy, time)
        elif isinstance(action, FailBack):
            self.failback.failback(found, policy, time)
        elif isinstance(action, Shed):
            centre = self.centres.index(action.centre) if action.centre else None
            self.recovery.shed(found, centre, policy, time)

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
