"""``check_failover_policy``: the contract a failover (or failback) policy must keep.

Run it on your own policy before plugging it in::

    from cloudsim.dr.contract import check_failover_policy
    check_failover_policy(MyPolicy, {"threshold": 3})   # a factory (params, rng) -> policy
    check_failover_policy("witness-quorum")              # or a registered name

It feeds the policy a fixed sequence of observations (all quiet; a partition of an
active-active pair; a centre lost; a corruption reported; everything heard again) and
checks that it

- has a ``decide(observation)`` method that returns a list or tuple of actions, each valid
  for the observation (:func:`cloudsim.dr.observation.action_problem`), without raising;
- does not change the observation it was shown;
- holds no handle on the simulator (the simulation, controller, injector, platform, host
  table, placer, recorder or simpy environment) — and that observations themselves are
  plain data, so ground truth is out of reach;
- decides the same, observation for observation, when built twice with the same seed.

Problems are collected and raised together as :class:`PolicyContractError`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from cloudsim.dr.observation import (
    HeartbeatView,
    Observation,
    SystemStatus,
    action_problem,
)
from cloudsim.dr.policies import POLICIES, FailoverPolicy, PolicyFactory

PLAIN = (str, int, float, bool, type(None))
#: Class names of simulator objects a policy must not hold.
FORBIDDEN = (
    "Simulation",
    "DRController",
    "FaultInjector",
    "Platform",
    "HostTable",
    "VMTable",
    "Placer",
    "Recorder",
    "Environment",
    "Topology",
)


class PolicyContractError(AssertionError):
    """A policy broke the contract; ``problems`` says how."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def assert_plain(value: object, path: str = "observation") -> None:
    """Raise TypeError unless ``value`` is plain data: scalars, tuples, read-only mappings
    and frozen dataclasses of them (what an Observation must be)."""
    if isinstance(value, PLAIN):
        return
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            assert_plain(item, f"{path}[{i}]")
        return
    if isinstance(value, MappingProxyType):
        for key, item in value.items():
            assert_plain(key, f"{path} key")
            assert_plain(item, f"{path}[{key!r}]")
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise TypeError(f"{path}: {type(value).__name__} is not a frozen dataclass")
        for f in dataclasses.fields(value):
            assert_plain(getattr(value, f.name), f"{path}.{f.name}")
        return
    raise TypeError(f"{path}: {type(value).__name__} is not plain data")


def snapshot(value: object) -> object:
    """A comparable copy of plain data (read-only mappings cannot be deep-copied)."""
    if isinstance(value, tuple | list):
        return tuple(snapshot(item) for item in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), snapshot(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple((f.name, snapshot(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    return value


def _holds_simulator(obj: object, depth: int = 0, seen: set[int] | None = None) -> str | None:
    """The path to a simulator object inside ``obj`` (attributes, containers), if any."""
    seen = seen if seen is not None else set()
    if id(obj) in seen or depth > 4 or isinstance(obj, PLAIN):
        return None
    seen.add(id(obj))
    if type(obj).__name__ in FORBIDDEN:
        return type(obj).__name__
    children: list[tuple[str, object]] = []
    if isinstance(obj, Mapping):
        children = [(f"[{k!r}]", v) for k, v in obj.items()]
    elif isinstance(obj, list | tuple | set | frozenset):
        children = [(f"[{i}]", v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = [(f".{k}", v) for k, v in vars(obj).items()]
    cell_owner = getattr(obj, "__closure__", None)
    if cell_owner:
        children += [(".<closure>", c.cell_contents) for c in cell_owner if _filled(c)]
    bound = getattr(obj, "__self__", None)
    if bound is not None and not isinstance(bound, type):
        children.append((".__self__", bound))
    for name, child in children:
        found = _holds_simulator(child, depth + 1, seen)
        if found is not None:
            return f"{name}{'' if found.startswith(('.', '[')) else ' -> '}{found}"
    return None


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def sample_observations() -> list[Observation]:
    """The fixed sequence the checker replays (pure data, no simulator)."""
    centres = ("dc-a", "dc-b", "dr")
    witness = "witness@w"
    nodes = (*centres, witness)
    zone = "extranet"

    def beats(lost: set[tuple[str, str]], since: float) -> tuple[HeartbeatView, ...]:
        return tuple(
            HeartbeatView(a, b, (a, b) not in lost, since if (a, b) in lost else 0.0)
            for a in nodes
            for b in nodes
            if a != b
        )

    def systems(phase: str = "normal", corrupted: bool = False) -> tuple[SystemStatus, ...]:
        room = MappingProxyType({"dc-a": True, "dc-b": True, "dr": True})
        demand = MappingProxyType(
            {"dc-a": (8000, 16384, 200), "dc-b": (8000, 16384, 200), "dr": (16000, 32768, 400)}
        )
        held = MappingProxyType({"dc-a": (8000, 16384, 200), "dc-b": (8000, 16384, 200)})
        common: dict[str, Any] = {
            "zone": zone,
            "lag_s": 12.0,
            "need": 2,
            "held": held,
            "demand_at": demand,
            "room_at": room,
            # the home is announced back at 400 s; a recovery elsewhere takes an hour
            "home_back_at": 400.0,
            "recovery_s": 3600.0,
        }
        return (
            SystemStatus(
                name="aa",
                priority="critical",
                mode="active-active",
                home=("dc-a", "dc-b"),
                standby="dr",
                restore_to="dr",
                primaries=("dc-a", "dc-b"),
                fenced=(),
                phase=phase,
                corrupted=False,
                **common,
            ),
            SystemStatus(
                name="as",
                priority="normal",
                mode="active-standby",
                home=("dc-a",),
                standby="dr",
                restore_to="dr",
                primaries=("dc-a",) if phase == "normal" else ("dr",),
                fenced=(),
                phase=phase,
                corrupted=corrupted,
                **common,
            ),
            SystemStatus(
                name="bk",
                priority="important",
                mode="backup-only",
                home=("dc-b",),
                standby=None,
                restore_to="dr",
                primaries=("dc-b",),
                fenced=(),
                phase="normal",
                corrupted=False,
                **common,
            ),
        )

    free = MappingProxyType({c: MappingProxyType({zone: (64000, 262144, 8000)}) for c in centres})
    site_of = MappingProxyType({"dc-a": "city", "dc-b": "city", "dr": "far"})

    def obs(
        time: float,
        reason: str,
        lost: set[tuple[str, str]],
        since: float,
        systems_: tuple[SystemStatus, ...],
        suspected: tuple[str, ...] = (),
    ) -> Observation:
        return Observation(
            time=time,
            reason=reason,
            centres=centres,
            site_of=site_of,
            witness=witness,
            heartbeat_interval=1.0,
            heartbeats=beats(lost, since),
            systems=systems_,
            free=free,
            suspected=suspected,
        )

    partition = {("dc-a", "dc-b"), ("dc-b", "dc-a")}
    a_lost = {(n, "dc-a") for n in nodes if n != "dc-a"}
    return [
        obs(0.0, "progress", set(), 0.0, systems()),
        obs(103.0, "heartbeat", partition, 103.0, systems()),
        obs(110.0, "timer", partition, 103.0, systems()),
        obs(203.0, "heartbeat", a_lost, 203.0, systems(), ("dc-a",)),
        obs(210.0, "timer", a_lost, 203.0, systems(), ("dc-a",)),
        obs(300.0, "corruption", set(), 0.0, systems(corrupted=True)),
        obs(9000.0, "heartbeat", set(), 0.0, systems(phase="failed_over")),
        obs(90000.0, "timer", set(), 0.0, systems(phase="failed_over")),
    ]


def _factory(policy: object, params: Mapping[str, Any]) -> tuple[Callable[[int], Any], str]:
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise PolicyContractError([f"no policy registered as {policy!r}"])
        factory = POLICIES.get(policy)
        return (lambda seed: factory(params, np.random.default_rng(seed))), policy
    if isinstance(policy, type) or (callable(policy) and not hasattr(policy, "decide")):
        maker = policy
        return (lambda seed: maker(params, np.random.default_rng(seed))), getattr(
            policy, "__name__", repr(policy)
        )
    template = policy
    return (lambda seed: copy.deepcopy(template)), type(policy).__name__


def check_failover_policy(
    policy: FailoverPolicy | PolicyFactory | str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    observations: Sequence[Observation] | None = None,
) -> None:
    """Check a policy (a registered name, a factory ``(params, rng) -> policy``, or an
    instance) against the contract; raise :class:`PolicyContractError` listing problems."""
    make, name = _factory(policy, dict(params or {}))
    sequence = list(observations) if observations is not None else sample_observations()
    problems: list[str] = []
    for i, observation in enumerate(sequence):
        try:
            assert_plain(observation)
        except TypeError as exc:
            problems.append(f"observation {i} is not plain data: {exc}")
    try:
        first, second = make(seed), make(seed)
    except Exception as exc:
        message = f"{name}: building it raised {type(exc).__name__}: {exc}"
        raise PolicyContractError([message]) from None
    if not callable(getattr(first, "decide", None)):
        raise PolicyContractError([f"{name}: has no decide(observation) method"])
    holder = _holds_simulator(first)
    if holder is not None:
        problems.append(f"{name}: holds a simulator object ({holder}): it could read ground truth")
    decisions: list[list[Any]] = [[], []]
    for i, observation in enumerate(sequence):
        before = snapshot(observation)
        for k, instance in enumerate((first, second)):
            try:
                result = instance.decide(observation)
            except Exception as exc:
                problems.append(
                    f"{name}: decide raised {type(exc).__name__}: {exc} at observation {i}"
                )
                result = None
            if result is None:
                decisions[k].append(None)
                continue
            if not isinstance(result, list | tuple):
                problems.append(
                    f"{name}: decide returned {type(result).__name__} at observation {i}; "
                    "expected a list of actions"
                )
                decisions[k].append(None)
                continue
            if k == 0:
                for action in result:
                    problem = action_problem(action, observation)
                    if problem is not None:
                        problems.append(f"{name}: observation {i}: {problem}")
            decisions[k].append(list(result))
        if snapshot(observation) != before:
            problems.append(f"{name}: changed the observation it was shown (observation {i})")
    for i, (a, b) in enumerate(zip(*decisions, strict=True)):
        if a != b:
            problems.append(
                f"{name}: not deterministic: two instances with seed {seed} decided {a!r} and "
                f"{b!r} at observation {i}"
            )
            break
    if problems:
        raise PolicyContractError(problems)
