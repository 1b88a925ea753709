"""The kernel's parts: the calendar, the bus, the streams, the composition checks, the
results assembly, and the world a run works on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import simpy

from cloudsim import Simulation, simulate, world_of
from cloudsim.composition import MODULES, all_modules, modules_for
from cloudsim.dr.module import DRModule
from cloudsim.faults.module import FaultsModule
from cloudsim.iaas.module import IaaSModule
from cloudsim.kernel import Bus, Calendar, Module, Results
from cloudsim.ledger import LedgerModule
from tests.conftest import build, tiny
from tests.dr.builders import dr_scenario


# -- the calendar ----------------------------------------------------------------------------
def test_the_calendar_runs_actions_in_time_then_scheduling_order_and_wakes_early() -> None:
    env = simpy.Environment()
    counted: list[int] = []
    calendar = Calendar(env, 100.0, lambda: counted.append(1))
    seen: list[tuple[float, str]] = []

    def note(label: str) -> Any:
        return lambda time: seen.append((time, label))

    calendar.at_start(lambda: calendar.schedule(50.0, note("primed")))
    env.process(calendar.run())
    env.run(until=10.0)  # the calendar sleeps until 50
    calendar.schedule(20.0, note("a"))  # earlier: it wakes
    calendar.schedule(20.0, note("b"))  # a tie: after a
    calendar.schedule(150.0, note("beyond"))  # past the horizon: never runs

    def chain(time: float) -> None:
        seen.append((time, "c"))
        calendar.schedule(time, note("d"))  # scheduled now for now: runs at once, after c

    calendar.schedule(30.0, chain)
    env.run(until=100.0)
    assert seen == [(20.0, "a"), (20.0, "b"), (30.0, "c"), (30.0, "d"), (50.0, "primed")]
    assert len(counted) == 5


def test_the_bus_calls_subscribers_in_the_order_they_subscribed() -> None:
    bus = Bus()
    heard: list[str] = []
    bus.subscribe("outage", lambda *args: heard.append(f"first{args}"))
    bus.subscribe("outage", lambda *args: heard.append(f"second{args}"))
    bus.publish("outage", 1, 2)
    bus.publish("nobody-listens", 3)
    assert heard == ["first(1, 2)", "second(1, 2)"]


# -- the composition -------------------------------------------------------------------------
class Probe(Module):
    """Declares what a test needs (subclassed per test)."""

    name = "probe"


def test_a_stream_has_one_owner() -> None:
    class Greedy(Probe):
        streams = ("faults",)

    class Placing(Probe):
        streams = ("placement",)

    scenario = build(tiny())
    with pytest.raises(ValueError, match="declares random stream 'faults', which module 'faults'"):
        Simulation(scenario, modules=[IaaSModule, FaultsModule, LedgerModule, Greedy])
    with pytest.raises(ValueError, match="'placement', which the kernel draws from"):
        Simulation(scenario, modules=[IaaSModule, Placing])


def test_a_module_comes_after_those_it_requires_and_names_are_unique() -> None:
    scenario = dr_scenario()
    with pytest.raises(ValueError, match="module 'dr' needs module 'ledger' before it"):
        Simulation(scenario, modules=[IaaSModule, FaultsModule, DRModule, LedgerModule])
    with pytest.raises(ValueError, match="two modules are named 'iaas'"):
        Simulation(scenario, modules=[IaaSModule, IaaSModule])


def test_two_modules_may_not_write_the_same_table_or_summary_key() -> None:
    class Clash(Probe):
        def tables(self, results: Results) -> Mapping[str, pa.Table]:
            return {"vms": pa.table({"x": [1]})}

    class Loud(Probe):
        def summary(self, results: Results) -> Mapping[str, Any]:
            return {"hosts": 0}

    scenario = build(tiny())
    with pytest.raises(RuntimeError, match="module 'probe' writes table 'vms' again"):
        Simulation(scenario, modules=[IaaSModule, Clash]).run()
    with pytest.raises(RuntimeError, match="module 'probe' writes summary key 'hosts' again"):
        Simulation(scenario, modules=[IaaSModule, Loud]).run()


@pytest.fixture
def modules() -> Iterator[None]:
    with MODULES.scoped():
        yield


@pytest.mark.usefixtures("modules")
def test_a_module_registered_under_a_built_in_name_takes_its_place() -> None:
    class MyLedger(LedgerModule):
        pass

    MODULES.register("ledger", MyLedger)
    names = [m.name for m in all_modules()]
    assert names[:4] == ["iaas", "faults", "ledger", "dr"]
    assert all_modules()[2] is MyLedger
    result = simulate(dr_scenario(horizon="1d"))  # DR still extends the (new) ledger's table
    assert "worst_rto_s" in result.tables["availability"].column_names


@pytest.mark.usefixtures("modules")
def test_a_module_of_the_wrong_kind_or_name_is_refused_where_it_is_registered() -> None:
    from cloudsim.registry import PluginError

    class Named(Probe):
        pass

    with pytest.raises(PluginError, match="module 'other': the class Named is named 'probe'"):
        MODULES.register("other", Named)
    with pytest.raises(PluginError, match=r"a subclass of cloudsim\.kernel\.Module"):
        MODULES.register("probe", object)  # type: ignore[arg-type]

    class Hijack(Probe):
        section = "dr"
        schema = object  # type: ignore[assignment]

    with pytest.raises(PluginError, match="not one of the scenario's own sections"):
        MODULES.register("probe", Hijack)


# -- the world a run works on -----------------------------------------------------------------
def test_runs_share_one_read_only_world_and_never_change_it() -> None:
    data = tiny()
    scenario = build(data)
    world = world_of(scenario)
    before = world.hosts.free.copy()
    first = simulate(scenario)
    assert world_of(scenario) is world  # validation, both runs and this call: one world
    assert np.array_equal(world.hosts.free, before)
    with pytest.raises(ValueError, match="read-only"):
        world.hosts.free[0, 0] = 0
    again = simulate(scenario)
    for name, table in first.tables.items():
        assert again.tables[name].equals(table), name


@pytest.mark.usefixtures("modules")
def test_the_world_follows_the_modules_a_scenario_enables() -> None:
    class Designed(Probe):
        @classmethod
        def compile(cls, world: Any) -> str:
            return "designed"

    scenario = build(tiny())
    assert "probe" not in world_of(scenario).designs
    MODULES.register("probe", Designed)
    assert [m.name for m in modules_for(scenario)][-1] == "probe"
    assert world_of(scenario).design("probe") == "designed"
    assert "probe" in Simulation(scenario).modules
