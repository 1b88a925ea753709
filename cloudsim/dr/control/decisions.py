"""Detection and decisions: the heartbeat monitors, what the policies are told, and when
they are asked.

The monitors between the monitored centres and the witness (:mod:`cloudsim.dr.detection`)
are all a policy sees of the network: their routes follow the network's ground truth after
every change, and their reports lag it (missed heartbeats, a timeout, a dead node's frozen
view). The failover and the failback policy are asked what to do — with a plain-data
:class:`~cloudsim.dr.observation.Observation` — whenever a monitor's report changes, a
corruption is noticed, a step of a recovery completes (once per instant) or a ``Wait``
they asked for is due (one pending timer: the earliest). A policy that raises or returns an
invalid action is a recorded failure, not a crash; valid actions other than ``Wait`` go to
``execute``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import numpy as np

from cloudsim.dr.capacity import RecoveryCapacity, triple
from cloudsim.dr.control.tick import ReplicationTick
from cloudsim.dr.detection import HeartbeatMonitors, Monitor
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.observation import (
    Action,
    HeartbeatView,
    Observation,
    Resources,
    SystemStatus,
    Wait,
    action_problem,
)
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.policies import FailoverPolicy, make_policy
from cloudsim.dr.replication import Replication
from cloudsim.dr.state import SystemState
from cloudsim.kernel import Calendar
from cloudsim.records import EventKind, PolicyFailure, Recorder
from cloudsim.scenario.dr import DR
from cloudsim.world import World

#: Policy failures kept in full (all are counted).
MAX_FAILURES_KEPT = 200

#: Carries out a valid action of a policy: ``execute(action, policy name, time)``.
Execute = Callable[[Action, str, float], None]


def monitored_centres(plans: list[SystemPlan]) -> tuple[int, ...]:
    """The centres DR watches: those of every DR-managed system's design."""
    monitored: set[int] = set()
    for p in plans:
        if not p.managed:
            continue
        monitored.update(p.home)
        monitored.update(c for c in (p.standby_dc, p.async_to, p.restore_to) if c >= 0)
    return tuple(sorted(monitored))


def recovery_targets(plan: SystemPlan) -> list[int]:
    """Centres the system can be failed over to (the pair's sides, standby, restore centre)."""
    out = list(plan.home) if plan.mode == "active-active" else []
    for c in (plan.standby_dc, plan.restore_to if plan.backup else -1):
        if c >= 0 and c not in out:
            out.append(c)
    return out


def recovery_seconds(spec: DR, plan: SystemPlan) -> float:
    """Seconds from a decision to traffic arriving at the system's default recovery target,
    by design: a standby's start time, or a restore (size / restore bandwidth) and the VM
    starts; then the redirect."""
    if plan.standby is not None:
        return plan.standby.start_s + spec.redirect_time
    if plan.backup is not None:
        return plan.restore_seconds() + spec.start_time + spec.redirect_time
    return spec.redirect_time


class DecisionLoop:
    """The monitors, the two policies, and when they are consulted (see the module
    docstring). ``tick`` gives the lag the policies are told."""

    def __init__(
        self,
        world: World,
        spec: DR,
        systems: list[SystemState],
        *,
        net: NetworkTruth,
        capacity: RecoveryCapacity,
        repl: Replication,
        tick: ReplicationTick,
        calendar: Calendar,
        recorder: Recorder,
        detection_rng: np.random.Generator,
        policies_rng: np.random.Generator,
        execute: Execute,
    ) -> None:
        self.world = world
        self.spec = spec
        self.systems = systems
        self.net = net
        self.capacity = capacity
        self.repl = repl
        self.tick = tick
        self.schedule = calendar.schedule
        self.horizon = world.horizon
        self.record_event = recorder.event
        self.execute = execute
        self.centres = net.centres
        self.witness = net.witness
        self.monitored = monitored_centres([state.plan for state in systems])
        nodes = [self.centres[c] for c in self.monitored]
        if self.witness is not None:
            nodes.append(self.witness)
        #: The heartbeat monitors' nodes: the monitored centres, then the witness.
        self.nodes = nodes
        self.monitors = HeartbeatMonitors(
            nodes, spec.heartbeat, detection_rng, self.schedule, self._observed
        )
        failover_rng, failback_rng = policies_rng.spawn(2)
        self.failover_name = spec.failover.name
        self.failback_name = spec.failback.name
        self.failover_policy: FailoverPolicy = make_policy(
            self.failover_name, spec.failover.params, failover_rng
        )
        self.failback_policy: FailoverPolicy = make_policy(
            self.failback_name, spec.failback.params, failback_rng
        )
        #: Times the policies were consulted.
        self.count = 0
        self.policy_failures: list[PolicyFailure] = []
        self.policy_failure_count = 0
        self._timers: set[float] = set()
        self._progress_at: set[float] = set()
        #: When the lost ones of some centres are expected back (set by the controller to
        #: the decision log's :meth:`~cloudsim.dr.control.log.DecisionLog.expected_back`).
        self.expected_back: Callable[[tuple[int, ...], float], float | None] = (
            lambda centres, time: None
        )
        self.recovery_s = [recovery_seconds(spec, state.plan) for state in systems]

    def reroute(self, time: float) -> None:
        """The monitors follow the network's new routes (a dead node's reports freeze)."""
        nodes = self.nodes
        dead = {x for x in nodes if not self.net.node_alive(x)}
        routes = {
            (x, y): self.net.node_route(x, y)
            for x in nodes
            for y in nodes
            if x != y and x not in dead
        }
        self.monitors.freeze([(x, y) for x in dead for y in nodes if x != y])
        self.monitors.update(routes, time)

    def consult(self, reason: str, time: float) -> None:
        """Ask both policies what to do, and do what is valid."""
        self.repl.advance(time)
        observation = self.observe(reason, time)
        self.count += 1
        for name, policy in (
            (self.failover_name, self.failover_policy),
            (self.failback_name, self.failback_policy),
        ):
            try:
                actions = list(policy.decide(observation))
            except Exception as exc:  # a plug-in's bug is a recorded failure, not a crash
                self.policy_failed(time, name, f"{type(exc).__name__}: {exc}")
                continue
            for action in actions:
                problem = action_problem(action, observation)
                if problem is not None:
                    self.policy_failed(time, name, f"invalid action: {problem}")
                    continue
                if isinstance(action, Wait):
                    if action.until is not None and action.until > time:
                        self._timer(action.until)
                    continue
                self.execute(action, name, time)

    def policy_failed(self, time: float, policy: str, error: str) -> None:
        """Record that ``policy`` failed (raised, returned an invalid or impossible action)."""
        self.policy_failure_count += 1
        if len(self.policy_failures) < MAX_FAILURES_KEPT:
            self.policy_failures.append(PolicyFailure(time, policy, error))
        self.record_event(time, EventKind.POLICY_FAILURE, reason=f"{policy}: {error}"[:500])

    def progress(self, time: float) -> None:
        """Consult the policies once a step completes (once per instant)."""
        if time in self._progress_at:
            return
        self._progress_at.add(time)

        def fire(now: float) -> None:
            self._progress_at.discard(time)
            self.consult("progress", now)

        self.schedule(time, fire)

    def _timer(self, until: float) -> None:
        """Consult the policies again at ``until``, unless an earlier timer is pending (the
        policies then ask again for what is still due)."""
        if until >= self.horizon or (self._timers and min(self._timers) <= until):
            return
        self._timers.add(until)

        def fire(time: float) -> None:
            self._timers.discard(until)
            self.consult("timer", time)

        self.schedule(until, fire)

    def _observed(self, monitor: Monitor, time: float) -> None:
        what = "back" if monitor.reachable else "lost"
        self.record_event(
            time, EventKind.HEARTBEAT, reason=f"{monitor.source}>{monitor.target} {what}"
        )
        self.consult("heartbeat", time)

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
            if plan.managed and (state.noticed or troubled & set(home)):
                for target in recovery_targets(plan):
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
                    lag_s=float(self.tick.last_lag[plan.index]),
                    need=plan.need,
                    held=MappingProxyType(
                        {
                            names[c]: triple(held[:, plan.index, c])
                            for c in range(len(names))
                            if held[:, plan.index, c].any()
                        }
                    ),
                    demand_at=MappingProxyType(demand),
                    room_at=MappingProxyType(room),
                    home_intact=not state.noticed,
                    home_back_at=(
                        self.expected_back(plan.home, time) if troubled & set(home) else None
                    ),
                    recovery_s=self.recovery_s[plan.index],
                    short=state.short,
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
