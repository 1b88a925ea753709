"""The DR controller: the parts of disaster recovery, wired for one run.

It owns each business system's :class:`~cloudsim.dr.state.SystemState` and hands the same
list to every part:

- :class:`~cloudsim.dr.control.authority.WriteAuthority` — which centres really accept
  writes, the witness lock;
- :class:`~cloudsim.dr.control.settlement.Settlement` — after every change: stand-downs,
  serving centres, split-brain, the replication queues' inputs;
- :class:`~cloudsim.dr.control.decisions.DecisionLoop` — the heartbeat monitors and the
  policies: when they are asked and what they are told;
- :class:`~cloudsim.dr.control.log.DecisionLog` — the decision records and their causes;
- :class:`~cloudsim.dr.control.recovery.Recovery` and
  :class:`~cloudsim.dr.control.failback.Failback` — what the policies' actions do;
- :class:`~cloudsim.dr.control.tick.ReplicationTick` — the one simpy process.

Everything else is an action on the kernel's calendar (detections, the steps of a recovery,
timers); failures reach the controller on the bus (topic ``"outage"``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from cloudsim.dr.backups import Backups
from cloudsim.dr.capacity import RecoveryCapacity
from cloudsim.dr.control.authority import WriteAuthority
from cloudsim.dr.control.decisions import DecisionLoop
from cloudsim.dr.control.failback import Failback
from cloudsim.dr.control.log import DecisionLog
from cloudsim.dr.control.recovery import Recovery
from cloudsim.dr.control.settlement import Settlement
from cloudsim.dr.control.tick import ReplicationTick
from cloudsim.dr.detection import HeartbeatMonitors
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.observation import Action, FailBack, FailOver, FailOverCentre, Fence, Shed
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.replication import Replication
from cloudsim.dr.state import SystemState
from cloudsim.kernel import Context
from cloudsim.records import Decision, EventKind, Outage, PolicyFailure
from cloudsim.scenario.dr import DR
from cloudsim.scenario.faults import witness_name

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class DRController:
    """Disaster recovery of one run with a ``dr`` section (see the module docstring)."""

    def __init__(self, ctx: Context, spec: DR, plans: list[SystemPlan]) -> None:
        self.plans = plans
        self.record_event = ctx.recorder.event
        self.centres: tuple[str, ...] = ctx.hosts.datacenter_names
        everywhere = set(range(len(self.centres)))
        self.systems = [
            SystemState(p, set(p.home) if p.managed else set(everywhere)) for p in plans
        ]
        self._by_name = {state.plan.name: state for state in self.systems}
        site = ctx.world.witness_site
        self.witness: str | None = witness_name(site) if site is not None else None
        self.net = NetworkTruth(
            ctx.world, ctx.hosts, ctx.components, spec, self.witness, site, ctx.links
        )
        self.capacity = RecoveryCapacity(ctx.world, ctx.platform, plans)
        self.repl = Replication(
            np.array([p.write_rate for p in plans]),
            [p.shape for p in plans],
            np.array([p.async_interval for p in plans]),
        )
        #: The decision records (the recorder's, which the availability ledger reads).
        self.records: list[Decision] = ctx.recorder.decisions
        self.tick = ReplicationTick(ctx.env, self.repl, plans, spec.tick, ctx.horizon, ctx.count)
        self.authority = WriteAuthority(self.net)
        self.loop = DecisionLoop(
            ctx.world,
            spec,
            self.systems,
            net=self.net,
            capacity=self.capacity,
            repl=self.repl,
            tick=self.tick,
            calendar=ctx.calendar,
            recorder=ctx.recorder,
            detection_rng=ctx.stream("detection"),
            policies_rng=ctx.stream("policies"),
            execute=self._execute,
        )
        self.log = DecisionLog(
            ctx.world,
            ctx.hosts,
            net=self.net,
            monitors=self.loop.monitors,
            outages=ctx.recorder.outages,
            records=self.records,
        )
        self.loop.expected_back = self.log.expected_back
        #: Restore copies and async streams sharing the links (max-min fair) with every
        #: other transfer of the run (the run's one network: live migrations too).
        self.links = ctx.links
        self.flows = ctx.links.network
        self.flows.concurrent = spec.concurrent_restores
        self.flows.on_change = self._rates_changed
        self.settlement = Settlement(
            self.systems,
            net=self.net,
            authority=self.authority,
            repl=self.repl,
            log=self.log,
            recorder=ctx.recorder,
            reroute=self.loop.reroute,
            flows=self.flows,
        )
        ctx.recorder.serving = self.settlement.serving
        #: Periodic backups: copies over the links, beside the restores and streams.
        self.backups = Backups(
            plans,
            self.flows,
            self.repl,
            ctx.calendar.schedule,
            ctx.horizon,
            source_of=self._backup_source,
            path_of=self.net.path_links,
            alive=lambda c: bool(self.net.alive[c]),
        )
        ctx.calendar.at_start(self.backups.prime)
        self.backup_summary: dict[str, float | int] = {}
        self.recovery = Recovery(
            self.systems,
            spec,
            net=self.net,
            authority=self.authority,
            settlement=self.settlement,
            log=self.log,
            capacity=self.capacity,
            repl=self.repl,
            platform=ctx.platform,
            calendar=ctx.calendar,
            recorder=ctx.recorder,
            monitored=self.loop.monitored,
            progress=self.loop.progress,
            flows=self.flows,
            recovery_point=self.backups.recovery_point,
        )
        self.settlement.rejoined = self.recovery.rejoined
        self.failback = Failback(
            ctx.world,
            net=self.net,
            authority=self.authority,
            settlement=self.settlement,
            recovery=self.recovery,
            capacity=self.capacity,
            repl=self.repl,
            platform=ctx.platform,
            calendar=ctx.calendar,
            recorder=ctx.recorder,
            policy_failed=self.loop.policy_failed,
            progress=self.loop.progress,
        )
        self._started = False
        ctx.bus.subscribe("outage", self._fault_changed)

    # -- a run ------------------------------------------------------------------------------
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
        """The replication tick (DR's one simpy process)."""
        return self.tick.run()

    def finish(self, horizon: float) -> None:
        """Close what is open at the horizon (split-brain intervals, queues)."""
        self.repl.advance(horizon)
        # the backups' totals at the horizon (``summary.json``: ``dr.backups``)
        self.backup_summary = self.backups.summary(horizon)
        for state in self.systems:
            if state.split_since is not None:
                self.settlement.end_split(state, horizon)

    def _rates_changed(self, time: float) -> None:
        """The links' shares changed: every async queue drains at its stream's new rate
        from now on."""
        self.repl.advance(time)
        for s, rate in self.flows.moved_streams():
            self.repl.async_cap[s] = rate

    def _fault_changed(self, change: str, outage: Outage, time: float) -> None:
        """A failure began or ended, or a corruption was noticed (the bus's ``"outage"``)."""
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
                self.loop.consult("corruption", time)
            return
        self.settlement.refresh(time, force=False)
        self.links.refresh(time)
        self.backups.sources_changed(time)

    def _backup_source(self, system: int) -> int | None:
        """The centre a system's backup is read from: the first live centre it writes at
        (None: none)."""
        alive = self.net.alive
        for c in sorted(self.systems[system].primaries):
            if alive[c]:
                return c
        return None

    def _execute(self, action: Action, policy: str, time: float) -> None:
        """A policy's valid action (other than ``Wait``), to the part that carries it out."""
        if isinstance(action, FailOverCentre):
            c = self.centres.index(action.centre)
            for state in self.systems:
                if c in state.primaries and state.plan.managed:
                    self.recovery.failover(state, None, policy, time)
            return
        name: str | None = getattr(action, "system", None)
        found = self._by_name[name] if name is not None else None
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

    # -- the run's totals (what the results and the tests read) -----------------------------
    @property
    def failover_name(self) -> str:
        return self.loop.failover_name

    @property
    def failback_name(self) -> str:
        return self.loop.failback_name

    @property
    def monitors(self) -> HeartbeatMonitors:
        return self.loop.monitors

    @property
    def decisions(self) -> int:
        """Times the policies were consulted."""
        return self.loop.count

    @property
    def policy_failures(self) -> list[PolicyFailure]:
        """The first policy failures, in full (all are counted)."""
        return self.loop.policy_failures

    @property
    def policy_failure_count(self) -> int:
        return self.loop.policy_failure_count

    @property
    def split_brain_s(self) -> FloatArray:
        """Seconds of split-brain per system."""
        return self.settlement.split_brain_s

    @property
    def lag_sum(self) -> FloatArray:
        """Per system: the sum of its async lag samples (seconds)."""
        return self.tick.lag_sum

    @property
    def lag_samples(self) -> IntArray:
        """Per system: how many lag samples were taken (while it wrote to its async queue)."""
        return self.tick.lag_samples

    @property
    def lag_max(self) -> FloatArray:
        return self.tick.lag_max

    @property
    def charged_bytes(self) -> float:
        """Bytes dropped from the queues and charged to a record as data lost."""
        return self.recovery.charged_bytes

    @property
    def absorbed_bytes(self) -> float:
        """Bytes dropped from the queues within a loss recorded another way."""
        return self.recovery.absorbed_bytes
