"""Failback: a system returns to its own centres.

A system whose recovery elsewhere is still under way (a restore, a promotion) stops it and
resumes at home at once (its home copy is intact: nothing to resync).

``FailBack`` resyncs what was written away from home (or by the side that went on alone)
at the system's share of the best route home, then returns the system to its home centres
as dealt: the DR copies are deleted, a promoted warm standby shrinks back, shed VMs come
back, the lock returns to its first holder. After a split-brain the losing side's writes
are discarded and recorded as lost; the split ends with the failback.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from cloudsim.dr.capacity import RecoveryCapacity
from cloudsim.dr.control.authority import WriteAuthority
from cloudsim.dr.control.recovery import Recovery
from cloudsim.dr.control.settlement import Settlement
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.replication import Replication
from cloudsim.dr.state import SystemState
from cloudsim.kernel import Calendar
from cloudsim.platform.platform import Platform
from cloudsim.records import EventKind, Recorder
from cloudsim.world import World
from cloudsim.world.inventory import deal_datacenters


class Failback:
    """Carries out ``FailBack`` (see the module docstring). ``policy_failed(time, policy,
    error)`` records a failback that cannot start; ``progress(time)`` asks the policies
    again once it is done."""

    def __init__(
        self,
        world: World,
        *,
        net: NetworkTruth,
        authority: WriteAuthority,
        settlement: Settlement,
        recovery: Recovery,
        capacity: RecoveryCapacity,
        repl: Replication,
        platform: Platform,
        calendar: Calendar,
        recorder: Recorder,
        policy_failed: Callable[[float, str, str], None],
        progress: Callable[[float], None],
    ) -> None:
        self.world = world
        self.net = net
        self.authority = authority
        self.settlement = settlement
        self.recovery = recovery
        self.capacity = capacity
        self.repl = repl
        self.platform = platform
        self.schedule = calendar.schedule
        self.record_event = recorder.event
        self.policy_failed = policy_failed
        self.progress = progress
        self.centres = net.centres

    def failback(self, state: SystemState, policy: str, time: float) -> None:
        """Start the resync home of a system that is away (not while a step is under way or
        its data is corrupted); a policy failure when a home centre is down or no route
        can carry the resync."""
        plan = state.plan
        s = plan.index
        if state.phase == "failing_back" or state.corrupted:
            return
        if state.phase == "failing_over":  # its recovery elsewhere is still under way
            if not all(self.net.alive[c] for c in plan.home):
                self.policy_failed(time, policy, f"FailBack({plan.name}): a home centre is down")
                return
            self.recovery.resume_home(state, policy, time)
            return
        away = set(state.primaries) != set(plan.home) or state.fenced or state.alone or state.shed
        if not away and state.phase == "normal":
            return
        if not all(self.net.alive[c] for c in plan.home):
            self.policy_failed(time, policy, f"FailBack({plan.name}): a home centre is down")
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
            self.policy_failed(time, policy, f"FailBack({plan.name}): no route to resync")
            return
        duration = copy / rate if copy > 0 else 0.0
        for record in state.open:
            if math.isnan(record.failback_decided_at):
                record.failback_decided_at = time
        state.phase = "failing_back"
        self.record_event(time, EventKind.DR_ACTION, system=s, reason=f"{policy}: fail back")
        self.schedule(time + duration, partial(self._failed_back, state, state.generation))

    def _failed_back(self, state: SystemState, gen: int, time: float) -> None:
        """The resync is done: the system is home, as dealt (see the module docstring)."""
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
            record = state.open[-1] if state.open else None
            if record is None and lost > 0:  # every byte dropped is charged to a record
                record = self.recovery.log.new_record(
                    state, "reconcile", (plan.home[loser],), winner, time
                )
                record.completed_at = time
            if record is not None:
                self.recovery.charge(record, lost, time)
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
        self.recovery.drop_copies(state, time, "failback")
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
                self.recovery.create_for(
                    state, [flavor] * (count - have), centres[0], time, "failback"
                )
        state.shed.clear()
        if state.short:  # it never served away: home resumes with its own intact copy
            self.recovery.unlose(state)
        state.short = False
        state.reconcile_at = math.nan
        state.redirecting.clear()
        state.scaling.clear()
        state.phase = "normal"
        if state.split_since is not None:  # reconciled: the split ends with the failback
            self.settlement.end_split(state, time)
        for record in state.open:
            record.failback_done_at = time
        state.open.clear()
        self.record_event(time, EventKind.DR_ACTION, system=s, reason="failback done")
        self.settlement.refresh(time)
        self.progress(time)
