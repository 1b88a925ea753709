"""The ``placement`` section's names: the preset and the scorers its weights name exist."""

from __future__ import annotations

from cloudsim.placement.scorers import PRESETS, SCORERS, load_plugins
from cloudsim.registry import did_you_mean
from cloudsim.scenario.checks import Finding
from cloudsim.scenario.schema import Scenario


def placement_problems(scenario: Scenario) -> list[Finding]:
    """An unknown preset or scorer (built-in, registered or from the entry-point group)."""
    load_plugins()
    found: list[Finding] = []
    placement = scenario.placement
    if placement.preset not in PRESETS:
        message = did_you_mean(placement.preset, tuple(PRESETS), "placement preset")
        found.append(Finding(("placement", "preset"), message))
    for name in placement.weights or {}:
        if name not in SCORERS:
            found.append(
                Finding(
                    ("placement", "weights", name), did_you_mean(name, tuple(SCORERS), "scorer")
                )
            )
    return found
