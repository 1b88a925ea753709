"""Repair crews per group and repair priority: hand-computed schedules, the machine-repairman
(M/M/c//n) closed form, a property over random failures, and clear errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import ScenarioError, Simulation
from cloudsim.scenario.faults import Faults
from tests.conftest import build
from tests.faults.builders import IN_PLACE, exponential, hosts_with_one_system, two_centres
from tests.faults.test_faults import band, injector

DAY = 86400.0
HOUR = 3600.0
CHANGSHA = {
    "name": "changsha",
    "crews": 1,
    "classes": ["datacenter"],
    "members": {"datacenters": ["dc1", "dc2"]},
}


def both_centres_fail(**faults: Any) -> tuple[Simulation, dict[str, Any]]:
    """dc1 (6 h repair) and dc2 (4 h repair) fail together at day 1; one Changsha crew."""
    scripted = [
        {"target": "dc1", "at": "1d", "duration": "6h", "crew": True},
        {"target": "dc2", "at": "1d", "duration": "4h", "crew": True},
    ]
    data = two_centres({"scripted": scripted, "repair_groups": [CHANGSHA], **faults})
    data["meta"]["horizon"] = "3d"
    sim = Simulation(build(data), 1)
    summary = sim.run(steps=1).summary
    return sim, summary


def repairs(run: tuple[Simulation, dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Per outage label: (repair started, repaired), in seconds from the start."""
    return {o.label: (o.repair_started, o.end) for o in injector(run[0]).outages}


def test_one_crew_repairs_the_priority_centre_first_and_the_other_waits_exactly_its_repair() -> (
    None
):
    sim = both_centres_fail(repair_priority=[{"members": {"names": ["dc2"]}, "priority": 0}])
    assert repairs(sim) == {
        "dc2": (DAY, DAY + 4 * HOUR),
        "dc1": (DAY + 4 * HOUR, DAY + 10 * HOUR),  # waited exactly dc2's 4 h repair
    }
    crews = sim[1]["faults"]["repair_crews"]["changsha"]
    assert crews == {"repairs": 2, "crews": 1, "waited_s": 4 * HOUR, "mean_wait_s": 2 * HOUR}
    # the other way round: dc2 waits dc1's 6 h
    sim = both_centres_fail(repair_priority=[{"members": {"names": ["dc1"]}, "priority": 0}])
    assert repairs(sim) == {"dc1": (DAY, DAY + 6 * HOUR), "dc2": (DAY + 6 * HOUR, DAY + 10 * HOUR)}


def test_without_priority_the_order_of_failure_decides() -> None:
    # both fail at the same instant, dc1 scheduled first: first-failed takes dc1 ...
    assert repairs(both_centres_fail())["dc2"] == (DAY + 6 * HOUR, DAY + 10 * HOUR)
    # ... last-failed the one that failed last (the newest data of a pair failing in turn)
    assert repairs(both_centres_fail(repair_order="last-failed"))["dc1"] == (
        DAY + 4 * HOUR,
        DAY + 10 * HOUR,
    )


def test_a_component_outside_every_group_keeps_its_class_crews() -> None:
    group = {**CHANGSHA, "members": {"datacenters": ["dc1"]}}  # dc2 is not in the group
    found = repairs(both_centres_fail(repair_groups=[group]))
    assert found == {"dc1": (DAY, DAY + 6 * HOUR), "dc2": (DAY, DAY + 4 * HOUR)}  # no wait


def machine_repairman_down(n: int, crews: int, rho: float) -> float:
    """Mean number of failed machines of n, c crews, failure/repair ratio rho (M/M/c//n)."""
    weights = [
        math.factorial(n)
        / math.factorial(n - k)
        * rho**k
        / (math.factorial(k) if k <= crews else math.factorial(crews) * crews ** (k - crews))
        for k in range(n + 1)
    ]
    return sum(k * w for k, w in enumerate(weights)) / sum(weights)


@pytest.mark.slow
def test_group_crews_follow_the_machine_repairman_closed_form() -> None:
    """Six hosts, MTTF 1 d, MTTR 1 d (exponential), a group of two crews for them (the
    class's single crew is overridden; a priority rule changes nothing for identical
    hosts): the time-average number of hosts down is the M/M/2//6 mean, 4.049, not the
    one-crew 5.001, the three-crew 3.376 or the unlimited 3.0."""
    host = {"time_to_failure": exponential("1d"), "repair": exponential("1d"), "crews": 1}
    group = {"name": "ops", "crews": 2, "classes": ["host"], "members": {"pools": ["p"]}}
    faults = {
        "host": host,
        "local_ha": IN_PLACE,
        "repair_groups": [group],
        "repair_priority": [{"classes": ["host"], "members": {"names": ["*0"]}, "priority": 1}],
    }
    scenario = hosts_with_one_system(6, 1, faults)
    horizon = scenario.meta.horizon
    down = []
    for seed in range(12):
        sim = Simulation(scenario, seed)
        sim.run(steps=1)
        down.append(injector(sim).host_down_seconds(horizon) / horizon)
    mean, half = band(down)
    expected = machine_repairman_down(6, 2, 1.0)
    assert expected == pytest.approx(4.049, abs=1e-3)
    assert abs(mean - expected) < half, (mean, expected, half)
    for crews in (1, 3, 6):
        assert abs(mean - machine_repairman_down(6, crews, 1.0)) > 3 * half


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    failures=st.lists(
        st.tuples(st.integers(0, 7), st.integers(1, 40), st.integers(1, 12)),
        min_size=1,
        max_size=12,
    ),
    crews=st.integers(1, 3),
    priorities=st.lists(st.integers(0, 3), min_size=8, max_size=8),
    last=st.booleans(),
)
def test_crews_are_never_exceeded_and_a_free_crew_takes_the_most_urgent_repair(
    failures: list[tuple[int, int, int]], crews: int, priorities: list[int], last: bool
) -> None:
    """Random scripted rack failures (rack, hour, repair hours) repaired by one group of
    ``crews`` crews with a priority per rack: never more repairs at once than crews; a
    repair that waited started when another ended; and no repair then waiting had a more
    urgent priority (lower number) than the one taken."""
    data = two_centres({})
    racks = [f"dc{d}/rack{r:03d}" for d in (1, 2) for r in range(4)]
    seen: set[int] = set()
    scripted = []
    for rack, hour, hours in failures:
        if rack in seen:
            continue  # one failure per rack: a rack is not failed twice at once
        seen.add(rack)
        scripted.append(
            {"target": racks[rack], "at": f"{hour}h", "duration": f"{hours}h", "crew": True}
        )
    data["faults"] = {
        "scripted": scripted,
        "repair_groups": [{"name": "all", "crews": crews, "classes": ["rack"]}],
        "repair_priority": [
            {"members": {"names": [racks[i]]}, "priority": p} for i, p in enumerate(priorities)
        ],
        "repair_order": "last-failed" if last else "first-failed",
    }
    data["meta"]["horizon"] = "10d"
    sim = Simulation(build(data), 1)
    sim.run(steps=1)
    outs = injector(sim).outages
    rank = {racks[i]: p for i, p in enumerate(priorities)}
    starts = np.array([o.repair_started for o in outs])
    ends = np.array([o.end for o in outs])
    for o in outs:
        at = o.repair_started
        assert at >= o.start
        running = int(((starts <= at) & (ends > at)).sum())
        assert running <= crews
        if at > o.start:  # it waited: a crew freed just then, all of them were busy before
            assert np.isclose(ends, at).any()
            waiting = [w for w in outs if w.start <= at and w.repair_started > at]
            assert all(rank[w.label] >= rank[o.label] for w in waiting)
        assert o.end == pytest.approx(
            at
            + next(
                float(s["duration"].removesuffix("h")) * HOUR
                for s in scripted
                if s["target"] == o.label
            )
        )


@pytest.mark.parametrize(
    ("faults", "where", "says"),
    [
        (
            {"repair_groups": [{"name": "g", "crews": 1, "members": {"datacenters": ["dc9"]}}]},
            "faults.repair_groups[g].members.datacenters[0]",
            "unknown datacenter 'dc9'",
        ),
        (
            {"repair_groups": [{"name": "g", "crews": 1, "members": {"pools": ["dc1"]}}]},
            "faults.repair_groups[g].members.pools",
            "pools select hosts",
        ),
        (
            {"repair_priority": [{"members": {"names": ["nothing*"]}, "priority": 0}]},
            "faults.repair_priority[0]",
            "selects no component",
        ),
        (
            {
                "scripted": [
                    {
                        "target": "dc1--dc2",
                        "at": "1d",
                        "duration": "1h",
                        "effect": "degrade",
                        "loss": 0.1,
                        "crew": True,
                    }
                ]
            },
            "faults.scripted[0]",
            "crew: true is for effect fail",
        ),
        (
            {"repair_groups": [{"name": "g", "crews": 1}, {"name": "g", "crews": 2}]},
            "faults",
            "two groups have the same name",
        ),
    ],
)
def test_bad_repair_sections_are_refused_naming_the_field(
    faults: dict[str, Any], where: str, says: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        build(two_centres(faults))
    text = str(info.value)
    assert where in text and says in text, text


def test_defaults_change_nothing() -> None:
    assert Faults().repair_groups == [] and Faults().repair_order == "first-failed"
