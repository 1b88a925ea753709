"""Bring your own estate: the example round trip and malformed rows."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from cloudsim import load_scenario, simulate
from tests.conftest import invoke

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "estate"


def test_round_trip_keeps_every_host_and_vm(tmp_path: Path) -> None:
    out = tmp_path / "estate.yaml"
    code, stdout, stderr = invoke(
        "import", EXAMPLE / "hosts.csv", EXAMPLE / "vms.csv", EXAMPLE / "systems.csv", "-o", out
    )
    assert code == 0, stderr
    assert "14 hosts" in stdout
    scenario = load_scenario(out, overrides={"meta.horizon": "1d"})
    result = simulate(scenario, seed=1)
    hosts = list(csv.DictReader((EXAMPLE / "hosts.csv").open()))
    vms = list(csv.DictReader((EXAMPLE / "vms.csv").open()))
    assert [p.name for p in scenario.pools] == list(dict.fromkeys(h["pool"] for h in hosts))
    pool_of = {n: p.name for p in scenario.pools for g in p.hosts for n in g.names or []}
    assert pool_of == {h["name"]: h["pool"] for h in hosts}
    table = result.tables["vms"].to_pylist()
    assert result.summary["vms_initial_unplaced"] == 0
    assert len(table) == len(vms)
    ran = Counter((v["system"], v["host"]) for v in table)
    pinned = Counter((v["system"], v["host"]) for v in vms if v["host"])
    assert all(ran[k] >= n for k, n in pinned.items())  # each pinned VM where the file put it
    per_system = Counter(v["system"] for v in table)
    assert per_system == Counter(v["system"] for v in vms)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "estate"
    shutil.copytree(EXAMPLE, folder)
    return folder


def _edit(path: Path, row: int, column: str, value: str) -> None:
    rows = list(csv.DictReader(path.open()))
    rows[row][column] = value
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "message"),
    [
        (
            "hosts.csv",
            0,
            "cores",
            "forty",
            "hosts.csv, row 2, column 'cores': expected a whole number, got 'forty'",
        ),
        (
            "hosts.csv",
            0,
            "memory",
            "lots",
            "hosts.csv, row 2, column 'memory': expected a memory size such as 512GiB, got 'lots'",
        ),
        (
            "hosts.csv",
            3,
            "name",
            "cd-a-x86-01",
            "hosts.csv, row 5, column 'name': expected a unique name, 'cd-a-x86-01' is also "
            "on row 2",
        ),
        (
            "hosts.csv",
            6,
            "arch",
            "sparc",
            "hosts.csv, row 8, column 'arch': expected one of x86_64, aarch64, got 'sparc'",
        ),
        (
            "hosts.csv",
            2,
            "datacenter",
            "cd-backup",
            "hosts.csv, row 4, column 'pool': expected pool 'cd-main-ext' in 'cd-main'",
        ),
        (
            "vms.csv",
            4,
            "host",
            "nowhere",
            "vms.csv, row 6, column 'host': expected a host of hosts.csv, got 'nowhere'",
        ),
        (
            "vms.csv",
            0,
            "cores",
            "0",
            "vms.csv, row 2, column 'cores': expected a whole number from 1 to 1024, got 0",
        ),
        (
            "vms.csv",
            2,
            "department",
            "cd-other",
            "vms.csv, row 4, column 'department': expected 'cd-gov-office'",
        ),
        (
            "vms.csv",
            1,
            "system",
            "cd oa",
            "vms.csv, row 3, column 'system': expected a name (at most 80 characters, no "
            "spaces, brackets, '=' or ','), got 'cd oa'",
        ),
        (
            "systems.csv",
            1,
            "priority",
            "urgent",
            "systems.csv, row 3, column 'priority': expected one of critical, important, "
            "normal, got 'urgent'",
        ),
    ],
)
def test_malformed_rows_exit_2_naming_file_row_column(
    tmp_path: Path, file: str, row: int, column: str, value: str, message: str
) -> None:
    folder = _copy(tmp_path)
    _edit(folder / file, row, column, value)
    out = tmp_path / "estate.yaml"
    code, _, stderr = invoke(
        "import", folder / "hosts.csv", folder / "vms.csv", folder / "systems.csv", "-o", out
    )
    assert code == 2
    assert message in " ".join(stderr.split())
    assert not out.exists()


def test_a_missing_column_and_an_overfull_host(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "vms.csv").read_text().replace("department", "dept", 1)
    (folder / "vms.csv").write_text(text)
    code, _, stderr = invoke(
        "import", folder / "hosts.csv", folder / "vms.csv", "-o", tmp_path / "e.yaml"
    )
    assert code == 2
    assert (
        "vms.csv, row 1, column 'department': expected a column 'department' in the header"
        in " ".join(stderr.split())
    )
    folder = _copy(tmp_path / "again")
    _edit(folder / "hosts.csv", 0, "cpu_overcommit", "")
    _edit(folder / "hosts.csv", 1, "cpu_overcommit", "")
    _edit(folder / "hosts.csv", 0, "memory", "24GiB")  # the class shrinks below what it holds
    code, _, stderr = invoke(
        "import", folder / "hosts.csv", folder / "vms.csv", "-o", tmp_path / "e.yaml"
    )
    assert code == 0, stderr  # memory overcommitted just enough, as the estate runs
    rows = list(csv.DictReader((folder / "hosts.csv").open()))
    with (folder / "hosts.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, [*rows[0], "memory_overcommit"])
        writer.writeheader()
        writer.writerows({**r, "memory_overcommit": "1.0"} for r in rows)
    code, _, stderr = invoke(
        "import", folder / "hosts.csv", folder / "vms.csv", "-o", tmp_path / "f.yaml"
    )
    assert code == 2
    assert "host 'cd-a-x86-01' is full: the cloud hosts pinned to it need 32768 MiB of memory" in (
        " ".join(stderr.split())
    )


def test_an_unwritable_out_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "estate.yaml"
    code, _, stderr = invoke("import", EXAMPLE / "hosts.csv", EXAMPLE / "vms.csv", "-o", out)
    assert code == 2
    assert "cannot write it" in stderr
    assert not out.parent.exists()


def test_a_minimal_inventory_imports(tmp_path: Path) -> None:
    """No site column (a centre's site gets a name of its own) and a systems file without
    zones (the zone comes from the system's hosts)."""
    (tmp_path / "h.csv").write_text("name,datacenter,pool,cores,memory\nh1,dc,p,16,64\n")
    (tmp_path / "v.csv").write_text("name,system,department,cores,memory,host\nv1,s,d,2,4,h1\n")
    (tmp_path / "s.csv").write_text("name,department,priority\ns,d,critical\n")
    out = tmp_path / "estate.yaml"
    code, _, err = invoke(
        "import", tmp_path / "h.csv", tmp_path / "v.csv", tmp_path / "s.csv", "-o", out
    )
    assert code == 0, err
    scenario = load_scenario(out)
    assert [(d.name, d.site) for d in scenario.datacenters] == [("dc", "dc-site")]
    assert scenario.systems[0].zone == scenario.pools[0].zone


def test_rows_are_named_by_their_line_and_a_repeated_column_is_refused(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("name,datacenter,pool,cores,memory\nh1,dc,p,16,64\n")
    (tmp_path / "v.csv").write_text(
        "name,system,department,cores,memory,host\n\n\nv1,s,d,2,lots,h1\n"
    )
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv")
    assert code == 2
    assert "row 4" in err and "memory" in err, err
    (tmp_path / "h.csv").write_text("name,name,datacenter,pool,cores,memory\nh1,h2,dc,p,16,64\n")
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv")
    assert code == 2
    assert "column 'name'" in err and "appears twice" in err, err
    (tmp_path / "e.csv").write_text("\n")
    code, _, err = invoke("import", tmp_path / "e.csv", tmp_path / "v.csv")
    assert code == 2 and "empty file" in err


def test_a_misspelt_column_is_refused_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("name,datacenter,pool,cores,memroy\nh1,dc,p,16,64\n")
    (tmp_path / "v.csv").write_text("name,system,department,cores,memory,host\nv1,s,d,2,4,h1\n")
    out = tmp_path / "e.yaml"
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv", "-o", out)
    assert code == 2 and not out.exists()
    assert "h.csv, row 1, column 'memroy': unknown column: expected some of name," in " ".join(
        err.split()
    )


def test_pool_purpose_and_dedication_are_imported_and_checked(tmp_path: Path) -> None:
    hosts = (
        "name,datacenter,pool,purpose,dedicated_to,cores,memory\n"
        "h1,dc,p-gen,,,16,64\nh2,dc,p-tax,dedicated,tax,16,64\nh3,dc,p-tax,,,16,64\n"
        "h4,dr,p-dr,standby,,16,64\n"
    )
    (tmp_path / "h.csv").write_text(hosts)
    (tmp_path / "v.csv").write_text(
        "name,system,department,cores,memory,host\nv1,s,tax,2,4,h2\nv2,t,other,2,4,h1\n"
    )
    out = tmp_path / "e.yaml"
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv", "-o", out)
    assert code == 0, err
    pools = {p.name: p for p in load_scenario(out).pools}
    assert [(p.purpose, p.dedicated_to) for p in pools.values()] == [
        ("general", None), ("dedicated", "tax"), ("standby", None)
    ]  # fmt: skip
    # a later row that disagrees with the pool, and dedication without a department
    (tmp_path / "h.csv").write_text(hosts.replace("h3,dc,p-tax,,", "h3,dc,p-tax,general,"))
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv", "-o", out)
    assert code == 2
    assert "h.csv, row 4, column 'purpose': expected 'dedicated' for pool 'p-tax'" in err
    (tmp_path / "h.csv").write_text(hosts.replace("dedicated,tax", "dedicated,"))
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv", "-o", out)
    assert code == 2
    assert "h.csv, row 3, column 'purpose': pool 'p-tax': expected a dedicated_to" in " ".join(
        err.split()
    )


def test_problems_of_the_imported_scenario_name_the_row_they_came_from(tmp_path: Path) -> None:
    """Checks that run on the whole scenario (a pinned host too full, a cloud host of one
    department on another's dedicated pool) are reported against the CSV row behind them."""
    (tmp_path / "h.csv").write_text(
        "name,datacenter,pool,purpose,dedicated_to,cores,memory,memory_overcommit\n"
        "h1,dc,p,,,16,64,1\nh2,dc,q,dedicated,tax,16,64,1\n"
    )
    (tmp_path / "v.csv").write_text(
        "name,system,department,cores,memory,host\nv1,s,d,2,40,h1\nv2,s,d,2,40,h1\nv3,t,d,2,4,h2\n"
    )
    out = tmp_path / "e.yaml"
    code, _, err = invoke("import", tmp_path / "h.csv", tmp_path / "v.csv", "-o", out)
    assert code == 2 and not out.exists()
    text = " ".join(err.split())
    assert "v.csv, row 3: host 'h1' is full" in text
    assert "(field systems[s].vms.0.hosts.1 of the imported scenario)" in text
    assert "v.csv, row 4: " in text, text  # h2 is dedicated to tax, v3 belongs to d
