"""Scheduling profiles (KubeSchedulerConfiguration ``profiles[]``) and kube-scheduler's
default plugins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudsim.containers.scheduler.framework import (
    PLUGINS,
    FilterPlugin,
    PostFilterPlugin,
    ScorePlugin,
)

#: kube-scheduler's default filters, in the order it runs them.
DEFAULT_FILTERS: tuple[str, ...] = (
    "NodeUnschedulable",
    "TaintToleration",
    "NodeAffinity",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
)
#: kube-scheduler's default score plugins and weights.
DEFAULT_WEIGHTS: dict[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
}
#: kube-scheduler's default post-filter.
DEFAULT_POST_FILTER = "DefaultPreemption"


@dataclass(frozen=True)
class Profile:
    """A scheduling profile (KubeSchedulerConfiguration ``profiles[]``).

    ``filters``: filter plugins in the order they run; ``weights``: score plugins and their
    weights (0 disables); ``post_filter``: the plugin run for a pod no node passes, when
    ``preemption`` is on; ``args``: plugin arguments by plugin name, e.g.
    ``{"NodeResourcesFit": {"strategy": "MostAllocated"}}``. Every name is looked up in
    :data:`~cloudsim.containers.scheduler.framework.PLUGINS`.
    """

    name: str = "default-scheduler"
    filters: tuple[str, ...] = DEFAULT_FILTERS
    weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    args: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    percentage_of_nodes_to_score: int = 0
    preemption: bool = True
    post_filter: str = DEFAULT_POST_FILTER

    def __post_init__(self) -> None:
        for name in (*self.filters, *self.weights, *self.args, self.post_filter):
            if name not in PLUGINS:
                raise KeyError(PLUGINS.unknown(name))
        for name in self.filters:
            if not issubclass(PLUGINS.get(name), FilterPlugin):
                raise ValueError(f"plugin {name!r} is not a filter")
        for name, weight in self.weights.items():
            if weight and not issubclass(PLUGINS.get(name), ScorePlugin):
                raise ValueError(f"plugin {name!r} does not score")
            if weight < 0:
                raise ValueError(f"weight of {name!r} must not be negative")
        if not issubclass(PLUGINS.get(self.post_filter), PostFilterPlugin):
            raise ValueError(f"plugin {self.post_filter!r} is not a post-filter")
        if not 0 <= self.percentage_of_nodes_to_score <= 100:
            raise ValueError("percentage_of_nodes_to_score must be 0..100 (0: adaptive)")
