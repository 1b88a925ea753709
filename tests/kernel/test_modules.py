"""A module from another package: its section, processes, records, results — without
editing cloudsim (registered as the ``cloudsim.modules`` entry-point group would)."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa
import pytest
import simpy

from cloudsim import ScenarioError, Simulation, load_scenario, simulate
from cloudsim.composition import MODULES, modules_for
from cloudsim.kernel import Context, Finding, Module, Results
from cloudsim.records import Outage
from cloudsim.registry import Registry
from cloudsim.scenario.base import Duration, Model
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World
from tests.conftest import build, tiny


class ToySettings(Model):
    every: Duration = 3600.0
    label: str = "toy"


class ToyModule(Module):
    """Counts hosts up every ``every`` seconds, draws from its own stream, hears outages."""

    name = "toy"
    section = "toy"
    schema = ToySettings
    streams = ("toy",)

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        settings = world.scenario.section("toy")
        assert isinstance(settings, ToySettings)
        if settings.every > world.horizon:
            return [Finding(("toy", "every"), "must not be longer than meta.horizon")]
        return []

    @classmethod
    def compile(cls, world: World) -> ToySettings:
        settings = world.scenario.section("toy")
        assert isinstance(settings, ToySettings)
        return settings

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.settings: ToySettings = ctx.world.design(self.name)
        self.rows: dict[str, list[Any]] = {"time": [], "hosts_up": [], "draw": []}
        self.outages: list[str] = []
        ctx.bus.subscribe("outage", self._heard)

    def _heard(self, change: str, outage: Outage, time: float) -> None:
        self.outages.append(f"{change}:{outage.label}")

    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        return (self._tick(),)

    def _tick(self) -> Generator[simpy.Event, Any, None]:
        env, rng = self.ctx.env, self.ctx.stream("toy")
        while env.now + self.settings.every < self.ctx.horizon:
            yield env.timeout(self.settings.every)
            self.rows["time"].append(env.now)
            self.rows["hosts_up"].append(int(self.ctx.hosts.up.sum()))
            self.rows["draw"].append(float(rng.random()))
            self.ctx.count()

    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        return {"toy": pa.table(self.rows)}

    def summary(self, results: Results) -> Mapping[str, Any]:
        return {self.settings.label: {"ticks": len(self.rows["time"]), "heard": self.outages}}


@pytest.fixture
def toy() -> Iterator[None]:
    MODULES.register("toy", ToyModule)
    yield
    MODULES.remove("toy")


def toy_scenario(**toy: Any) -> dict[str, Any]:
    faults = {"scripted": [{"target": "dc1/rack000", "at": "2d", "duration": "1h"}]}
    return {**tiny(faults=faults), "toy": {"every": "1d", **toy}}


@pytest.mark.usefixtures("toy")
def test_a_registered_module_runs_with_its_section_and_writes_its_results(tmp_path: Any) -> None:
    scenario = build(toy_scenario(label="counted"))
    assert [m.name for m in modules_for(scenario)][-1] == "toy"
    result = simulate(scenario)
    table = result.tables["toy"]
    assert table.num_rows == 29  # days 1..29 of a 30-day horizon
    assert min(table.column("hosts_up").to_pylist()) == 8  # the rack was back by day 3
    assert result.summary["counted"] == {
        "ticks": 29,
        "heard": ["begin:dc1/rack000", "end:dc1/rack000"],
    }
    assert result.metadata["modules"][-1] == "toy"
    assert "toy" in result.metadata["random_streams"]
    assert result.metadata["scenario"]["toy"] == {"every": 86400.0, "label": "counted"}
    # the echo of the resolved scenario loads again, the module's section included
    path = tmp_path / "echo.yaml"
    path.write_text(json.dumps(result.metadata["scenario"]))
    again = load_scenario(path)
    assert again.section("toy") == scenario.section("toy")


@pytest.mark.usefixtures("toy")
def test_a_module_changes_nothing_the_others_draw() -> None:
    with_toy = simulate(build(toy_scenario()))
    without = simulate(build(tiny(faults=toy_scenario()["faults"])))
    for name, table in without.tables.items():
        assert with_toy.tables[name].equals(table), name
    mine = {"toy", "events_processed"}
    assert {k: v for k, v in with_toy.summary.items() if k not in mine} == {
        k: v for k, v in without.summary.items() if k not in mine - {"toy"}
    }
    assert with_toy.summary["events_processed"] == without.summary["events_processed"] + 29


@pytest.mark.usefixtures("toy")
def test_the_modules_section_is_validated_like_the_scenarios_own() -> None:
    with pytest.raises(ScenarioError) as caught:
        build(toy_scenario(evry="1d"))
    (problem,) = caught.value.problems
    assert problem.path == "toy.evry"
    assert "unknown key 'evry'; did you mean 'every'?" in problem.message
    with pytest.raises(ScenarioError) as caught:
        build(toy_scenario(every="40d"))
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("toy.every", "must not be longer than meta.horizon")
    ]
    with pytest.raises(ScenarioError) as caught:
        build({**tiny(), "toyy": {}})
    assert "did you mean 'toy'?" in caught.value.problems[0].message


def test_without_the_module_its_section_is_an_unknown_key() -> None:
    with pytest.raises(ScenarioError) as caught:
        build(toy_scenario())
    assert caught.value.problems[0].path == "toy"
    assert "unknown key 'toy'" in caught.value.problems[0].message


def test_no_section_no_module() -> None:
    scenario: Scenario = build(tiny())
    # the MLPS checks are on unless meta.mlps_checks is ignore (a summary key, no process)
    assert [m.name for m in modules_for(scenario)] == ["iaas", "faults", "ledger", "mlps"]
    assert list(Simulation(scenario).modules) == ["iaas", "faults", "ledger", "mlps"]
    quiet = build(tiny(meta={"name": "q", "mlps_checks": "ignore"}))
    assert [m.name for m in modules_for(quiet)] == ["iaas", "faults", "ledger"]


def test_the_entry_point_group_is_read_once_and_never_replaces_a_registered_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Entry:
        def __init__(self, name: str, value: object) -> None:
            self.name, self.value = name, value

        def load(self) -> object:
            if self.value == "broken":
                raise ImportError("No module named 'their_package'")
            return self.value

    calls: list[str] = []

    def entry_points(group: str) -> list[Entry]:
        calls.append(group)
        return [Entry("toy", ToyModule), Entry("iaas", object)]

    monkeypatch.setattr("cloudsim.registry.entry_points", entry_points)
    modules: Registry[object] = Registry("module", group="cloudsim.modules")
    modules.register("iaas", "built-in")
    assert modules.get("toy") is ToyModule and modules.get("iaas") == "built-in"
    assert "toy" in modules and calls == ["cloudsim.modules"]
    with pytest.raises(KeyError, match="unknown module 'tyo'; did you mean 'toy'"):
        modules.get("tyo")


def test_a_broken_entry_point_is_named_with_its_group_and_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cloudsim.registry import PluginError

    class Broken:
        name, value = "theirs", "broken"

        def load(self) -> object:
            raise ImportError("No module named 'their_package'")

    monkeypatch.setattr("cloudsim.registry.entry_points", lambda group: [Broken()])
    modules: Registry[object] = Registry("module", group="cloudsim.modules")
    with pytest.raises(PluginError, match=r"entry point 'theirs' of group 'cloudsim\.modules'"):
        modules.get("iaas")
    with pytest.raises(PluginError, match="ImportError: No module named 'their_package'"):
        modules.names()  # not loaded yet: it says so again, never half-loaded


@pytest.mark.usefixtures("toy")
def test_a_null_section_switches_the_module_off() -> None:
    scenario = build({**tiny(), "toy": None})
    assert scenario.section("toy") is None
    assert "toy" not in Simulation(scenario).modules


@pytest.mark.usefixtures("toy")
def test_a_section_the_module_cannot_compile_is_a_problem_not_a_traceback() -> None:
    class Fussy(ToyModule):
        @classmethod
        def compile(cls, world: World) -> ToySettings:
            raise ValueError("label 'bad' is reserved")

    MODULES.register("toy", Fussy)
    with pytest.raises(ScenarioError) as caught:
        build(toy_scenario(label="bad"))
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("toy", "module 'toy' cannot use its section: label 'bad' is reserved")
    ]
