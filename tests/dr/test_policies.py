"""Failover policies: the contract checker, the registry and entry points, and policies that
misbehave in a run (a recorded, named failure, never a lost run)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any

import numpy as np
import pytest

from cloudsim import Simulation
from cloudsim.dr.contract import (
    PolicyContractError,
    assert_plain,
    check_failover_policy,
    sample_observations,
)
from cloudsim.dr.observation import Action, FailOver, FailOverCentre, Fence, Observation, Wait
from cloudsim.dr.policies import BUILTIN, POLICIES, make_policy, register_policy
from tests.conftest import dr_of
from tests.dr.builders import centre_down, cut, dr_scenario, run


@pytest.fixture(autouse=True)
def registry_restored() -> Iterator[None]:
    """The policies a test registers are gone after it."""
    with POLICIES.scoped():
        yield


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_policy_keeps_the_contract(name: str) -> None:
    check_failover_policy(name)


def test_the_builtins_are_registered_once_in_code_not_as_entry_points() -> None:
    published = {e.name for e in entry_points(group="cloudsim.policies")}
    assert not set(BUILTIN) & published  # the group is for other packages' policies
    for name, factory in BUILTIN.items():
        assert name in POLICIES and POLICIES.get(name) is factory


def test_an_unknown_policy_names_the_closest_one() -> None:
    expected = "unknown failover policy 'witness-quorom'; did you mean 'witness-quorum'?"
    with pytest.raises(KeyError, match=re.escape(expected)):
        make_policy("witness-quorom", {}, np.random.default_rng(0))


class Raises:
    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        pass

    def decide(self, observation: Observation) -> list[Action]:
        raise RuntimeError("boom")


class Invalid:
    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        pass

    def decide(self, observation: Observation) -> Any:
        if observation.reason == "progress":
            return []
        return [FailOver("nonexistent"), "fail over everything", FailOver("both", to="nowhere")]


class Moody:
    """Not deterministic: draws from the global random module, not its own stream."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        pass

    def decide(self, observation: Observation) -> list[Action]:
        return [Wait(until=observation.time + random.random())]


class Peeking:
    """Holds the simulation it was handed: it could read the ground truth."""

    sim: Simulation | None = None

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        self.handle = {"sim": Peeking.sim}

    def decide(self, observation: Observation) -> list[Action]:
        return []


class Scalar:
    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        pass

    def decide(self, observation: Observation) -> Any:
        return FailOver("aa")


def contract_problems(policy: Any) -> list[str]:
    with pytest.raises(PolicyContractError) as info:
        check_failover_policy(policy)
    return info.value.problems


def test_the_contract_checker_names_what_is_wrong() -> None:
    assert any("decide raised RuntimeError: boom" in p for p in contract_problems(Raises))
    invalid = contract_problems(Invalid)
    assert any("unknown system 'nonexistent'" in p for p in invalid)
    assert any("is not an action" in p for p in invalid)
    assert any("not deterministic" in p for p in contract_problems(Moody))
    assert any("expected a list of actions" in p for p in contract_problems(Scalar))
    Peeking.sim = Simulation(dr_scenario())
    try:
        assert any("holds a simulator object" in p for p in contract_problems(Peeking))
    finally:
        Peeking.sim = None
    assert contract_problems("no-such-policy") == ["no policy registered as 'no-such-policy'"]


def test_sample_observations_are_plain_data() -> None:
    for observation in sample_observations():
        assert_plain(observation)
    with pytest.raises(TypeError, match="not plain data"):
        assert_plain({"a": 1})


@pytest.fixture
def registered() -> None:
    register_policy("test-raises", Raises)
    register_policy("test-invalid", Invalid)


@pytest.mark.usefixtures("registered")
def test_a_policy_that_raises_is_a_recorded_failure_not_a_lost_run() -> None:
    sim = Simulation(dr_scenario([centre_down()], policy="test-raises"))
    result = sim.run(steps=1)
    dr = result.summary["dr"]
    assert dr["policy_failures"] > 0 and dr["failovers"] == 0
    example = dr["policy_failure_examples"][0]
    assert example["policy"] == "test-raises" and example["error"] == "RuntimeError: boom"
    kinds = result.tables["events"].column("kind").to_pylist()
    assert "policy_failure" in kinds
    assert result.tables["availability"].num_rows == 3  # the run's results are all there


@pytest.mark.usefixtures("registered")
def test_invalid_actions_are_recorded_and_skipped() -> None:
    sim = run(dr_scenario([cut()], policy="test-invalid"))
    errors = [f.error for f in dr_of(sim).policy_failures] if dr_of(sim) else []
    assert any("unknown system 'nonexistent'" in e for e in errors)
    assert any("is not an action" in e for e in errors)
    assert any("can fail over to" in e and "'nowhere'" in e for e in errors)
    assert dr_of(sim) is not None and not dr_of(sim).records


def test_observations_in_a_run_are_plain_and_policies_cannot_reach_the_simulator() -> None:
    seen: list[Observation] = []

    class Spy:
        def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
            pass

        def decide(self, observation: Observation) -> list[Action]:
            seen.append(observation)
            return []

    register_policy("test-spy", Spy)
    run(dr_scenario([cut(), centre_down(at="3d")], policy="test-spy"))
    assert len(seen) > 4
    for observation in seen:
        assert_plain(observation)
    # every built-in keeps the contract on what a real run shows them, too
    for name in ("timeout", "witness-quorum", "manual", "capacity-aware"):
        check_failover_policy(name, observations=seen)


def test_failing_over_a_whole_centre_and_fences_that_cannot_be_delivered() -> None:
    class Blunt:
        """Fails over every system of a centre nobody hears; fences what it cannot hear."""

        def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
            pass

        def decide(self, observation: Observation) -> list[Action]:
            if observation.reason == "progress":
                return []
            actions: list[Action] = [FailOverCentre(c) for c in observation.suspected]
            if not observation.hears("dc1", "dc2") and not observation.hears("dr", "dc2"):
                actions.append(Fence("dc2"))
            return actions

    register_policy("test-blunt", Blunt)
    lost = run(dr_scenario([centre_down()], policy="test-blunt"))
    isolated = run(
        dr_scenario(
            [cut(), {"target": "dc2--dr", "at": "1d", "duration": "20m"}],
            policy="test-blunt",
            witness=False,
        )
    )
    assert dr_of(lost) is not None and dr_of(isolated) is not None
    moved = {(r.system, r.target) for r in dr_of(lost).records if r.action == "failover"}
    assert moved == {(0, 1), (1, 2)}  # 'both' goes on in dc2, 'one' to its standby
    fences = [r for r in dr_of(isolated).records if r.action == "fence"]
    assert fences and all(r.failure.startswith("fence undeliverable") for r in fences)


@pytest.mark.parametrize("name", ["witness-quorum", "timeout", "manual"])
def test_builtin_policies_wait_for_a_home_expected_back_before_a_recovery_would_end(
    name: str,
) -> None:
    """dc-a is lost at 203 s (every monitor); the standby of ``as`` takes an hour to
    promote, the home is announced back at 400 s: wait until then (and three heartbeats),
    then fail over if it is not back. A home announced back later than the recovery would
    end, a corrupted home, or ``wait_for_home: false``: fail over at once."""
    from dataclasses import replace

    lost = sample_observations()[4]  # 210 s, dc-a lost since 203 s
    params: dict[str, Any] = {"response": 0} if name == "manual" else {}

    def decide(obs: Observation, **extra: Any) -> list[Action]:
        policy = make_policy(name, {**params, **extra}, np.random.default_rng(1))
        policy.decide(replace(obs, time=205.0))  # the operator's first look (manual)
        return [
            a
            for a in policy.decide(obs)
            if getattr(a, "system", None) == "as" or getattr(a, "reason", "").startswith("as:")
        ]

    acted = decide(lost)
    assert acted == [Wait(until=403.0, reason="as: home expected back first")], acted
    assert FailOver("as", to="dr") in decide(replace(lost, time=403.0))
    statuses = tuple(
        replace(s, home_back_at=210.0 + 3600.0 + 1.0) if s.name == "as" else s for s in lost.systems
    )
    assert FailOver("as", to="dr") in decide(replace(lost, systems=statuses))
    assert FailOver("as", to="dr") in decide(lost, wait_for_home=False)


def test_a_restore_delay_holds_a_restore_back() -> None:
    from dataclasses import replace

    lost = sample_observations()[4]
    statuses = tuple(
        replace(s, home=("dc-a",), primaries=("dc-a",), home_back_at=None) if s.name == "bk" else s
        for s in lost.systems
    )
    obs = replace(lost, systems=statuses)
    policy = make_policy("witness-quorum", {"restore_delay": "1h"}, np.random.default_rng(1))
    acted = [
        a
        for a in policy.decide(obs)
        if getattr(a, "system", None) == "bk" or getattr(a, "reason", "").startswith("bk:")
    ]
    assert acted == [Wait(until=203.0 + 3600.0, reason="bk: restore delay")]
    later = replace(obs, time=203.0 + 3600.0)
    assert FailOver("bk", to="dr") in policy.decide(later)
