"""Settlement: after every change, each system's ground truth is worked out again.

- **stand-down**: a stale primary that can reach the centre a newer decision made primary
  learns it was replaced and stops. Without a witness, two sides that wrote apart (a split
  brain) go on writing when they can talk again, until the operator reconciles them
  (``dr.reconcile_time`` later, :meth:`Recovery.rejoined`): the newest decision wins, the
  loser's writes are discarded and recorded as lost;
- **serving** = writable (:mod:`cloudsim.dr.control.authority`): the availability ledger
  counts a system's running VMs in its serving centres (the :class:`ServingLog`);
- **split-brain**: the intervals during which two or more writable centres are not in sync
  (it lasts until the older primary stands down, or the failback reconciles them); each is
  charged to the system's open decision record;
- **replication inputs**: who writes, into which queues (async, unmirrored, away from
  home) and at what throughput, for :class:`~cloudsim.dr.replication.Replication`; each
  async stream is a persistent flow of :mod:`cloudsim.platform.flows` at most its share of its
  route, sharing the links with the restores (its queue drains at the rate it gets).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from cloudsim.dr.control.authority import WriteAuthority, sync_pair
from cloudsim.dr.control.log import DecisionLog
from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.replication import Replication
from cloudsim.dr.state import SystemState
from cloudsim.platform.flows import FlowNetwork
from cloudsim.records import EventKind, Recorder, ServingLog

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def async_shares(plans: list[SystemPlan]) -> FloatArray:
    """Each system's share of its async route: as set, else in proportion to its mean
    write rate among the systems replicating to the same centre (equal if none write)."""
    share = np.zeros(len(plans))
    for i, p in enumerate(plans):
        if p.async_to < 0:
            continue
        peers = [q for q in plans if q.async_to == p.async_to]
        total = sum(q.write_rate for q in peers)
        default = p.write_rate / total if total > 0 else 1.0 / len(peers)
        share[i] = p.async_share if p.async_share is not None else default
    return share


class Settlement:
    """Settles every system after a change (see the module docstring).

    ``reroute(time)`` is called first when the network changed (the heartbeat monitors
    follow the new routes); ``log`` makes the records split-brain intervals are charged to
    when no decision is open.
    """

    def __init__(
        self,
        systems: list[SystemState],
        *,
        net: NetworkTruth,
        authority: WriteAuthority,
        repl: Replication,
        log: DecisionLog,
        recorder: Recorder,
        reroute: Callable[[float], None],
        flows: FlowNetwork,
    ) -> None:
        self.systems = systems
        self.flows = flows
        self.net = net
        self.authority = authority
        self.repl = repl
        self.log = log
        self.record_event = recorder.event
        self.reroute = reroute
        #: Called when a split pair can talk again without a witness (the controller sets it
        #: to :meth:`~cloudsim.dr.control.recovery.Recovery.rejoined`): the operator's
        #: reconciliation, a timed step, ends the split.
        self.rejoined: Callable[[SystemState, float], None] = lambda state, time: None
        self.centres = net.centres
        plans = [state.plan for state in systems]
        #: Where each system is served from (ground truth), for the availability ledger.
        self.serving = ServingLog(np.zeros((len(plans), len(self.centres)), dtype=np.bool_))
        self.split_brain_s = np.zeros(len(plans))
        #: Each system's share of its async route, and of a synchronous pair's interconnect.
        self.async_share = async_shares(plans)
        self.pair_share = 1.0 / max(1, sum(1 for p in plans if p.sync))

    def begin(self) -> None:
        """Settle every system at time 0: where each serves then is the serving log's start."""
        self.refresh(0.0)
        for state in self.systems:
            for c in state.serving:
                self.serving.initial[state.plan.index, c] = True
        self.serving.changes.clear()

    def refresh(self, time: float, force: bool = True) -> None:
        """Recompute the truth after a change: routes, monitors, writable centres. A fault
        that leaves every centre's life and every route as they were (a host, a rack) changes
        nothing here unless ``force``."""
        self.repl.advance(time)
        changed = self.net.refresh()
        if not (changed or force):
            return
        if changed:
            self.reroute(time)
        for state in self.systems:
            self.settle(state, time)

    def settle(self, state: SystemState, time: float) -> None:
        """Serving centres, split-brain and the replication inputs of one system."""
        plan = state.plan
        s = plan.index
        newest = state.winner
        if newest >= 0 and newest in state.primaries:
            stale = sorted(state.primaries - {newest})
            if (
                state.split_since is not None
                and self.net.witness is None
                and any(self.net.can_tell(c, newest) for c in stale)
            ):
                # two writers that can talk again: the operator must reconcile them first
                self.rejoined(state, time)
                stale = []
            for c in stale:
                if self.net.can_tell(c, newest):  # a stale primary learns it was replaced
                    state.primaries.discard(c)
                    state.alone.discard(c)
                    self.record_event(
                        time,
                        EventKind.DR_STAND_DOWN,
                        system=s,
                        reason=f"{self.centres[c]} stands down",
                    )
        writers = self.authority.writable(state)
        serving = frozenset(writers)
        if serving != state.serving:
            for c in sorted(serving ^ state.serving):
                self.serving.changes.append((time, s, c, c in serving))
            state.serving = serving
        if writers:
            state.stopped_writing = math.inf
        elif state.stopped_writing == math.inf:
            state.stopped_writing = time
        split = self.authority.split(state, writers)
        if split and state.split_since is None:
            state.split_since = time
            self.record_event(
                time, EventKind.SPLIT_BRAIN, system=s, reason="two writable primaries"
            )
        elif not split and state.split_since is not None:
            self.end_split(state, time)
        # a system short of VMs where it serves carries no load: it takes no writes
        self._replication_inputs(state, set() if state.short else writers, time)

    def end_split(self, state: SystemState, time: float) -> None:
        """Close the system's split-brain interval at ``time``."""
        assert state.split_since is not None
        span = time - state.split_since
        state.split_since = None
        s = state.plan.index
        self.split_brain_s[s] += span
        target = state.open[-1] if state.open else None
        if target is None:
            target = self.log.new_record(state, "split_brain", (), -1, time - span)
            target.completed_at = time
        target.split_brain_s += span

    def _replication_inputs(self, state: SystemState, writers: set[int], time: float) -> None:
        """What the system's queues receive while ``writers`` take its writes (an equal
        share each), and what its routes can ship."""
        plan = state.plan
        s = plan.index
        repl = self.repl
        n = len(writers)
        share = 1.0 / n if n else 0.0
        repl.away_in[s] = share * len(writers - set(plan.home))
        if plan.async_to < 0:
            repl.write_on[s] = 1.0 if n else 0.0
        else:
            repl.set_flow(
                s,
                1.0 if n else 0.0,
                share * len(writers - {plan.async_to, *self._not_home(plan)}),
            )
            sources = [
                c
                for c in (*plan.home, *state.primaries)
                if c != plan.async_to and self.net.alive[c]
            ]
            best = max(((self.net.throughput(c, plan.async_to), c) for c in sources), default=None)
            cap = best[0] if best is not None else 0.0
            path = None
            if best is not None and cap > 0:  # in flight: one-way latency, transfer, apply
                rtt_ms = self.net.route(best[1], plan.async_to, False)[1]
                repl.flight[s] = rtt_ms / 2000.0 + plan.async_delay
                path = self.net.path_links(best[1], plan.async_to)
            # the stream shares its route's links with the restores crossing them
            self.flows.stream(s, path, cap * self.async_share[s], time)
            repl.async_cap[s] = self.flows.stream_rate(s)
        pair = sync_pair(plan)
        if pair is not None:
            synced = self.authority.in_sync(state) if plan.mode == "active-active" else False
            a, b = pair
            for side, (c, other) in enumerate(((a, b), (b, a))):
                mirrored = synced or (plan.mode != "active-active" and self.net.sync_ok(c, other))
                repl.mirror_in[s, side] = share if (c in writers and not mirrored) else 0.0
            divergent = (repl.mirror[s] > 0).all()
            connected = (
                self.net.sync_ok(a, b)
                if plan.mode == "active-active"
                else (
                    self.net.route(a, b, False)[0] and bool(self.net.alive[a] and self.net.alive[b])
                )
            )
            resync = connected and not divergent and not state.alone
            repl.mirror_cap[s] = self.net.throughput(a, b) * self.pair_share if resync else 0
        else:
            repl.mirror_in[s] = 0.0

    def _not_home(self, plan: SystemPlan) -> set[int]:
        """Centres whose writes count as 'away' (they are copied home at failback)."""
        return set(range(len(self.centres))) - set(plan.home)
