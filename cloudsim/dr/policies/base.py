"""The policy protocol, the registry of factories by name, and what factories share."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from cloudsim.dr.observation import Action, Observation
from cloudsim.registry import Registry
from cloudsim.units import parse_duration


@runtime_checkable
class FailoverPolicy(Protocol):
    """Decides what to do about what the monitors report."""

    def decide(self, observation: Observation) -> Sequence[Action]: ...


PolicyFactory = Callable[[Mapping[str, Any], np.random.Generator], FailoverPolicy]


#: Failover and failback policies by name: the built-ins (registered by
#: :mod:`cloudsim.dr.policies`), those of :func:`register_policy`, then the
#: ``cloudsim.policies`` entry points.
def _check_factory(name: str, factory: PolicyFactory) -> None:
    if not callable(factory):
        raise TypeError("a policy factory is callable (params, rng) -> policy")


POLICIES: Registry[PolicyFactory] = Registry(
    "failover policy", group="cloudsim.policies", check=_check_factory
)


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Make ``factory`` available as ``dr.failover.name`` / ``dr.failback.name``."""
    POLICIES.register(name, factory)


def make_policy(name: str, params: Mapping[str, Any], rng: np.random.Generator) -> FailoverPolicy:
    """Build a registered policy; KeyError for an unknown name, ValueError for bad params."""
    policy = POLICIES.get(name)(params, rng)
    if not callable(getattr(policy, "decide", None)):
        raise ValueError(f"policy {name!r} built an object without a decide(observation) method")
    return policy


# -- parameters ------------------------------------------------------------------------------


def check_params(params: Mapping[str, Any], known: set[str], policy: str) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"policy {policy!r}: unknown parameter {unknown[0]!r} (known: {allowed})")


Sampler = Callable[[], float]


def delay_sampler(value: object, rng: np.random.Generator, what: str) -> Sampler:
    """A duration (fixed) or ``{distribution: lognormal|exponential|fixed, ...}``."""
    if isinstance(value, Mapping):
        kind = value.get("distribution")
        try:
            if kind == "lognormal":
                median = parse_duration(value["median"])
                sigma = float(value.get("sigma", 0.5))
                if median <= 0 or not 0 <= sigma <= 10:
                    raise ValueError("median > 0 and 0 <= sigma <= 10")
                mu = math.log(median)
                return lambda: float(rng.lognormal(mu, sigma))
            if kind == "exponential":
                mean = parse_duration(value["mean"])
                return lambda: float(rng.exponential(mean))
            if kind == "fixed":
                fixed = parse_duration(value["value"])
                return lambda: fixed
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{what}: bad {kind} distribution: {exc}") from None
        raise ValueError(f"{what}: distribution must be lognormal, exponential or fixed")
    seconds = parse_duration(value)
    return lambda: seconds
