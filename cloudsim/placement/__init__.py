"""The vectorised placement core: filters, scorers, presets and the placer."""

from cloudsim.placement.core import (
    ANTI_AFFINITY_LEVELS,
    FILTER_ORDER,
    REJECTION_REASONS,
    Explanation,
    Placer,
    Request,
)
from cloudsim.placement.filters import FILTERS, HostFilter, register_filter
from cloudsim.placement.scorers import (
    PRESETS,
    SCORERS,
    ScoreContext,
    Scorer,
    register_preset,
    register_scorer,
)

__all__ = [
    "ANTI_AFFINITY_LEVELS",
    "FILTERS",
    "FILTER_ORDER",
    "PRESETS",
    "REJECTION_REASONS",
    "SCORERS",
    "Explanation",
    "HostFilter",
    "Placer",
    "Request",
    "ScoreContext",
    "Scorer",
    "register_filter",
    "register_preset",
    "register_scorer",
]
