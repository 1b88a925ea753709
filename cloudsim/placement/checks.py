"""The ``placement`` section's names: its preset, scorers and filters exist."""

from __future__ import annotations

from cloudsim.placement.filters import FILTERS
from cloudsim.placement.scorers import PRESETS, SCORERS
from cloudsim.scenario.checks import Finding
from cloudsim.scenario.schema import Scenario


def placement_problems(scenario: Scenario) -> list[Finding]:
    """An unknown preset, scorer or filter (built-in, registered or from an entry-point
    group)."""
    found: list[Finding] = []
    placement = scenario.placement
    if placement.preset not in PRESETS:
        found.append(Finding(("placement", "preset"), PRESETS.unknown(placement.preset)))
    for name in placement.weights or {}:
        if name not in SCORERS:
            found.append(Finding(("placement", "weights", name), SCORERS.unknown(name)))
    for i, name in enumerate(placement.filters):
        if name not in FILTERS:
            found.append(Finding(("placement", "filters", i), FILTERS.unknown(name)))
    return found
