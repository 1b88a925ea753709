"""Recovery actions: what a policy's ``FailOver``, ``Fence`` and ``Shed`` do.

``FailOver`` to the other side of an active-active pair continues there alone once the
traffic redirect (GSLB/DNS, ``dr.redirect_time``) is done (scale-out through the placer
when that side runs fewer VMs than the system needs); to a remote standby it promotes the
warm standby (resize) or creates the cold one through the placer (standby pools), then
redirects traffic; a corrupted or backup-only system is restored from its backup first: a
copy of its size, at most its restore bandwidth, sharing the links it crosses with the
other restores (:mod:`cloudsim.platform.flows`). The side left behind is deposed if it is dead
or can be told (over the heartbeat channel). ``Fence`` stops a centre's writes when it can
be reached (or, with a witness, as it loses quorum). ``Shed`` stops a system's VMs in a
centre to free room (they come back at failback). A decision that cannot be carried out
(target down, lock held elsewhere, no backup) is recorded once.

Each step that takes time (a resize, VM starts, a restore, a redirect) is an action on the
calendar carrying the system's generation: a failback in between makes it stale. Bytes
dropped from the replication queues are charged to the decision's record as data lost, or
absorbed in a loss recorded another way (a restore's backup window, the async queue's copy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from cloudsim.dr.capacity import RecoveryCapacity
from cloudsim.dr.control.authority import WriteAuthority, peer_of, sync_pair
from cloudsim.dr.control.log import DecisionLog
from cloudsim.dr.control.settlement import Settlement
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.plan import GBPS
from cloudsim.dr.replication import Replication
from cloudsim.dr.state import SystemState
from cloudsim.kernel import Calendar
from cloudsim.platform.flows import FlowNetwork
from cloudsim.platform.platform import Platform
from cloudsim.records import Decision, EventKind, Recorder
from cloudsim.scenario.dr import DR


class Recovery:
    """Carries out failovers, restores, fences and sheds (see the module docstring).

    ``progress(time)`` asks the policies again once a step has completed; ``monitored`` are
    the centres that can relay a fence.
    """

    def __init__(
        self,
        systems: list[SystemState],
        spec: DR,
        *,
        net: NetworkTruth,
        authority: WriteAuthority,
        settlement: Settlement,
        log: DecisionLog,
        capacity: RecoveryCapacity,
        repl: Replication,
        platform: Platform,
        calendar: Calendar,
        recorder: Recorder,
        monitored: tuple[int, ...],
        progress: Callable[[float], None],
        flows: FlowNetwork,
        recovery_point: Callable[[int, float, float], float],
    ) -> None:
        self.systems = systems
        self.flows = flows
        #: ``(system, before, by)``: start of its newest backup started by ``before`` and
        #: complete by ``by`` (:meth:`cloudsim.dr.backups.Backups.recovery_point`).
        self.recovery_point = recovery_point
        self.spec = spec
        self.net = net
        self.authority = authority
        self.settlement = settlement
        self.log = log
        self.capacity = capacity
        self.repl = repl
        self.platform = platform
        self.ha = platform.ha
        self.schedule = calendar.schedule
        self.record_event = recorder.event
        self.monitored = monitored
        self.progress = progress
        self.centres = net.centres
        self.witness = net.witness
        #: Bytes dropped from the queues: charged to a record as data lost, or absorbed in a
        #: loss recorded another way (a restore's backup window, the async queue's copy).
        self.charged_bytes = 0.0
        self.absorbed_bytes = 0.0

    def failover(self, state: SystemState, to: int | None, policy: str, time: float) -> None:
        """Fail the system over to centre ``to`` (``None``: where its design says): restore
        a corrupted or backup-only system (or to a centre holding no copy of its data), let
        one side of an active-active pair go on alone, or promote the standby."""
        plan = state.plan
        if state.phase in ("failing_over", "failing_back"):
            return
        if not plan.managed and not state.corrupted:
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

    def fence(self, centre: int, only: SystemState | None, policy: str, time: float) -> None:
        """Stop ``centre``'s writes for system ``only`` (``None``: every DR-managed system
        primary there), when the order can reach it; a pair's other side goes on."""
        targets = (
            [only]
            if only is not None
            else [st for st in self.systems if centre in st.primaries and st.plan.managed]
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
            record.unnecessary = self._fence_needless(state, centre)
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

    def _fence_needless(self, state: SystemState, centre: int) -> str:
        """Why fencing ``centre`` for the system was not required by any real fault ("":
        it was): the centre is alive and still in sync with its pair's other side (a gray
        link that drops heartbeats, not writes), or alive and reachable from every other
        centre of its design."""
        if not self.net.alive[centre]:
            return ""
        peer = peer_of(state.plan, centre)
        if peer is not None:
            return "false_alarm" if self.net.sync_ok(centre, peer) else ""
        others = [c for c in self.monitored if c != centre]
        return "false_alarm" if all(self.net.can_tell(c, centre) for c in others) else ""

    def shed(self, state: SystemState, centre: int | None, policy: str, time: float) -> None:
        """Stop the system's VMs in ``centre`` (``None``: wherever it serves) to free room;
        they are recreated at failback."""
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
                self.forget(state, row)
                self.platform.delete(row, time, kind=EventKind.DR_DELETE, reason="shed")
        state.phase = "shed"
        record.completed_at = time
        state.open.append(record)
        self.record_event(time, EventKind.DR_ACTION, system=plan.index, reason=f"{policy}: shed")
        self.settlement.refresh(time)

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
        self.charge(record, lost, time)
        record.unnecessary = "false_alarm" if self.net.alive[peer] else ""
        state.phase = "failed_over"
        state.open.append(record)
        self.record_event(
            time,
            EventKind.DR_ACTION,
            system=s,
            reason=f"{policy}: {self.centres[side]} continues alone",
        )
        # the side's clients and the lost side's reach it once the GSLB/DNS redirect is done
        gen = state.generation
        state.redirecting.add(side)
        self.schedule(
            time + self.spec.redirect_time, partial(self._redirected, state, side, record, gen)
        )
        if self.capacity.missing(state.plan, side, state.promoted):
            state.scaling.add(side)
            self.schedule(
                time + self.spec.start_time,
                partial(self._scale_out, state, side, record, gen),
            )
        self.settlement.settle(state, time)

    def _redirected(
        self, state: SystemState, side: int, record: Decision, gen: int, time: float
    ) -> None:
        """A pair side going on alone: traffic reaches it."""
        if gen != state.generation:
            return
        state.redirecting.discard(side)
        if side not in state.scaling:
            record.completed_at = time
            self.log.check_healed(record)
        self.settlement.refresh(time)
        self.progress(time)

    def _scale_out(
        self, state: SystemState, side: int, record: Decision, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        flavors = self.capacity.missing(state.plan, side, state.promoted)
        created, missing = self.create_for(state, flavors, side, time, "scale-out")
        record.vms_created += created
        record.vms_missing += missing
        state.scaling.discard(side)
        state.short = self._short(state, side)
        if side not in state.redirecting:
            record.completed_at = time
            self.log.check_healed(record)
        self.settlement.refresh(time)
        self.progress(time)

    def _short(self, state: SystemState, target: int) -> bool:
        """Whether the system runs fewer VMs than it needs at ``target`` (no room found)."""
        return int(self.capacity.running()[state.plan.index, target]) < state.plan.need

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
        self.charge(record, lost, time)
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
                self.forget(state, row)
                self.platform.delete(row, time, kind=EventKind.DR_DELETE, reason="resize_failed")
            created += grown
            missing += len(stuck)
            state.promoted = True
        flavors = self.capacity.missing(state.plan, target, state.promoted)
        c2, m2 = self.create_for(state, flavors, target, time, "failover")
        state.reserved = None
        record.vms_created += created + c2
        record.vms_missing += missing + m2
        self.schedule(
            time + self.spec.redirect_time, partial(self._activate, state, target, record, gen)
        )

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
        path = self.net.path_links(plan.backup_to, to) if plan.backup is not None else None
        if plan.backup is None:
            why = "no backup: the data cannot be restored"
        elif not self.net.alive[to]:
            why = "target down"
        elif not self.net.alive[plan.backup_to] or path is None:
            why = "no route from the backup centre"
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
        start = self.recovery_point(s, until, time)
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
        # the copy shares the links it crosses with the other restores (max-min fair)
        assert path is not None
        bandwidth = (plan.backup.restore_bandwidth or plan.backup.bandwidth) * GBPS
        copied = partial(self._copied, state, to, record, in_place, state.generation)
        state.restore_flow = self.flows.start(path, plan.restore_gb * 1e9, bandwidth, copied, time)
        self.settlement.settle(state, time)

    def _copied(
        self, state: SystemState, to: int, record: Decision, in_place: bool, gen: int, time: float
    ) -> None:
        """The restore copy is through: VMs start (elsewhere), then traffic is redirected."""
        if gen != state.generation:
            return
        state.restore_flow = None
        done = time + (0.0 if in_place else self.spec.start_time)
        self.schedule(done, partial(self._restored, state, to, record, in_place, gen))

    def _restored(
        self, state: SystemState, to: int, record: Decision, in_place: bool, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        if not in_place:
            flavors = self.capacity.missing(state.plan, to, state.promoted)
            created, missing = self.create_for(state, flavors, to, time, "restore")
            state.reserved = None
            record.vms_created += created
            record.vms_missing += missing
        self.schedule(
            time + self.spec.redirect_time, partial(self._activate, state, to, record, gen)
        )

    def _activate(
        self, state: SystemState, target: int, record: Decision, gen: int, time: float
    ) -> None:
        if gen != state.generation:
            return
        state.primaries.add(target)
        state.fenced.discard(target)
        state.phase = "failed_over"
        state.short = self._short(state, target)
        if state.corrupted and record.action == "restore":
            self._end_corruption(state, time)
        record.completed_at = time
        self.log.check_healed(record)
        self.settlement.refresh(time)
        self.progress(time)

    def rejoined(self, state: SystemState, time: float) -> None:
        """The two writers of a split brain can talk again (no witness): the operator's
        reconciliation ends it ``dr.reconcile_time`` later (once per rejoin)."""
        if not math.isnan(state.reconcile_at):
            return
        state.reconcile_at = time + self.spec.reconcile_time
        self.record_event(
            time, EventKind.DR_ACTION, system=state.plan.index, reason="reconciliation starts"
        )
        self.schedule(
            state.reconcile_at,
            partial(self._reconciled, state, state.generation, state.reconcile_at),
        )

    def _reconciled(self, state: SystemState, gen: int, due: float, time: float) -> None:
        """The reconciliation is done: the sides a newer decision replaced stand down and
        the writes they took apart are discarded (recorded as lost). Cut again meanwhile:
        nothing (the next rejoin starts a new one)."""
        if gen != state.generation or state.reconcile_at != due:
            return
        state.reconcile_at = math.nan
        plan = state.plan
        newest = state.winner
        if state.split_since is None or newest not in state.primaries:
            return
        stale = [c for c in sorted(state.primaries - {newest}) if self.net.can_tell(c, newest)]
        if not stale:
            return
        record = state.open[-1] if state.open else None
        for c in stale:
            state.primaries.discard(c)
            state.alone.discard(c)
            if c in plan.home and plan.mode == "active-active":
                lost = self.repl.drop_mirror(plan.index, plan.home.index(c))
                if record is None:
                    record = self.log.new_record(state, "reconcile", (c,), newest, time)
                    record.completed_at = time
                self.charge(record, lost, time)
            self.record_event(
                time,
                EventKind.DR_STAND_DOWN,
                system=plan.index,
                reason=f"{self.centres[c]} stands down: reconciled",
            )
        self.settlement.settle(state, time)

    def drop_copies(self, state: SystemState, time: float, reason: str) -> None:
        """Delete the system's DR copies and give a promoted warm standby back its size."""
        plan = state.plan
        for vm_id in list(state.dr_vms):
            row = self.capacity.row_of(vm_id)
            if row is not None:
                self.forget(state, row)
                self.platform.delete(row, time, kind=EventKind.DR_DELETE, reason=reason)
        state.dr_vms.clear()
        if state.promoted:
            assert plan.standby is not None
            self.capacity.shrink(state.warm_vms, plan.index, plan.standby.size)
            state.promoted = False

    def resume_home(self, state: SystemState, policy: str, time: float) -> None:
        """Stop a recovery elsewhere that has not brought the system up yet (a restore or a
        promotion still under way) and serve from its own centres again, alive with their
        data intact: the service is restored by whichever comes first, the recovery or the
        repair. The recovery's record is kept as unnecessary (``healed_first``); nothing it
        charged as lost is lost, since the home copy is intact."""
        plan = state.plan
        s = plan.index
        state.generation += 1  # the recovery's pending steps are stale
        if state.restore_flow is not None:  # its bandwidth goes to the other restores
            self.flows.cancel(state.restore_flow, time)
            state.restore_flow = None
        self.drop_copies(state, time, "home back")
        self.absorbed_bytes += self.repl.drop_away(s)
        state.reserved = None
        state.short = False
        state.redirecting.clear()
        state.scaling.clear()
        state.primaries = set(plan.home)
        state.fenced.clear()
        state.alone.clear()
        state.winner = -1
        state.refused.clear()
        state.holder = self.authority.initial_holder(plan)
        state.phase = "normal"
        for record in state.open:
            if record.action in ("failover", "restore") and math.isnan(record.completed_at):
                record.unnecessary = record.unnecessary or "healed_first"
            record.failback_decided_at = record.failback_done_at = time
        self.unlose(state)
        state.open.clear()
        self.record_event(
            time,
            EventKind.DR_ACTION,
            system=s,
            reason=f"{policy}: home back, recovery elsewhere stopped",
        )
        self.settlement.refresh(time)
        self.progress(time)

    def unlose(self, state: SystemState) -> None:
        """The system resumes at home with its intact copy, never having served from its
        recovery: what its open recoveries recorded as lost (the writes since the backup,
        the async copy's lag) was not lost after all."""
        for record in state.open:
            if record.action == "failover":  # charged when it was decided
                self.charged_bytes -= record.data_lost_bytes
                self.absorbed_bytes += record.data_lost_bytes
            if record.action in ("failover", "restore"):
                record.data_lost_bytes = 0.0
                record.data_lost_s = 0.0

    def _end_corruption(self, state: SystemState, time: float) -> None:
        """The restored data is whole again; in its own centres the system is back to normal."""
        state.corrupted = False
        state.noticed = False
        if state.corrupt_outage is not None:
            state.corrupt_outage.end = time
        state.corrupt_outage = None
        if set(state.primaries) == set(state.plan.home) or not state.plan.managed:
            state.phase = "normal"
            for record in state.open:
                record.failback_decided_at = record.failback_done_at = time
            state.open.clear()

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

    def _depose(self, state: SystemState, source: Sequence[int], target: int) -> None:
        """The primaries left behind stop being primary if they are dead or can be told."""
        for c in source:
            if not self.net.alive[c] or self.net.can_tell(target, c):
                state.primaries.discard(c)

    def charge(self, record: Decision, lost: float, time: float) -> None:
        """Charge ``lost`` bytes to ``record`` as data lost, and the seconds of writing they
        represent, ending at ``time`` (or when the system stopped writing, if earlier)."""
        record.data_lost_bytes += lost
        self.charged_bytes += lost
        if lost > 0:
            amount = np.zeros(len(self.systems))
            amount[record.system] = lost
            end = min(time, self.systems[record.system].stopped_writing)
            record.data_lost_s += float(self.repl.age(amount, end)[record.system])

    def forget(self, state: SystemState, row: int) -> None:
        """Drop the VM at ``row`` from DR's and local HA's bookkeeping (before deleting it)."""
        vm_id = self.capacity.vm_id(row)
        self.ha.waiting.pop(vm_id, None)
        if vm_id in state.dr_vms:
            state.dr_vms.remove(vm_id)
        if vm_id in state.warm_vms:
            state.warm_vms.remove(vm_id)

    def create_for(
        self, state: SystemState, flavors: list[int], centre: int, time: float, reason: str
    ) -> tuple[int, int]:
        """Create VMs of ``flavors`` for the system at ``centre`` through the placer:
        (created, missing)."""
        rows, missing = self.capacity.create(state.plan.index, flavors, centre, time, reason)
        state.dr_vms.extend(self.capacity.vm_id(r) for r in rows)
        return len(rows), missing
