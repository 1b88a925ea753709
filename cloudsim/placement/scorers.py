"""Scorers: ``(context, columns) -> float[H]``, higher is better, weighted and summed.

A scorer sees the hosts *as if* the request were placed on them (Kubernetes semantics).
``normalize="none"`` scorers already speak 0..100; ``"minmax"`` ones (OpenStack Nova
weighers) are rescaled to 0..100 over the candidate hosts of each decision.
Register your own with :func:`register_scorer` or the ``cloudsim.scorers`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from cloudsim.registry import Registry
from cloudsim.scenario.schema import RESOURCES

FloatArray = npt.NDArray[np.float64]
Columns = slice | npt.NDArray[np.int64]


@dataclass
class ScoreContext:
    """What a scorer may read for one request: float views of the host table, whose
    columns are hosts (``cols`` are host ids). Built-in scorers (:func:`is_column_local`)
    may instead get the columns of just a group of candidate hosts, ``cols`` then being
    positions in it."""

    free: FloatArray  # (R, H) free after overcommit, before this request
    inv_limit: FloatArray  # (R, H) 1 / limit (0 where a host has none of a resource)
    weighted_inv: FloatArray  # (R, H) 100 * w_r / sum(w) / limit
    weights: FloatArray  # (R,) resource weights, summing to 1
    demand: FloatArray  # (R,) the request
    weighted: tuple[int, ...]  # resources with a positive weight


@runtime_checkable
class Scorer(Protocol):
    @property
    def normalize(self) -> Literal["none", "minmax"]: ...

    def __call__(self, ctx: ScoreContext, cols: Columns) -> FloatArray: ...


@dataclass(frozen=True)
class FunctionScorer:
    function: Callable[[ScoreContext, Columns], FloatArray]
    normalize: Literal["none", "minmax"] = "none"

    def __call__(self, ctx: ScoreContext, cols: Columns) -> FloatArray:
        return self.function(ctx, cols)


def _row(array: FloatArray, r: int, cols: Columns) -> FloatArray:
    """``array[r, cols]``; ``take`` gathers a column list about twice as fast."""
    if isinstance(cols, slice):
        return array[r, cols]
    gathered: FloatArray = array[r].take(cols)
    return gathered


def _least_allocated(ctx: ScoreContext, cols: Columns) -> FloatArray:
    """Share of each resource left free after placing, weighted: spreads load (k8s)."""
    score: FloatArray | None = None
    for r in ctx.weighted:
        term = (_row(ctx.free, r, cols) - ctx.demand[r]) * _row(ctx.weighted_inv, r, cols)
        if score is None:
            score = term
        else:
            score += term
    assert score is not None
    return score


def _most_allocated(ctx: ScoreContext, cols: Columns) -> FloatArray:
    """Share of each resource allocated after placing, weighted: packs hosts (k8s)."""
    return 100.0 - _least_allocated(ctx, cols)


def _balanced(ctx: ScoreContext, cols: Columns) -> FloatArray:
    """(1 - std of allocated fractions across weighted resources) x 100 (k8s)."""
    fractions = [
        1.0 - (_row(ctx.free, r, cols) - ctx.demand[r]) * _row(ctx.inv_limit, r, cols)
        for r in ctx.weighted
    ]
    if len(fractions) < 2:
        return np.full_like(fractions[0], 100.0)
    mean = sum(fractions[1:], fractions[0]) / len(fractions)
    var = sum(((f - mean) ** 2 for f in fractions[1:]), (fractions[0] - mean) ** 2)
    result: FloatArray = (1.0 - np.sqrt(var / len(fractions))) * 100.0
    return result


def _free_of(resource: str) -> Callable[[ScoreContext, Columns], FloatArray]:
    r = RESOURCES.index(resource)

    def free_after(ctx: ScoreContext, cols: Columns) -> FloatArray:
        result: FloatArray = _row(ctx.free, r, cols) - ctx.demand[r]
        return result

    free_after.__doc__ = f"Free {resource} left after placing (Nova weigher, min-max scaled)."
    return free_after


def _check_scorer(name: str, scorer: Scorer) -> None:
    if not isinstance(scorer, Scorer):
        raise TypeError("a scorer is callable(ctx, cols) with a 'normalize' attribute")


def _check_preset(name: str, weights: dict[str, float]) -> None:
    if not isinstance(weights, dict) or not all(
        isinstance(w, int | float) for w in weights.values()
    ):
        raise TypeError("a preset is a mapping of scorer names to weights")


#: Scorers by name (``placement.weights``); add yours with :func:`register_scorer` or the
#: ``cloudsim.scorers`` entry-point group.
SCORERS: Registry[Scorer] = Registry(
    "scorer",
    group="cloudsim.scorers",
    check=_check_scorer,
    accepts=lambda obj: not isinstance(obj, dict),
)
_BUILTIN: dict[str, FunctionScorer] = {
    "least_allocated": FunctionScorer(_least_allocated),
    "most_allocated": FunctionScorer(_most_allocated),
    "balanced": FunctionScorer(_balanced),
    "free_cpu": FunctionScorer(_free_of("cpu"), "minmax"),
    "free_memory": FunctionScorer(_free_of("memory"), "minmax"),
    "free_disk": FunctionScorer(_free_of("disk"), "minmax"),
}
for _name, _scorer in _BUILTIN.items():
    SCORERS.register(_name, _scorer)
_COLUMN_LOCAL = frozenset(id(s) for s in _BUILTIN.values())


def is_column_local(scorer: Scorer) -> bool:
    """Whether ``scorer`` reads the context only at ``cols``, column by column (the
    built-in ones): the placer may then hand it a context over just the candidate hosts'
    columns. Any other scorer gets the whole table's columns and host ids as ``cols``."""
    return id(scorer) in _COLUMN_LOCAL


#: Weighted scorer sets by name. nova-default mirrors Nova's RAM, CPU and disk weighers
#: (multiplier 1.0 each, min-max normalised); k8s-default mirrors kube-scheduler's
#: NodeResourcesFit(LeastAllocated) + NodeResourcesBalancedAllocation, weight 1 each.
PRESETS: Registry[dict[str, float]] = Registry(
    "placement preset",
    group="cloudsim.scorers",
    check=_check_preset,
    accepts=lambda obj: isinstance(obj, dict),
)
PRESETS.register("spread", {"least_allocated": 1.0})
PRESETS.register("binpack", {"most_allocated": 1.0})
PRESETS.register("balanced", {"balanced": 1.0})
PRESETS.register("k8s-default", {"least_allocated": 1.0, "balanced": 1.0})
PRESETS.register("nova-default", {"free_memory": 1.0, "free_cpu": 1.0, "free_disk": 1.0})


def register_scorer(name: str, scorer: Scorer) -> None:
    """Make ``scorer`` usable by name in a scenario's ``placement.weights``."""
    SCORERS.register(name, scorer)


def register_preset(name: str, weights: dict[str, float]) -> None:
    """Make a set of scorer weights usable as ``placement.preset``."""
    PRESETS.register(name, dict(weights))


def resolve_weights(preset: str, overrides: dict[str, float] | None) -> dict[str, float]:
    """The preset's weights with ``overrides`` applied (a weight of 0 drops a scorer);
    KeyError naming the closest known preset or scorer otherwise."""
    weights = dict(PRESETS.get(preset))
    weights.update(overrides or {})
    for name in weights:
        SCORERS.get(name)
    return {name: w for name, w in weights.items() if w != 0}
