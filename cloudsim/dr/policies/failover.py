"""The built-in failover policies: ``manual``, ``timeout``, ``witness-quorum`` and
``capacity-aware`` (see :mod:`cloudsim.dr.policies`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cloudsim.dr.observation import (
    PRIORITIES,
    Action,
    FailOver,
    FailOverCentre,
    Fence,
    Observation,
    Resources,
    Shed,
    SystemStatus,
    Wait,
)
from cloudsim.dr.policies.base import check_params, delay_sampler, make_policy
from cloudsim.units import parse_duration

# -- what the monitors say about a system ---------------------------------------------------


def _active_pair(status: SystemStatus) -> tuple[str, str] | None:
    """The two home centres of an active-active system still both primary and unfenced."""
    if status.mode != "active-active" or len(status.home) != 2:
        return None
    a, b = status.home
    live = set(status.primaries) - set(status.fenced)
    return (a, b) if {a, b} <= live else None


def _serving(status: SystemStatus) -> list[str]:
    return [c for c in status.primaries if c not in status.fenced]


def _lost(obs: Observation, centre: str, by: Sequence[str]) -> bool:
    """Whether every node in ``by`` (other than ``centre``) reports ``centre`` unreachable."""
    judges = [node for node in by if node != centre]
    return bool(judges) and all(not obs.hears(node, centre) for node in judges)


def _preferred(status: SystemStatus, prefer: str | None) -> str:
    if prefer is not None and prefer in status.home:
        return prefer
    return status.home[0]


class Patience:
    """When a recovery elsewhere is worth starting (policy parameters ``restore_delay`` and
    ``wait_for_home``): a restore from backup waits ``restore_delay`` after the home was
    lost (an operator's rule: do not restore for a short outage); any recovery elsewhere
    waits when the home copy is intact and the home is expected back (the operations team's
    estimate, which can be wrong) before the recovery would have finished. Once the estimate
    (and three heartbeat intervals for the home to answer) has passed without the home
    back, it recovers."""

    KNOWN = frozenset({"restore_delay", "wait_for_home"})

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.restore_delay = parse_duration(params.get("restore_delay", 0))
        self.wait_for_home = bool(params.get("wait_for_home", True))

    def wait(self, obs: Observation, status: SystemStatus, lost: Sequence[str]) -> Wait | None:
        """A Wait while recovering ``status`` away from the ``lost`` centres is not yet worth
        it (None: recover now)."""
        if status.corrupted or not status.home_intact:
            return None
        since = [
            view.since for view in obs.heartbeats if view.target in lost and not view.reachable
        ]
        if status.mode == "backup-only" and since and self.restore_delay > 0:
            due = min(since) + self.restore_delay
            if obs.time < due:
                return Wait(until=due, reason=f"{status.name}: restore delay")
        eta = status.home_back_at
        if not self.wait_for_home or eta is None:
            return None
        # the home answers within a heartbeat or two of its repair: give it three
        grace = 3 * obs.heartbeat_interval
        if obs.time < eta + grace and eta <= obs.time + status.recovery_s:
            return Wait(until=eta + grace, reason=f"{status.name}: home expected back first")
        return None


def _settling(obs: Observation, since: list[float], settle: float) -> Wait | None:
    """A Wait until ``settle`` after the first report in ``since`` (None: settled).

    Monitors of one lost node report within a heartbeat interval of each other; acting on
    the first report alone would read the witness's not-yet-updated view as a partition."""
    ready = min(since) + settle
    if obs.time < ready:
        return Wait(until=ready, reason="reports settling")
    return None


def _quorum_actions(
    obs: Observation,
    status: SystemStatus,
    witness: str | None,
    prefer: str | None,
    settle: float,
    patience: Patience,
) -> list[Action]:
    """Majority-of-three decisions for one system; ``witness`` None: no automatic failover
    on a partition (which cannot be told from a loss)."""
    if status.phase in ("failing_over", "failing_back", "shed"):
        return []
    if status.corrupted:
        return [FailOver(status.name)] if status.phase == "normal" else []
    pair = _active_pair(status)
    if pair is not None:
        a, b = pair
        # both sides lost for the standby and the witness (their own views froze with them)
        remote = _remote_actions(obs, status, [a, b], witness, settle, patience)
        if remote:
            return remote
        broken = [
            t for t in (obs.unreachable_since(a, b), obs.unreachable_since(b, a)) if t is not None
        ]
        if not broken:
            return []
        if witness is None:
            return [Wait(reason=f"{status.name}: {a} and {b} lost each other, no witness")]
        wait = _settling(obs, broken, settle)
        if wait is not None:
            return [wait]
        a_w = obs.hears(witness, a) and obs.hears(a, witness)
        b_w = obs.hears(witness, b) and obs.hears(b, witness)
        if a_w and b_w:  # a partition between the pair: the witness picks one side
            keep = _preferred(status, prefer)
            return [Fence(b if keep == a else a, status.name)]
        if a_w or b_w:  # one side lost for its peer and the witness: two votes of three
            return [FailOver(status.name, to=a if a_w else b)]
        return []
    serving = _serving(status)
    if not serving or witness is None:
        return []
    return _remote_actions(obs, status, serving, witness, settle, patience)


def _remote_actions(
    obs: Observation,
    status: SystemStatus,
    serving: list[str],
    witness: str | None,
    settle: float,
    patience: Patience,
) -> list[Action]:
    """Fail over to the standby (or restore centre) when it and the witness both lost
    every serving centre (no witness: never)."""
    target = status.standby or (status.restore_to if status.mode == "backup-only" else None)
    if target is None or target in serving or witness is None:
        return []
    judges = [target, witness]
    if not all(_lost(obs, centre, judges) for centre in serving):
        return []
    since = [t for c in serving for j in judges if (t := obs.unreachable_since(j, c)) is not None]
    wait = _settling(obs, since, settle) if since else None
    if wait is None:
        wait = patience.wait(obs, status, serving)
    return [wait] if wait is not None else [FailOver(status.name, to=target)]


class QuorumPolicy:
    """``witness-quorum``: majority of three (see the module docstring). ``settle``: how
    long after the first report to decide (default: two heartbeat intervals)."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, {"prefer", "settle", *Patience.KNOWN}, "witness-quorum")
        self.patience = Patience(params)
        self.prefer: str | None = params.get("prefer")
        self.settle = parse_duration(params["settle"]) if "settle" in params else None

    def decide(self, observation: Observation) -> list[Action]:
        settle = self.settle if self.settle is not None else 2 * observation.heartbeat_interval
        actions: list[Action] = []
        for status in observation.systems:
            actions.extend(
                _quorum_actions(
                    observation, status, observation.witness, self.prefer, settle, self.patience
                )
            )
        return actions


class TimeoutPolicy:
    """``timeout``: every centre acts on its own view once its monitor reports a loss."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, set(Patience.KNOWN), "timeout")
        self.patience = Patience(params)

    def decide(self, observation: Observation) -> list[Action]:
        actions: list[Action] = []
        for status in observation.systems:
            if status.phase in ("failing_over", "failing_back", "shed"):
                continue
            if status.corrupted:
                if status.phase == "normal":
                    actions.append(FailOver(status.name))
                continue
            pair = _active_pair(status)
            serving = _serving(status)
            if pair is not None:
                a, b = pair
                for side, peer in ((a, b), (b, a)):
                    if not observation.hears(side, peer):
                        actions.append(FailOver(status.name, to=side))
            target = status.standby or (status.restore_to if status.mode == "backup-only" else None)
            if (
                target is not None
                and serving
                and target not in serving
                and all(not observation.hears(target, c) for c in serving)
            ):
                wait = self.patience.wait(observation, status, serving)
                actions.append(wait if wait is not None else FailOver(status.name, to=target))
        return actions


class ManualPolicy:
    """``manual``: an operator acts a response time after each new alarm."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, {"response", "prefer", *Patience.KNOWN}, "manual")
        self.patience = Patience(params)
        default = {"distribution": "lognormal", "median": "30m", "sigma": 0.5}
        self.response = delay_sampler(params.get("response", default), rng, "manual.response")
        self.prefer: str | None = params.get("prefer")
        self.alarms: dict[str, float] = {}  # problem -> when the operator will have acted

    def _problems(self, obs: Observation) -> list[str]:
        found = [f"suspected:{c}" for c in obs.suspected]
        for view in obs.heartbeats:
            if not view.reachable:
                found.append(f"lost:{view.source}>{view.target}")
        found.extend(f"corrupted:{s.name}" for s in obs.systems if s.corrupted)
        return found

    def decide(self, observation: Observation) -> list[Action]:
        now = observation.time
        problems = self._problems(observation)
        for gone in set(self.alarms) - set(problems):
            del self.alarms[gone]
        for problem in problems:
            if problem not in self.alarms:
                self.alarms[problem] = now + self.response()
        pending = [t for t in self.alarms.values() if t > now]
        if pending:
            return [Wait(until=min(pending), reason="operator responding")]
        if not problems:
            return []
        # the operator hears every site: a centre nobody hears is lost (an implicit witness)
        actions: list[Action] = []
        for status in observation.systems:
            actions.extend(self._judge(observation, status))
        return actions

    def _judge(self, obs: Observation, status: SystemStatus) -> list[Action]:
        if status.phase in ("failing_over", "failing_back", "shed"):
            return []
        if status.corrupted:
            return [FailOver(status.name)] if status.phase == "normal" else []
        lost = set(obs.suspected)
        pair = _active_pair(status)
        if pair is not None:
            a, b = pair
            if obs.hears(a, b) and obs.hears(b, a):
                return []
            if a not in lost and b not in lost:
                keep = _preferred(status, self.prefer)
                return [Fence(b if keep == a else a, status.name)]
            if a in lost and b in lost:
                target = status.standby
                if not target:
                    return []
                wait = self.patience.wait(obs, status, [a, b])
                return [wait if wait is not None else FailOver(status.name, to=target)]
            return [FailOver(status.name, to=b if a in lost else a)]
        serving = _serving(status)
        target = status.standby or (status.restore_to if status.mode == "backup-only" else None)
        if serving and target and target not in serving and all(c in lost for c in serving):
            wait = self.patience.wait(obs, status, serving)
            return [wait if wait is not None else FailOver(status.name, to=target)]
        return []


class CapacityAwarePolicy:
    """``capacity-aware``: a base policy's failovers in priority order, where there is room."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, {"base", "base_params"}, "capacity-aware")
        base = str(params.get("base", "witness-quorum"))
        if base == "capacity-aware":
            raise ValueError("capacity-aware cannot be its own base")
        try:
            self.base = make_policy(base, params.get("base_params", {}), rng)
        except KeyError:
            raise ValueError(f"capacity-aware: unknown base policy {base!r}") from None

    def decide(self, observation: Observation) -> list[Action]:
        proposed = list(self.base.decide(observation))
        statuses = {s.name: s for s in observation.systems}
        failovers: list[FailOver] = []
        others: list[Action] = []
        for action in proposed:
            if isinstance(action, FailOverCentre):
                failovers.extend(
                    FailOver(s.name) for s in observation.systems if action.centre in s.primaries
                )
            elif isinstance(action, FailOver):
                failovers.append(action)
            else:
                others.append(action)
        rank = {p: i for i, p in enumerate(PRIORITIES)}
        failovers.sort(key=lambda a: (rank.get(statuses[a.system].priority, 9), a.system))
        free = {
            centre: {zone: list(room) for zone, room in zones.items()}
            for centre, zones in observation.free.items()
        }
        shed: set[str] = set()
        kept: list[Action] = []
        for action in failovers:
            status = statuses[action.system]
            target = action.to or status.standby or status.restore_to
            if target is None or target not in status.demand_at:
                kept.append(action)  # nothing to place (e.g. a restore in place)
                continue
            need = status.demand_at[target]
            room = free.setdefault(target, {}).setdefault(status.zone, [0, 0, 0])
            if _covers(room, need) and status.room_at.get(target, True):
                _take(room, need)
                kept.append(action)
                continue
            if status.priority == "normal":
                continue  # degraded: a normal system waits for failback
            for victim in self._victims(observation, target, status.zone, shed):
                _give(room, victim.held_at(target))
                shed.add(victim.name)
                kept.append(Shed(victim.name, target))
                if _covers(room, need):
                    break
            # a critical or important system goes anyway: what fits of it runs
            _take(room, need)
            kept.append(action)
        return [*others, *kept]

    @staticmethod
    def _victims(obs: Observation, centre: str, zone: str, shed: set[str]) -> list[_Holder]:
        found = []
        for s in obs.systems:
            if (
                s.priority == "normal"
                and s.zone == zone
                and s.phase != "shed"
                and s.name not in shed
                and centre in _serving(s)
                and centre in s.held
            ):
                found.append(_Holder(s))
        found.sort(key=lambda h: -sum(h.held_at(centre)))
        return found


def _covers(room: list[int], need: Resources) -> bool:
    return all(have >= want for have, want in zip(room, need, strict=True))


def _take(room: list[int], need: Resources) -> None:
    for r, want in enumerate(need):
        room[r] = max(0, room[r] - want)


def _give(room: list[int], back: Resources) -> None:
    for r, amount in enumerate(back):
        room[r] += amount


class _Holder:
    def __init__(self, status: SystemStatus) -> None:
        self.status = status
        self.name = status.name

    def held_at(self, centre: str) -> Resources:
        return self.status.held.get(centre, (0, 0, 0))


# -- failback ----------------------------------------------------------------------------------
