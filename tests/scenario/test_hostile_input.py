"""Untrusted scenario files: every bad file a clean problem (file, field, expectation), in
bounded time and memory; never a traceback, a hang or a runaway allocation."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudsim import load_scenario
from cloudsim.errors import Problem, ScenarioError
from cloudsim.scenario import loader, reading
from cloudsim.scenario.loader import MAX_EXTENDS_DEPTH, OVERRIDE_SOURCE
from tests.conftest import invoke

DATA = Path(__file__).resolve().parent.parent / "data"
BASE = DATA / "base.yaml"


def problems(path: Path | str, *overrides: str, seconds: float = 5.0) -> list[Problem]:
    """The problems of an invalid scenario, found within ``seconds`` of this process's CPU
    time (not wall time: a test run beside other work must not fail for being shared)."""
    started = time.process_time()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, list(overrides))
    elapsed = time.process_time() - started
    assert elapsed < seconds, f"took {elapsed:.1f}s"
    assert info.value.problems
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]
    return info.value.problems


def only(path: Path | str, *overrides: str, seconds: float = 5.0) -> Problem:
    found = problems(path, *overrides, seconds=seconds)
    assert len(found) == 1, found
    return found[0]


def base_data() -> dict[str, Any]:
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- not a file


def test_directory_is_refused(tmp_path: Path) -> None:
    p = only(tmp_path)
    assert (p.file, p.path) == (str(tmp_path), "")
    assert p.message == "not a regular file: a directory; expected a YAML text file"


def test_device_is_refused_without_reading_it() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    p = only("/dev/zero", seconds=2.0)
    assert p.message == "not a regular file: a character device; expected a YAML text file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block
    p = only(fifo, seconds=2.0)
    assert p.message == "not a regular file: a FIFO (named pipe); expected a YAML text file"


def test_fifo_as_an_extends_base_names_the_base(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp_path / "pipe.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("extends: pipe.yaml\n", encoding="utf-8")
    p = only(child, seconds=2.0)
    assert p.file == str(tmp_path / "pipe.yaml")
    assert "FIFO" in p.message


def test_file_over_the_size_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"meta: {name: x}\n#" + b"x" * (17 * 2**20) + b"\n")
    p = only(path, seconds=2.0)
    size = path.stat().st_size
    assert p.message.startswith(f"the file is {size:,} bytes (17.0 MiB), over the limit of ")
    assert "16,777,216 bytes (16.0 MiB)" in p.message
    assert "CLOUDSIM_MAX_FILE_BYTES" in p.message


def test_size_limit_from_the_environment_and_the_keyword(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(reading.MAX_FILE_BYTES_ENV, "1000")
    p = only(BASE)
    assert "over the limit of 1,000 bytes" in p.message
    # the keyword wins over the environment
    assert loader.load_scenario(BASE, max_file_bytes=10**6).meta.name == "tiny"
    monkeypatch.setenv(reading.MAX_FILE_BYTES_ENV, "lots")
    p = only(BASE)
    assert p.message == "CLOUDSIM_MAX_FILE_BYTES='lots' is not a number of bytes"


def test_size_limit_counts_the_bases_together(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {BASE}\nmeta: {{name: child}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        loader.load_scenario(child, max_file_bytes=BASE.stat().st_size + 10)
    (p,) = info.value.problems
    assert p.file == str(BASE)  # the file that took the total over the limit
    assert p.message.startswith("with its extends: bases, the scenario is ")


# ----------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("content", "pieces"),
    [
        ("meta: {name: café}\n".encode("latin-1"), ["not UTF-8: byte 0xe9 at byte offset 16"]),
        ("meta: {name: x}\n".encode("utf-16"), ["UTF-16 byte-order mark", "byte offset 0"]),
        ("meta: {name: x}\n".encode("utf-16-le"), ["NUL byte at byte offset 1", "UTF-16"]),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), ["NUL byte at byte offset 7"]),
        (b"meta:\n  name: \xed\xa0\x80\n", ["byte 0xed at byte offset 14 (line 2"]),
    ],
    ids=["latin-1", "utf-16-bom", "utf-16-no-bom", "binary", "surrogate"],
)
def test_not_utf8_names_the_file_and_the_byte_offset(
    tmp_path: Path, content: bytes, pieces: list[str]
) -> None:
    path = tmp_path / "encoded.yaml"
    path.write_bytes(content)
    p = only(path)
    assert (p.file, p.path) == (str(path), "")
    for piece in pieces:
        assert piece in p.message, (piece, p.message)
    assert "save" in p.message and "UTF-8" in p.message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.read_bytes())
    assert load_scenario(path).meta.name == "tiny"


# ----------------------------------------------------------------------------- depth


@pytest.mark.parametrize(
    "text",
    [
        "meta: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "meta: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "meta:\n" + "".join(" " * i + "a:\n" for i in range(1, 3000)),
        "meta: " + "[" * 500 + "]" * 500 + "\n",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "500-lists"],
)
def test_deep_nesting_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    p = only(path)
    assert (p.file, p.path) == (str(path), "")
    # refused by the loader's bound, or (deeper still) by libyaml's own
    assert "nested more than 64 levels deep" in p.message or "nesting depth" in p.message


def test_deep_nesting_through_aliases_is_refused(tmp_path: Path) -> None:
    text = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [[[*a{i - 1}]]]\n" for i in range(1, 40))
    path = tmp_path / "deep-aliases.yaml"
    path.write_text(text, encoding="utf-8")
    assert "nested more than 64 levels deep" in only(path).message


def test_deep_set_value_and_path_are_refused() -> None:
    p = only(BASE, "meta.name=" + "[" * 5000 + "]" * 5000)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "meta.name")
    assert "cannot read the value" in p.message
    p = only(BASE, "meta" + ".a" * 5000 + "=1")
    assert p.file == OVERRIDE_SOURCE
    assert "more than 64" in p.message


def test_long_extends_chain_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f0.yaml").write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    for i in range(1, 1500):
        text = f"extends: f{i - 1}.yaml\nmeta: {{seed: {i}}}\n"
        (tmp_path / f"f{i}.yaml").write_text(text, encoding="utf-8")
    p = only(tmp_path / "f1499.yaml")
    assert p.path == "extends"
    assert p.file == str(tmp_path / f"f{1499 - MAX_EXTENDS_DEPTH + 1}.yaml")
    assert f"extends chain more than {MAX_EXTENDS_DEPTH} files deep" in p.message


def test_extends_chain_within_the_limit_loads(tmp_path: Path) -> None:
    (tmp_path / "f0.yaml").write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    for i in range(1, MAX_EXTENDS_DEPTH):
        text = f"extends: f{i - 1}.yaml\nmeta: {{seed: {i}}}\n"
        (tmp_path / f"f{i}.yaml").write_text(text, encoding="utf-8")
    assert load_scenario(tmp_path / f"f{MAX_EXTENDS_DEPTH - 1}.yaml").meta.seed == 31


def test_extends_fan_out_is_bounded(tmp_path: Path) -> None:
    # Each file extends the next one twice: 2**30 loads without a bound on the files read.
    (tmp_path / "f30.yaml").write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    for i in range(30):
        text = f"extends: [f{i + 1}.yaml, f{i + 1}.yaml]\n"
        (tmp_path / f"f{i}.yaml").write_text(text, encoding="utf-8")
    p = only(tmp_path / "f0.yaml")
    assert p.path == "extends"
    assert "more than 256 files" in p.message


# ----------------------------------------------------------------------------- alias bombs

_LAUGHS = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(8)
]


def test_billion_laughs_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(_LAUGHS) + "\nmeta: *i\n", encoding="utf-8")
    assert path.stat().st_size < 1024
    p = only(path, seconds=2.0)
    assert (p.file, p.path) == (str(path), "")
    assert p.message.startswith("refused at line ")
    assert "more than 1,000,000 values (aliases counted as what they repeat)" in p.message


def test_billion_laughs_set_value_is_refused_quickly() -> None:
    value = "{" + ", ".join(_LAUGHS) + "}"
    p = only(BASE, f"meta.name={value}", seconds=2.0)
    assert (p.file, p.path) == (OVERRIDE_SOURCE, "meta.name")
    assert "more than 1,000,000 values" in p.message
    assert len(p.message) < 300  # the value is not quoted whole


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("meta: &m {name: x, self: *m}\n", encoding="utf-8")
    assert "alias *m is inside its own anchor" in only(path).message


def test_aliases_within_the_limits_still_work(tmp_path: Path) -> None:
    text = BASE.read_text(encoding="utf-8").replace(
        "zones:\n  - {name: extranet}", "zones:\n  - &zone {name: extranet}", 1
    )
    text += "\nx-shared: &shared [1, 2, 3]\n"
    path = tmp_path / "anchors.yaml"
    path.write_text(text, encoding="utf-8")
    p = only(path)  # the unknown section, reported by name: the aliases were read
    assert p.path == "x-shared"


# ----------------------------------------------------------------------------- many problems


def test_twenty_thousand_unknown_keys_are_reported_quickly(tmp_path: Path) -> None:
    data = base_data()
    data["meta"].update({f"k{i}": i for i in range(20_000)})
    path = write(tmp_path / "keys.yaml", data)
    found = problems(path, seconds=5.0)
    assert len(found) == 20_000
    assert found[0] == Problem(
        str(path),
        "meta.k0",
        "unknown key 'k0' (expected one of: description, horizon, max_events, memory_limit, "
        "mlps_checks, name, sample_interval, seed, start)",
    )


def test_renamed_flavor_under_ten_thousand_systems_is_reported_quickly(tmp_path: Path) -> None:
    data = base_data()
    data["systems"] = [
        {
            "name": f"s{i}",
            "department": "dept-1",
            "zone": "extranet",
            "datacenters": ["dc-a"],
            "anti_affinity": "none",
            "vms": [{"flavor": "2c4g", "count": 1}],
        }
        for i in range(10_000)
    ]
    data["flavors"][0]["name"] = "2c4g-renamed"
    base = write(tmp_path / "base.yaml", data)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nsystems:\n  - {name: s7, zone: extranet}\n")
    # 4.6 s of CPU on the 2-core dev machine beside other work (composing 190,000 YAML nodes
    # in Python dominates); a check that compared every problem with every other would take
    # minutes
    found = problems(child, seconds=10.0)
    assert len(found) == 10_000
    assert {p.message for p in found} == {
        "unknown flavor '2c4g' (known: 2c4g-renamed, 8c32g)"  # (no close match: two edits)
    } or all(p.message.startswith("unknown flavor '2c4g'") for p in found)
    by_path = {p.path: p.file for p in found}
    assert by_path["systems[s0].vms[0].flavor"] == str(base)
    assert by_path["systems[s7].vms[0].flavor"] == str(base)  # the child set only the zone


# ----------------------------------------------------------------------------- control characters


def test_control_characters_are_escaped_in_problems(tmp_path: Path) -> None:
    data = base_data()
    data["meta"]["bad\x1b[2Jkey\nline"] = 1
    path = write(tmp_path / "escapes.yaml", data)
    found = problems(path)
    assert [p.path for p in found] == ["meta.bad\\x1b[2Jkey\\nline"]
    assert found[0].message.startswith("unknown key 'bad\\x1b[2Jkey\\nline'")
    del data["meta"]["bad\x1b[2Jkey\nline"]
    zone = data["pools"][0]["zone"]
    data["pools"][0]["zone"] = "evil\x1bcred\u202e"  # names allow no whitespace, no [
    path = write(tmp_path / "escapes.yaml", data)
    (p,) = problems(path)
    assert p.path == f"pools[{data['pools'][0]['name']}].zone"
    assert p.message.startswith("a name must not contain control characters")
    assert p.message.endswith("got 'evil\\x1bcred\\u202e'")  # the value escaped
    data["pools"][0]["zone"] = zone
    data["pools"][0]["name"] = "p\n1"  # refused by the name's pattern, the value quoted
    path = write(tmp_path / "escapes.yaml", data)
    newline = problems(path)
    assert [q.path for q in newline] == ["pools[p\\n1].name"]
    assert newline[0].message.endswith(", got 'p\\n1'")
    for problem in (*found, p, *newline):
        assert not any(c in str(problem) for c in "\n\x1b\u202e")


def test_control_characters_in_a_file_name(tmp_path: Path) -> None:
    path = tmp_path / "a\nb\x1b[0m.yaml"
    path.write_text("meta: [\n", encoding="utf-8")
    p = only(path)
    assert "\n" not in p.file and "\x1b" not in p.file
    assert p.file.endswith("a\\nb\\x1b[0m.yaml")


# ----------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("kind", ["laughs", "latin-1", "deep", "escapes"])
def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.yaml"
    if kind == "laughs":
        path.write_text("\n".join(_LAUGHS) + "\nmeta: *i\n", encoding="utf-8")
    elif kind == "latin-1":
        path.write_bytes("meta: {name: café}\n".encode("latin-1"))
    elif kind == "deep":
        path.write_text("meta: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    else:
        data = base_data()
        data["meta"]["a\nb"] = 1
        data["meta"]["c\x1b[31md"] = 2
        write(path, data)
    started = time.perf_counter()
    code, out, err = invoke("validate", path)
    assert time.perf_counter() - started < 5.0
    assert code == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    count = 2 if kind == "escapes" else 1
    assert lines[0].endswith(f"invalid scenario ({count} problem{'s' * (count != 1)})")
    assert len(lines) == 1 + count
    assert all(line.startswith(f"  {path}".split("\n")[0][:10]) for line in lines[1:])
    assert "\x1b" not in err
