"""The built-in failback policies: ``operator-failback``, ``automatic-failback`` and
``no-failback`` (see :mod:`cloudsim.dr.policies`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cloudsim.dr.observation import (
    Action,
    FailBack,
    Observation,
    SystemStatus,
    Wait,
)
from cloudsim.dr.policies.base import check_params, delay_sampler
from cloudsim.units import parse_duration


def home_healthy(obs: Observation, status: SystemStatus) -> float | None:
    """Since when every monitor watching the system's home centres hears them (None: not)."""
    since = 0.0
    for view in obs.heartbeats:
        if view.target in status.home and view.source in (*obs.centres, obs.witness):
            if not view.reachable:
                return None
            since = max(since, view.since)
    return since


def _needs_failback(status: SystemStatus) -> bool:
    away = set(status.primaries) != set(status.home) or bool(status.fenced)
    return status.phase in ("failed_over", "shed", "failing_over") or (
        status.phase == "normal" and away
    )


def _urgent(status: SystemStatus) -> bool:
    """Down where it is: a recovery still under way, or one that found no room. Home (back
    and intact) is the quickest way up: no response time, no stability period."""
    return status.phase == "failing_over" or status.short


class OperatorFailback:
    """``operator-failback``: home again a response time after the home is heard again."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, {"response"}, "operator-failback")
        default = {"distribution": "lognormal", "median": "2h", "sigma": 0.5}
        self.response = delay_sampler(
            params.get("response", default), rng, "operator-failback.response"
        )
        self.due: dict[str, float] = {}

    def decide(self, observation: Observation) -> list[Action]:
        actions: list[Action] = []
        now = observation.time
        for status in observation.systems:
            if not _needs_failback(status) or status.corrupted:
                self.due.pop(status.name, None)
                continue
            if home_healthy(observation, status) is None:
                self.due.pop(status.name, None)
                continue
            if _urgent(status):  # down where it is: home as soon as home answers
                self.due.pop(status.name, None)
                actions.append(FailBack(status.name))
                continue
            due = self.due.setdefault(status.name, now + self.response())
            if due <= now:
                del self.due[status.name]
                actions.append(FailBack(status.name))
            else:
                actions.append(Wait(until=due, reason=f"failback of {status.name}"))
        return actions


class AutomaticFailback:
    """``automatic-failback``: home again once the home has been heard for ``stable_for``."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, {"stable_for"}, "automatic-failback")
        self.stable_for = parse_duration(params.get("stable_for", "10m"))

    def decide(self, observation: Observation) -> list[Action]:
        actions: list[Action] = []
        for status in observation.systems:
            if not _needs_failback(status) or status.corrupted:
                continue
            since = home_healthy(observation, status)
            if since is None:
                continue
            ready = since + (0.0 if _urgent(status) else self.stable_for)
            if ready <= observation.time:
                actions.append(FailBack(status.name))
            else:
                actions.append(Wait(until=ready, reason=f"failback of {status.name}"))
        return actions


class NoFailback:
    """``no-failback``: systems stay where they were failed over to."""

    def __init__(self, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        check_params(params, set(), "no-failback")

    def decide(self, observation: Observation) -> list[Action]:
        return []
