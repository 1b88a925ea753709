"""The plan's search: closed-form answers, minimality, properties, runway."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudsim import scenario_from_dict
from cloudsim.planning.outcome import runway
from cloudsim.planning.search import Planner, failure_sets
from tests.planning.builders import closed_form, growing_data, pair, pair_data, runway_month

QUICK = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def solve(scenario):  # type: ignore[no-untyped-def]
    planner = Planner(scenario, scenario.plan)
    counts = planner.solve()
    return planner, dict(zip(planner.names, counts, strict=True)), counts


@pytest.mark.parametrize(
    ("systems", "vms", "anti_affinity"),
    [(2, 10, "host"), (3, 4, "host"), (5, 6, "none"), (7, 5, "none"), (1, 1, "host")],
)
def test_the_pair_needs_the_closed_form_and_one_host_fewer_breaks_it(
    systems: int, vms: int, anti_affinity: str
) -> None:
    """Two active-active centres, every system whole in either: each centre needs slots
    for all of it after the other is lost (and, with host anti-affinity, a host per VM)."""
    planner, plan, counts = solve(pair(systems, vms, anti_affinity=anti_affinity))
    expected = closed_form(systems, vms, anti_affinity)
    assert plan == {"a": expected, "b": expected}
    for g, name in enumerate(planner.names):
        broken = planner.binding(counts, g)
        assert broken is not None, name
        other = {"a": "dc-b", "b": "dc-a"}[name]
        # losing the other centre is what needs these hosts (or the VM dealt here already)
        assert broken.check in (other, "growth")
        assert broken.shortfalls[0].kind in ("scale-out", "declared")
        if vms > 1:
            assert broken.check == other and broken.shortfalls[0].kind == "scale-out"


def test_at_zero_slack_the_plan_is_what_the_run_s_placer_achieves() -> None:
    """6 systems × 8 VMs, host anti-affinity, 4 per host: 12 hosts suffice for a perfect
    packing, but the spread placer with the run's tie-breaks strands a slot when one centre
    takes the other's load; the plan asks for what the platform's own placer needs (the
    verification runs confirm it, see test_plan_command)."""
    planner, plan, counts = solve(pair(6, 8))
    bound = closed_form(6, 8)
    assert all(bound <= n <= bound + 1 for n in plan.values())
    for g in range(2):
        assert planner.binding(counts, g) is not None


def test_a_half_load_design_needs_half() -> None:
    """With required_fraction 0.5 the survivor already runs half: nothing to add beyond
    what the normal state needs (the initial placement's closed form)."""
    _, plan, _ = solve(pair(6, 8, fraction=0.5, hosts=1))
    half = closed_form(6, 4)
    assert plan == {"a": half, "b": half}


def test_pools_that_may_not_shrink_keep_their_hosts() -> None:
    _, plan, _ = solve(pair(1, 2, hosts=10, shrink=False))
    assert plan == {"a": 10, "b": 10}


def test_survive_none_only_carries_the_inventory() -> None:
    _, plan, _ = solve(pair(6, 8, survive="none"))
    assert plan == {"a": closed_form(6, 4), "b": closed_form(6, 4)}


def test_failure_sets() -> None:
    s = pair(1, 2)
    assert failure_sets(s, s.plan.model_copy(update={"survive": "datacenter"})) == [
        ("dc-a", ["dc-a"]),
        ("dc-b", ["dc-b"]),
        ("dc-r", ["dc-r"]),
    ]
    site = failure_sets(s, s.plan.model_copy(update={"survive": "site"}))
    assert site[-1] == ("city", ["dc-a", "dc-b"])  # and each centre before it
    assert [name for name, _ in site[:3]] == ["dc-a", "dc-b", "dc-r"]


def test_the_search_is_deterministic() -> None:
    first = solve(pair(4, 6))[2]
    assert all(solve(pair(4, 6))[2] == first for _ in range(2))


def test_a_system_no_pool_can_take_is_reported_not_fatal() -> None:
    data = pair_data(2, 4)
    data["flavors"].append({"name": "huge", "vcpus": 64, "memory": "16GiB", "disk": "100GB"})
    data["systems"][1]["vms"] = [{"flavor": "huge", "count": 2}]
    scenario = scenario_from_dict(data, check_feasibility=False)
    planner, plan, _ = solve(scenario)
    assert plan == {"a": 4, "b": 4}  # s0 is carried
    stuck = {(planner.world.systems[u.system], u.kind) for u in planner.unplaceable}
    assert ("s1", "declared") in stuck
    assert all("cpu" in u.reason for u in planner.unplaceable)


def test_a_pool_that_may_not_grow_but_must_is_reported() -> None:
    data = pair_data(6, 8)
    data["plan"]["pools"] = [{"match": "*", "grow": False}]
    planner, plan, _ = solve(scenario_from_dict(data, check_feasibility=False))
    assert plan == {"a": 2, "b": 2}
    assert planner.unplaceable and planner.unplaceable[0].kind == "declared"


# ----------------------------------------------------------------------------- properties


@QUICK
@given(
    systems=st.integers(1, 4),
    vms=st.integers(1, 6),
    extra=st.integers(0, 4),
    anti=st.sampled_from(["host", "none"]),
)
def test_more_demand_never_needs_fewer_hosts(systems: int, vms: int, extra: int, anti: str) -> None:
    small = sum(solve(pair(systems, vms, anti_affinity=anti))[2])
    large = sum(solve(pair(systems, vms + extra, anti_affinity=anti))[2])
    assert large >= small


def _with_remote(systems: int, vms: int, anti: str, survive: str):  # type: ignore[no-untyped-def]
    data = pair_data(systems, vms, anti_affinity=anti, survive=survive)
    data["pools"].append(
        {"name": "r", "datacenter": "dc-r", "zone": "z", "hosts": [{"host_class": "h", "count": 1}]}
    )
    data["dr"]["systems"][0]["standby"] = {"datacenter": "dc-r", "kind": "cold"}
    return scenario_from_dict(data, check_feasibility=False)


@QUICK
@given(systems=st.integers(1, 4), vms=st.integers(1, 6), anti=st.sampled_from(["host", "none"]))
def test_surviving_a_site_never_needs_fewer_hosts_than_a_centre(
    systems: int, vms: int, anti: str
) -> None:
    centre = solve(_with_remote(systems, vms, anti, "datacenter"))
    site = solve(_with_remote(systems, vms, anti, "site"))
    assert sum(site[2]) >= sum(centre[2])
    # the city lost: everything in dc-r (anti-affinity is best effort away from home)
    assert site[1]["r"] == closed_form(systems, vms, "none")


# ----------------------------------------------------------------------------- runway


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_runway_matches_the_closed_form(seed: int) -> None:
    """Fixed lifetimes, a growing Poisson stream: the expected cloud hosts alive pass the
    pool's slots in month ``t*``; the month whose peak first refuses is that one (±1 for the
    stream's noise; the rate is high enough that it is exact for these seeds)."""
    data = growing_data(500, 40, 1.0, 30, 2.0)
    data["meta"]["seed"] = seed
    scenario = scenario_from_dict(data, check_feasibility=False)
    planner = Planner(scenario, scenario.plan)
    found = runway(planner, planner.today())
    expected = math.floor(runway_month(500, 40, 1.0, 30))
    assert found.platform == expected
    assert found.pools[0] == expected


def test_runway_beyond_the_horizon() -> None:
    data = growing_data(5000, 40, 1.0, 30, 1.0)
    scenario = scenario_from_dict(data, check_feasibility=False)
    planner = Planner(scenario, scenario.plan)
    found = runway(planner, planner.today())
    assert found.platform is None and found.pools[0] is None


def _two_classes(objective: str):  # type: ignore[no-untyped-def]
    """Centre A has a pool of small hosts (4 slots, cost 10) and one of big hosts (8 slots,
    cost 100); the fewest hosts are big ones, the cheapest capacity small ones."""
    data = pair_data(4, 8, anti_affinity="none", hosts=0, survive="none")
    data["host_classes"].append(
        {"name": "big", "cores": 32, "threads_per_core": 2, "memory": "2048GiB", "disk": "200TB"}
    )
    data["pools"].append(
        {
            "name": "a-big",
            "datacenter": "dc-a",
            "zone": "z",
            "hosts": [{"host_class": "big", "count": 0}],
        }
    )
    data["plan"]["objective"] = objective
    data["plan"]["costs"] = {"host_classes": {"h": 10, "big": 100}, "amortise_years": 1}
    return scenario_from_dict(data, check_feasibility=False)


def test_the_objective_chooses_the_pool() -> None:
    """16 VMs of 8 vCPUs per centre: 2 big hosts (fewest) or 4 small ones (cheapest)."""
    _, fewest, _ = solve(_two_classes("hosts"))
    assert fewest == {"a": 0, "b": 4, "a-big": 2}
    _, cheapest, _ = solve(_two_classes("cost"))
    assert cheapest == {"a": 4, "b": 4, "a-big": 0}


def test_rack_anti_affinity_wider_than_the_racks_is_reported() -> None:
    """12 VMs that must each have a rack of their own, in centres of 4 racks: no number of
    hosts carries them; the plan says so instead of growing for ever."""
    data = pair_data(1, 12, anti_affinity="rack", survive="none")
    for dc in data["datacenters"]:
        dc["racks"] = 4
    planner, plan, _ = solve(scenario_from_dict(data, check_feasibility=False))
    assert planner.unplaceable
    assert "anti_affinity" in planner.unplaceable[0].reason
    assert "whatever the hosts added" in planner.unplaceable[0].reason
    assert max(plan.values()) < 60


def test_named_hosts_of_an_imported_estate_are_kept() -> None:
    """Hosts with names of their own are never renamed or removed: the plan adds a group."""
    data = pair_data(3, 4, hosts=1)
    for pool in data["pools"]:
        pool["hosts"][0]["names"] = [f"{pool['name']}-own-1"]
    planner, plan, _ = solve(scenario_from_dict(data, check_feasibility=False))
    assert plan == {"a": closed_form(3, 4) - 1, "b": closed_form(3, 4) - 1}  # added hosts
    from cloudsim.planning.search import with_growth

    grown = with_growth(planner.scenario, planner.question, plan)
    assert [g.names for g in grown.pools[0].hosts] == [["a-own-1"], None]


@QUICK
@given(
    st.lists(
        st.tuples(st.floats(0, 3), st.floats(0, 2), st.integers(1, 3), st.integers(0, 2)),
        max_size=25,
    )
)
def test_monthly_peaks_are_the_most_alive_at_once(
    orders: list[tuple[float, float, int, int]],
) -> None:
    """Against brute force: at every instant an order starts (or a month starts), count
    what is alive (departures before arrivals at equal times)."""
    import numpy as np

    from cloudsim.planning.demand import MONTH, _monthly_peaks

    months = 3
    start = np.array([o[0] * MONTH for o in orders])
    end = start + np.array([o[1] * MONTH for o in orders])
    count = np.array([o[2] for o in orders], dtype=np.int64)
    key = np.array([o[3] for o in orders], dtype=np.int64)
    peaks = _monthly_peaks(start, end, count, key, 3, months)
    for k in range(3):
        for m in range(months):
            instants = [m * MONTH] + [
                s
                for s, kk in zip(start, key, strict=True)
                if kk == k and m * MONTH <= s < (m + 1) * MONTH
            ]
            best = max(
                sum(c for s, e, c, kk in zip(start, end, count, key, strict=True)
                    if kk == k and s <= t < e)
                for t in instants
            )  # fmt: skip
            assert peaks[k, m] == best
