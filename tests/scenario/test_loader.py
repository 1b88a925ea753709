"""The scenario loader: every user error named by file, dotted path and what was expected."""

from __future__ import annotations

import copy
import time
import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from cloudsim import load_scenario
from cloudsim.errors import Problem, ScenarioError
from cloudsim.scenario import schema
from cloudsim.scenario.loader import OVERRIDE_SOURCE, parse_override
from cloudsim.scenario.schema import Scenario
from cloudsim.units import DAY

DATA = Path(__file__).resolve().parent.parent / "data"
BASE = DATA / "base.yaml"
CHILD = DATA / "child.yaml"


# ----------------------------------------------------------------------------- helpers


def problems(path: Path | str, *overrides: str) -> list[Problem]:
    """The problems of an invalid scenario (fails the test if it loads)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, list(overrides))
    assert info.value.problems, "a ScenarioError must carry at least one problem"
    # The exception text is one line per problem, each "file: path: message".
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]
    return info.value.problems


def only(path: Path | str, *overrides: str) -> Problem:
    found = problems(path, *overrides)
    assert len(found) == 1, found
    return found[0]


def base_data() -> dict[str, Any]:
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write(folder: Path, name: str, data: dict[str, Any] | str) -> Path:
    path = folder / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def variant(folder: Path, name: str = "scenario.yaml", **changes: Any) -> Path:
    """base.yaml with whole sections replaced, written to ``folder``."""
    data = base_data()
    data.update(copy.deepcopy(changes))
    return write(folder, name, data)


def pool(name: str, datacenter: str, count: int, zone: str = "extranet") -> dict[str, Any]:
    return {
        "name": name,
        "datacenter": datacenter,
        "zone": zone,
        "hosts": [{"host_class": "x86-small", "count": count}],
    }


# ----------------------------------------------------------------------------- valid input


def test_base_fixture_loads_with_units_parsed() -> None:
    s = load_scenario(BASE)
    assert isinstance(s, Scenario)
    assert s.meta.name == "tiny"
    assert s.meta.horizon == 30 * DAY
    assert s.meta.sample_interval == 3600.0
    assert [d.name for d in s.datacenters] == ["dc-a", "dc-b"]
    assert s.host_count == 7
    host = s.host_classes[0]
    assert (host.memory, host.disk, host.network) == (256 * 1024, 4000, 25.0)
    assert s.links[0].bandwidth_gbps == 10.0
    assert s.links[0].one_way_ms == pytest.approx(1.0)
    assert {f.name: f.memory for f in s.flavors} == {"2c4g": 4096, "8c32g": 32768}
    assert s.systems[0].vm_count == 6
    assert s.workload.lifetime.distribution == "exponential"


def test_load_accepts_str_path() -> None:
    assert load_scenario(str(BASE)).meta.name == "tiny"


def test_scenario_is_frozen() -> None:
    s = load_scenario(BASE)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        s.meta.horizon = 1.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        s.pools[0].cpu_overcommit = 9.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        s.meta = s.meta  # type: ignore[misc]


def _models(root: type[pydantic.BaseModel]) -> set[type[pydantic.BaseModel]]:
    seen: set[type[pydantic.BaseModel]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for field in model.model_fields.values():
            stack: list[Any] = [field.annotation]
            while stack:
                annotation = stack.pop()
                if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
                    todo.append(annotation)
                stack.extend(typing.get_args(annotation))
    return seen


def test_every_schema_model_forbids_extra_keys_and_is_frozen() -> None:
    models = _models(Scenario)
    assert {schema.Meta, schema.Pool, schema.HostGroup, schema.Quota, schema.VMGroup} <= models
    assert {schema.LognormalLifetime, schema.VMCountDistribution, schema.WeightedCentres} <= models
    for model in models:
        assert model.model_config.get("extra") == "forbid", model.__name__
        assert model.model_config.get("frozen") is True, model.__name__


def test_unknown_keys_refused_at_every_level_all_at_once(tmp_path: Path) -> None:
    data = base_data()
    data["meta"]["colour"] = 1
    data["sites"][0]["colour"] = 1
    data["datacenters"][0]["colour"] = 1
    data["links"][0]["colour"] = 1
    data["zones"][0]["colour"] = 1
    data["host_classes"][0]["colour"] = 1
    data["pools"][0]["colour"] = 1
    data["pools"][0]["hosts"][0]["colour"] = 1
    data["flavors"][0]["colour"] = 1
    data["departments"][0]["quota"] = {"vms": 10, "colour": 1}
    data["systems"][0]["vms"][0]["colour"] = 1
    data["workload"]["lifetime"]["colour"] = 1
    data["workload"]["batch"] = {"min": 1, "max": 2, "colour": 1}
    data["placement"] = {"preset": "spread", "colour": 1}
    data["colour"] = 1
    path = write(tmp_path, "colours.yaml", data)
    found = problems(path)
    assert {p.path for p in found} == {
        "meta.colour",
        "sites[city-a].colour",
        "datacenters[dc-a].colour",
        "links[0].colour",
        "zones[extranet].colour",
        "host_classes[x86-small].colour",
        "pools[a-ext].colour",
        "pools[a-ext].hosts[0].colour",
        "flavors[2c4g].colour",
        "departments[dept-1].quota.colour",
        "systems[portal].vms[0].colour",
        "workload.lifetime.colour",
        "workload.batch.colour",
        "placement.colour",
        "colour",
    }
    assert len(found) == 15
    for p in found:
        assert p.file == str(path)
        assert p.message.startswith("unknown key 'colour'")
        assert "expected one of:" in p.message


# ----------------------------------------------------------------------------- schema errors


def test_misspelt_key_gets_did_you_mean_and_the_valid_keys(tmp_path: Path) -> None:
    data = base_data()
    data["pools"][1]["cpu_overcomit"] = data["pools"][1].pop("cpu_overcommit")
    path = write(tmp_path, "typo.yaml", data)
    p = only(path)
    assert p.file == str(path)
    assert p.path == "pools[b-ext].cpu_overcomit"
    assert "unknown key 'cpu_overcomit'" in p.message
    assert "did you mean 'cpu_overcommit'?" in p.message
    assert "datacenter" in p.message and "memory_overcommit" in p.message


def test_two_unknown_keys_are_two_problems() -> None:
    found = problems(BASE, "meta.colour=red", "workload.speed=3")
    assert [(p.file, p.path) for p in found] == [
        (OVERRIDE_SOURCE, "meta.colour"),
        (OVERRIDE_SOURCE, "workload.speed"),
    ]
    assert all("unknown key" in p.message for p in found)


def test_many_different_problems_reported_together(tmp_path: Path) -> None:
    data = base_data()
    data["meta"]["horizon"] = "3 fortnights"
    data["host_classes"][0]["memory"] = "256GHz"
    data["pools"][0]["hosts"][0]["count"] = -4
    data["flavors"][1]["vcpus"] = 0
    path = write(tmp_path, "many.yaml", data)
    found = {p.path: p for p in problems(path)}
    assert set(found) == {
        "meta.horizon",
        "host_classes[x86-small].memory",
        "pools[a-ext].hosts[0].count",
        "flavors[8c32g].vcpus",
    }
    assert all(p.file == str(path) for p in found.values())
    assert "unknown duration unit 'fortnights'" in found["meta.horizon"].message
    assert "unknown size unit 'GHz'" in found["host_classes[x86-small].memory"].message
    assert "GiB" in found["host_classes[x86-small].memory"].message  # what was expected
    count = found["pools[a-ext].hosts[0].count"].message
    assert "greater than or equal to 0" in count and "got -4" in count
    assert "greater than or equal to 1" in found["flavors[8c32g].vcpus"].message


@pytest.mark.parametrize(
    ("override", "path", "pieces"),
    [
        ("meta.horizon=-5d", "meta.horizon", ["cannot be negative", "'-5d'"]),
        ("meta.horizon=3M", "meta.horizon", ["ambiguous", "'3M'", "minutes"]),
        ("meta.horizon=0s", "meta.horizon", ["greater than 0"]),
        ("meta.horizon=true", "meta.horizon", ["expected a duration", "True"]),
        ("meta.seed=abc", "meta.seed", ["valid integer", "'abc'"]),
        ("meta.seed=-1", "meta.seed", ["greater than or equal to 0", "-1"]),
        ("flavors[2c4g].memory=4GBs", "flavors[2c4g].memory", ["unknown size unit 'GBs'"]),
        ("links[0].bandwidth_gbps=10GB", "links[0].bandwidth_gbps", ["bandwidth unit 'GB'"]),
        ("links[0].bandwidth_gbps=-1Gbps", "links[0].bandwidth_gbps", ["cannot be negative"]),
        ("systems[portal].vms[0].count=-1", "systems[portal].vms[0].count", ["greater than"]),
        ("pools[a-ext].cpu_overcommit=100", "pools[a-ext].cpu_overcommit", ["64", "100"]),
        ("pools[a-ext].hosts=[]", "pools[a-ext].hosts", ["at least 1 item"]),
        ("systems[portal].priority=urgent", "systems[portal].priority", ["'critical'"]),
        (
            "workload.lifetime={distribution: weibull, mean: 3d}",
            "workload.lifetime",
            ["'weibull'", "'exponential'", "'lognormal'", "'fixed'"],
        ),
        ("workload.lifetime.mean=-3d", "workload.lifetime.mean", ["cannot be negative"]),
        ("workload.batch={min: 3, max: 1}", "workload.batch", ["max (1) must be at least min (3)"]),
        ("datacenters[dc-a].power_domains=9", "datacenters[dc-a]", ["cannot exceed racks (4)"]),
        ("host_classes[x86-small].memory=.inf", "host_classes[x86-small].memory", ["finite"]),
        ("meta.name=has space", "meta.name", ["pattern"]),
    ],
)
def test_bad_value_named_by_path_with_what_was_expected(
    override: str, path: str, pieces: list[str]
) -> None:
    p = only(BASE, override)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    for piece in pieces:
        assert piece in p.message, (piece, p.message)
    assert p.message.count(", got") <= 1  # the offending value is quoted once, not twice


def test_missing_required_field(tmp_path: Path) -> None:
    data = base_data()
    del data["meta"]["name"]
    del data["pools"][0]["zone"]
    path = write(tmp_path, "missing.yaml", data)
    found = problems(path)
    assert [(p.path, p.message) for p in found] == [
        ("meta.name", "required field is missing"),
        ("pools[a-ext].zone", "required field is missing"),
    ]


def test_link_to_itself(tmp_path: Path) -> None:
    data = base_data()
    data["links"] = [{"between": ["dc-a", "dc-a"], "distance_km": 10, "bandwidth_gbps": "10Gbps"}]
    path = write(tmp_path, "loop.yaml", data)
    p = only(path)
    assert (p.file, p.path) == (str(path), "links[0]")
    assert p.message == "a link must join two different data centres, got 'dc-a' twice"


def test_link_needs_latency_or_distance() -> None:
    p = only(BASE, "links[0]={between: [dc-a, dc-b], bandwidth_gbps: 10Gbps}")
    assert p.path == "links[0]"
    assert "latency_ms" in p.message and "distance_km" in p.message


# ----------------------------------------------------------------------------- YAML and files


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "meta:\n  name: x\n  horizon: [30d\nsites: []\n")
    p = only(path)
    assert p.file == str(path)
    assert p.path == ""
    assert p.message.startswith("not valid YAML at line ")
    assert "column" in p.message
    assert "Traceback" not in p.message


def test_yaml_tab_error_position(tmp_path: Path) -> None:
    path = write(tmp_path, "tabs.yaml", "meta:\n\tname: x\n")
    p = only(path)
    assert "not valid YAML at line 2, column 1" in p.message


def test_duplicate_yaml_key_is_refused_not_silently_dropped(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8")
    path = write(tmp_path, "twice.yaml", text + "\nzones:\n  - {name: dmz}\n")
    p = only(path)
    assert p.file == str(path)
    assert "not valid YAML at line" in p.message
    assert "duplicate key 'zones' (first given at line" in p.message


def test_duplicate_nested_yaml_key(tmp_path: Path) -> None:
    path = write(tmp_path, "twice.yaml", "meta:\n  name: a\n  seed: 1\n  seed: 2\n")
    p = only(path)
    assert "not valid YAML at line 4, column 3: duplicate key 'seed' (first given at line 3)" in (
        p.message
    )


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8").replace(
        "pools:\n  - name: a-ext\n", "pools:\n  - &pool\n    name: a-ext\n", 1
    )
    text = text.replace(
        "  - name: b-ext\n    datacenter: dc-b\n",
        "  - <<: *pool\n    name: b-ext\n    datacenter: dc-b\n",
    )
    path = write(tmp_path, "anchors.yaml", text)
    s = load_scenario(path)
    assert [p.name for p in s.pools] == ["a-ext", "b-ext"]
    assert s.pools[1].datacenter == "dc-b"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "list.yaml", "- a\n- b\n")
    p = only(path)
    assert (p.file, p.path) == (str(path), "")
    assert "expected a mapping of sections, got list" in p.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    p = only(path)
    assert (p.file, p.message) == (str(path), "no such scenario file")


def test_empty_file_reports_the_required_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.yaml", "")
    found = problems(path)
    assert {p.path for p in found} >= {"meta", "sites", "datacenters", "zones", "pools"}
    assert all(p.message == "required field is missing" and p.file == str(path) for p in found)


def test_yaml_is_read_with_the_safe_loader(tmp_path: Path) -> None:
    path = write(tmp_path, "unsafe.yaml", "meta: !!python/object/apply:os.system ['true']\n")
    p = only(path)
    assert "not valid YAML" in p.message


# ----------------------------------------------------------------------------- cross-references


def test_pool_in_unknown_datacentre_lists_the_known_names(tmp_path: Path) -> None:
    data = base_data()
    data["pools"][0]["datacenter"] = "dc-z"
    path = write(tmp_path, "nodc.yaml", data)
    p = only(path)
    assert (p.file, p.path) == (str(path), "pools[a-ext].datacenter")
    assert p.message.startswith("unknown data centre 'dc-z'")
    assert "(known: dc-a, dc-b)" in p.message


def test_misspelt_reference_gets_did_you_mean() -> None:
    p = only(BASE, "pools[b-ext].datacenter=dc-bb")
    assert "unknown data centre 'dc-bb'; did you mean 'dc-b'?" in p.message


@pytest.mark.parametrize(
    ("override", "path", "pieces"),
    [
        ("datacenters[dc-b].site=city-x", "datacenters[dc-b].site", ["unknown site 'city-x'"]),
        ("pools[a-ext].zone=dmz", "pools[a-ext].zone", ["unknown zone 'dmz'", "extranet"]),
        (
            "pools[a-ext].hosts[0].host_class=big",
            "pools[a-ext].hosts[0].host_class",
            ["unknown host class 'big'", "x86-small"],
        ),
        ("systems[portal].department=dept-9", "systems[portal].department", ["unknown department"]),
        ("systems[portal].vms[1].flavor=64c", "systems[portal].vms[1].flavor", ["unknown flavor"]),
        (
            "systems[portal].datacenters=[dc-a, dc-q]",
            "systems[portal].datacenters[1]",
            ["unknown data centre 'dc-q'"],
        ),
        ("links[0].between=[dc-a, dc-x]", "links[0].between[1]", ["unknown data centre 'dc-x'"]),
        ("placement.preset=magic", "placement.preset", ["unknown placement preset 'magic'"]),
        ("workload.systems=[ghost]", "workload.systems[0]", ["unknown system 'ghost'", "portal"]),
        ("meta.sample_interval=60d", "meta.sample_interval", ["longer than meta.horizon"]),
    ],
)
def test_unknown_references(override: str, path: str, pieces: list[str]) -> None:
    p = only(BASE, override)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    for piece in pieces:
        assert piece in p.message, (piece, p.message)


def test_duplicate_names(tmp_path: Path) -> None:
    data = base_data()
    data["zones"].append({"name": "extranet"})
    data["pools"].append(pool("a-ext", "dc-a", 1))
    data["links"].append({"between": ["dc-b", "dc-a"], "latency_ms": 2, "bandwidth_gbps": 1})
    path = write(tmp_path, "dups.yaml", data)
    found = {p.message: p for p in problems(path)}
    assert set(found) == {
        "duplicate name 'extranet' in zones",
        "duplicate name 'a-ext' in pools",
        "duplicate link dc-a — dc-b",
    }
    assert found["duplicate name 'extranet' in zones"].path == "zones[extranet].name"
    assert found["duplicate link dc-a — dc-b"].path == "links[1].between"
    assert all(p.file == str(path) for p in found.values())


def test_system_lists_a_centre_twice() -> None:
    p = only(BASE, "systems[portal].datacenters=[dc-a, dc-a]")
    assert p.path == "systems[portal]"
    assert "datacenters lists a data centre twice" in p.message


# ----------------------------------------------------------------------------- extends


def test_child_overrides_a_named_pool_and_adds_a_system() -> None:
    s = load_scenario(CHILD)
    assert s.meta.name == "tiny-child"
    assert s.meta.horizon == 30 * DAY  # inherited
    pools = {p.name: p for p in s.pools}
    assert list(pools) == ["a-ext", "b-ext"]  # merged by name, order kept
    assert pools["a-ext"].host_count == 6
    assert pools["a-ext"].cpu_overcommit == 2.0  # untouched keys of the item survive
    assert pools["b-ext"].host_count == 3
    assert [x.name for x in s.systems] == ["portal", "office", "records"]


def test_extends_list_merges_in_order(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", base_data())
    write(tmp_path, "big.yaml", {"meta": {"name": "big", "seed": 5}})
    path = write(
        tmp_path, "both.yaml", {"extends": ["base.yaml", "big.yaml"], "meta": {"name": "both"}}
    )
    s = load_scenario(path)
    assert (s.meta.name, s.meta.seed) == ("both", 5)


def test_extends_cycle(tmp_path: Path) -> None:
    p = only(DATA / "cycle_a.yaml")
    assert p.file == str(DATA / "cycle_b.yaml")  # the file whose extends closes the loop
    assert p.path == "extends"
    assert "extends cycle" in p.message
    assert "cycle_a.yaml -> " in p.message and "cycle_b.yaml -> " in p.message


def test_file_extending_itself(tmp_path: Path) -> None:
    path = write(tmp_path, "self.yaml", "extends: self.yaml\n")
    p = only(path)
    assert (p.file, p.path) == (str(path), "extends")
    assert "extends cycle" in p.message


def test_missing_base(tmp_path: Path) -> None:
    path = write(tmp_path, "orphan.yaml", "extends: gone.yaml\nmeta: {name: orphan}\n")
    p = only(path)
    assert (p.file, p.path) == (str(path), "extends")
    assert "base file 'gone.yaml' not found" in p.message


def test_extends_must_name_files(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.yaml", "extends: 5\n")
    p = only(path)
    assert (p.file, p.path) == (str(path), "extends")
    assert "expected a file name or a list of file names" in p.message


def test_invalid_yaml_in_a_base_names_the_base(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "meta: {name: x\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    p = only(child)
    assert p.file == str(base)
    assert "not valid YAML" in p.message


# ----------------------------------------------------------------------------- provenance


def test_error_in_a_value_set_by_the_base_names_the_base(tmp_path: Path) -> None:
    data = base_data()
    data["pools"][1]["cpu_overcommit"] = 100
    data["pools"][1]["datacenter"] = "dc-z"
    base = write(tmp_path, "bad-base.yaml", data)
    child = write(
        tmp_path,
        "child.yaml",
        "extends: bad-base.yaml\npools:\n  - {name: a-ext, cpu_overcommit: 99}\n",
    )
    found = {p.path: p for p in problems(child)}
    assert found["pools[b-ext].cpu_overcommit"].file == str(base)
    assert found["pools[a-ext].cpu_overcommit"].file == str(child)
    # cross-reference problems keep their provenance too (found after the schema passes)
    fixed = write(
        tmp_path,
        "fixed.yaml",
        "extends: bad-base.yaml\npools:\n  - {name: b-ext, cpu_overcommit: 2}\n",
    )
    p = only(fixed)
    assert (p.file, p.path) == (str(base), "pools[b-ext].datacenter")
    assert "unknown data centre 'dc-z'" in p.message


def test_error_in_a_value_set_by_the_child_names_the_child(tmp_path: Path) -> None:
    child = write(
        tmp_path,
        "child.yaml",
        f"extends: {BASE}\npools:\n  - name: b-ext\n    datacenter: dc-q\n",
    )
    p = only(child)
    assert (p.file, p.path) == (str(child), "pools[b-ext].datacenter")


def test_rule_broken_by_the_child_names_the_child(tmp_path: Path) -> None:
    # The base's link is fine; the child's change of `between` breaks the link as a whole.
    child = write(
        tmp_path,
        "child.yaml",
        f"extends: {BASE}\nlinks:\n"
        "  - {between: [dc-b, dc-b], latency_ms: 1, bandwidth_gbps: 1}\n",
    )
    p = only(child)
    assert (p.file, p.path) == (str(child), "links[0]")
    assert "two different data centres" in p.message


def test_error_in_a_value_set_on_the_command_line_names_set() -> None:
    p = only(CHILD, "pools[a-ext].cpu_overcommit=0")
    assert (p.file, p.path) == ("--set", "pools[a-ext].cpu_overcommit")
    assert "greater than 0" in p.message
    assert str(p) == "--set: pools[a-ext].cpu_overcommit: " + p.message


# ----------------------------------------------------------------------------- --set


def test_set_value_types() -> None:
    s = load_scenario(
        BASE,
        [
            "meta.seed=42",  # int
            "workload.growth_per_year=0.25",  # float
            "meta.name=renamed",  # string
            "meta.horizon=7d",  # duration
            "meta.sample_interval=90m",
            "zones[internet].isolated=true",  # bool
            "systems[portal].datacenters=[dc-a]",  # list
            "systems[portal].anti_affinity=none",
            "workload.batch={min: 2, max: 4}",  # mapping
            "meta.description=",  # empty string
        ],
    )
    assert s.meta.seed == 42
    assert s.workload.growth_per_year == 0.25
    assert s.meta.name == "renamed"
    assert s.meta.horizon == 7 * DAY
    assert s.meta.sample_interval == 5400.0
    assert s.zones[1].isolated is True
    assert s.systems[0].datacenters == ["dc-a"]
    assert (s.workload.batch.min, s.workload.batch.max) == (2, 4)
    assert s.meta.description == ""


def test_set_list_items_by_name_and_by_index() -> None:
    s = load_scenario(
        BASE,
        [
            "pools[b-ext].cpu_overcommit=4",
            "pools[0].memory_overcommit=1.5",
            "pools[a-ext].hosts[0].count=5",
            "host_classes[x86-small].memory=512GiB",
        ],
    )
    assert s.pools[1].cpu_overcommit == 4.0
    assert s.pools[0].memory_overcommit == 1.5
    assert s.pools[0].host_count == 5
    assert s.host_classes[0].memory == 512 * 1024


def test_set_creates_missing_keys() -> None:
    s = load_scenario(BASE, ["meta.memory_limit=4GiB", "placement.resource_weights.disk=0.5"])
    assert s.meta.memory_limit == 4096
    assert s.placement.resource_weights == {"disk": 0.5}


def test_set_applies_in_order_last_wins() -> None:
    s = load_scenario(BASE, ["meta.seed=1", "meta.seed=2"])
    assert s.meta.seed == 2


def test_overrides_as_a_mapping() -> None:
    s = load_scenario(
        BASE,
        {
            "meta.horizon": "7d",
            "meta.seed": 9,
            "pools[a-ext].cpu_overcommit": 3.5,
            "meta.name": "12345",  # a string that looks like a number stays a string
            "workload.batch": {"min": 1, "max": 5},
            "systems[portal].datacenters": ["dc-b"],
            "systems[portal].anti_affinity": "none",
        },
    )
    assert s.meta.horizon == 7 * DAY
    assert s.meta.seed == 9
    assert s.pools[0].cpu_overcommit == 3.5
    assert s.meta.name == "12345"
    assert s.workload.batch.max == 5
    assert s.systems[0].datacenters == ["dc-b"]


def test_overrides_mapping_errors_name_set() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, {"pools[a-ext].cpu_overcomit": 2})
    (p,) = info.value.problems
    assert (p.file, p.path) == ("--set", "pools[a-ext].cpu_overcomit")
    assert "did you mean 'cpu_overcommit'?" in p.message


@pytest.mark.parametrize(
    ("override", "path", "pieces"),
    [
        (
            "pools[nope].cpu_overcommit=2",
            "pools[nope].cpu_overcommit",
            ["no item 'nope'", "a-ext, b-ext"],
        ),
        ("pools[7].cpu_overcommit=2", "pools[7].cpu_overcommit", ["no item 7", "a-ext, b-ext"]),
        (
            "links[3].latency_ms=2",
            "links[3].latency_ms",
            ["no item 3 in links", "(it has: 1 item, indexed from 0)"],
        ),
        ("meta.horizon", "meta.horizon", ["expected dotted.path=value"]),
        ("meta..horizon=1", "meta..horizon", ["cannot read the path 'meta..horizon'"]),
        ("=5", "", ["cannot read the path"]),
        ("pools[a-ext=2", "pools[a-ext", ["cannot read the path"]),
        ("meta.horizon=[7d", "meta.horizon", ["cannot read the value '[7d'"]),
        ("meta.name.first=x", "meta.name.first", ["meta.name is a plain value"]),
    ],
)
def test_set_errors(override: str, path: str, pieces: list[str]) -> None:
    p = only(BASE, override)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    for piece in pieces:
        assert piece in p.message, (piece, p.message)


def test_set_unknown_item_in_a_nested_list_names_its_parent_by_name() -> None:
    p = only(BASE, "pools[a-ext].hosts[5].count=1")
    assert p.path == "pools[a-ext].hosts[5].count"
    assert p.message == "no item 5 in pools[a-ext].hosts (it has: 1 item, indexed from 0)"


def test_all_set_errors_reported_together() -> None:
    found = problems(BASE, "pools[nope].cpu_overcommit=2", "meta.horizon", "flavors[x].vcpus=1")
    assert [p.path for p in found] == [
        "pools[nope].cpu_overcommit",
        "meta.horizon",
        "flavors[x].vcpus",
    ]


def test_parse_override() -> None:
    assert parse_override("workload.growth_per_year=0.3") == (("workload", "growth_per_year"), 0.3)
    assert parse_override("pools[cs-idc-x86].cpu_overcommit=3") == (
        ("pools", "cs-idc-x86", "cpu_overcommit"),
        3,
    )
    assert parse_override("pools[0].hosts[1].count=7") == (("pools", 0, "hosts", 1, "count"), 7)
    assert parse_override("pools[a.b].zone=x") == (("pools", "a.b", "zone"), "x")
    assert parse_override("meta.name = a=b") == (("meta", "name"), "a=b")
    assert parse_override("meta.horizon=7d") == (("meta", "horizon"), "7d")
    with pytest.raises(ValueError, match=r"dotted\.path=value"):
        parse_override("meta.horizon")


# ----------------------------------------------------------------------------- memory refusal


def test_absurd_host_count_is_refused_fast_with_the_estimate() -> None:
    started = time.perf_counter()
    p = only(BASE, f"pools[a-ext].hosts[0].count={10**9}")
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"refusal took {elapsed:.2f}s: something was built first"
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "pools[a-ext].hosts[0].count")
    assert "would need about" in p.message and "GiB of memory" in p.message
    assert "1,000,000,003 hosts" in p.message
    assert "meta.memory_limit" in p.message


def test_absurd_host_count_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = variant(tmp_path, pools=[pool("a-ext", "dc-a", 4), pool("huge", "dc-b", 10**9)])
    p = only(path)
    assert (p.file, p.path) == (str(path), "pools[huge].hosts[0].count")
    assert "GiB of memory" in p.message


def test_beyond_float_host_count_is_refused_not_crashed() -> None:
    p = only(BASE, f"pools[a-ext].hosts[0].count={10**400}")
    assert "GiB of memory" in p.message


def test_memory_limit_lowers_the_budget() -> None:
    # 5,000 hosts are fine by default but not under a 1 MiB limit.
    load_scenario(BASE, ["pools[b-ext].hosts[0].count=5000"], check_feasibility=False)
    p = only(BASE, "pools[b-ext].hosts[0].count=5000", "meta.memory_limit=1MiB")
    assert p.path == "pools[b-ext].hosts[0].count"
    # Small figures in MiB (the limit was shown as "0.0 GiB" before).
    assert "over the limit of 1.0 MiB" in p.message


def test_absurd_time_series_points_at_sample_interval() -> None:
    p = only(BASE, "meta.horizon=10000y", "meta.sample_interval=1s")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "meta.sample_interval")
    assert "timeseries alone" in p.message


def test_absurd_population_is_refused_before_it_is_drawn() -> None:
    population = (
        "population={departments: 10, systems: 1000000, flavors: {2c4g: 1}, "
        "zones: {extranet: 1}, datacenters: [{datacenters: [dc-a]}], "
        "vms_per_system: {median: 1000000, max: 10000000}}"
    )
    started = time.perf_counter()
    p = only(BASE, population)
    assert time.perf_counter() - started < 1.0
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "population.systems")
    assert "vms alone" in p.message


# ----------------------------------------------------------------------------- feasibility


def test_flavor_bigger_than_any_host() -> None:
    p = only(BASE, "flavors[8c32g].memory=1TiB")
    assert p.path == "systems[portal]"
    assert p.file == str(BASE)  # the system that cannot be placed is the base file's
    assert p.message.startswith("cannot fit anywhere even on an empty platform")
    assert "'8c32g'" in p.message
    assert "memory" in p.message


def test_flavor_with_more_vcpus_than_any_host_takes() -> None:
    p = only(BASE, "flavors[8c32g].vcpus=500")
    assert p.path == "systems[portal]"
    assert "cannot fit anywhere even on an empty platform" in p.message
    assert "'8c32g'" in p.message and "cpu" in p.message


def test_hard_anti_affinity_needs_more_hosts_than_exist() -> None:
    # 20 + 2 VMs split over two centres: 11 per centre, with 4 hosts in dc-a.
    p = only(BASE, "systems[portal].vms[0].count=20")
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "systems[portal]")
    assert "cannot fit anywhere even on an empty platform" in p.message
    assert "anti_affinity 'host'" in p.message
    assert "11" in p.message and "4" in p.message


def test_anti_affinity_none_fits_the_same_system() -> None:
    s = load_scenario(
        BASE, ["systems[portal].vms[0].count=20", "systems[portal].anti_affinity=none"]
    )
    assert s.systems[0].vm_count == 22


def test_zone_with_no_hosts_in_its_centre() -> None:
    p = only(BASE, "systems[portal].zone=internet")
    assert p.path == "systems[portal]"
    assert "cannot fit anywhere even on an empty platform" in p.message
    assert "zone 'internet'" in p.message


def test_arch_with_no_hosts() -> None:
    p = only(BASE, "systems[portal].arch=aarch64")
    assert "cannot fit anywhere even on an empty platform" in p.message
    assert "aarch64" in p.message


def test_each_unplaceable_system_is_its_own_problem(tmp_path: Path) -> None:
    data = base_data()
    data["systems"].append(
        {
            "name": "archive",
            "department": "dept-1",
            "zone": "internet",
            "datacenters": ["dc-b"],
            "vms": [{"flavor": "2c4g", "count": 1}],
        }
    )
    data["flavors"][1]["memory"] = "2TiB"
    path = write(tmp_path, "two.yaml", data)
    found = problems(path)
    assert [p.path for p in found] == ["systems[portal]", "systems[archive]"]


def test_feasibility_can_be_skipped() -> None:
    s = load_scenario(BASE, ["flavors[8c32g].memory=1TiB"], check_feasibility=False)
    assert s.flavors[1].memory == 1024 * 1024


# ----------------------------------------------------------------------------- population


POPULATION = {
    "departments": 3,
    "systems": 5,
    "flavors": {"2c4g": 3, "8c32g": 1},
    "zones": {"extranet": 1},
    "datacenters": [{"datacenters": ["dc-a", "dc-b"]}],
    "anti_affinity": "none",
    "vms_per_system": {"median": 3, "sigma": 0.5, "min": 1, "max": 6},
}


def population(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(POPULATION)
    data.update(changes)
    return data


def test_population_expands() -> None:
    s = load_scenario(BASE, {"population": population()})
    assert s.population is None
    assert len(s.systems) == 2 + 5
    assert len(s.departments) == 1 + 3


@pytest.mark.parametrize(
    ("changes", "path", "pieces"),
    [
        ({"flavors": {"2c4g": 0}}, "population.flavors", ["at least one weight must be positive"]),
        ({"zones": {"extranet": -1}}, "population.zones.extranet", ["finite number >= 0", "-1"]),
        ({"mlps_levels": {7: 1}}, "population.mlps_levels[7]", ["MLPS level is 1..5, got 7"]),
        (
            {"vms_per_system": {"min": 5, "max": 2}},
            "population.vms_per_system",
            ["min (5)", "max (2)"],
        ),
        (
            {"datacenters": [{"datacenters": ["dc-a", "dc-a"]}]},
            "population.datacenters[0].datacenters",
            ["lists a data centre twice"],
        ),
        ({"flavors": {"64c": 1}}, "population.flavors.64c", ["unknown flavor '64c'"]),
        ({"zones": {"dmz": 1}}, "population.zones.dmz", ["unknown zone 'dmz'"]),
        (
            {"datacenters": [{"datacenters": ["dc-9"]}]},
            "population.datacenters[0].datacenters[0]",
            ["unknown data centre 'dc-9'"],
        ),
        ({"systems": 0}, "population.systems", ["greater than or equal to 1"]),
        ({"colour": 1}, "population.colour", ["unknown key 'colour'"]),
        (
            {"zones": {"internet": 1}},  # no general hosts in that zone anywhere
            "population",
            ["zone 'internet'", "general hosts"],
        ),
    ],
)
def test_population_errors(changes: dict[str, Any], path: str, pieces: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASE, {"population": population(**changes)})
    (p,) = info.value.problems
    assert (p.file, p.path) == (OVERRIDE_SOURCE, path)
    for piece in pieces:
        assert piece in p.message, (piece, p.message)


def test_population_error_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = variant(tmp_path, population=population(zones={"internet": 1}))
    p = only(path)
    assert (p.file, p.path) == (str(path), "population")
