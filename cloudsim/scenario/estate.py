"""Bring your own estate: a planner's inventory (CSV) as a scenario that keeps its placement.

``hosts.csv`` — one row per physical host:

- ``name`` (unique), ``datacenter``, ``pool``; optional ``site`` (default:
  ``<centre>-site``: a site may not share a centre's name) and ``zone`` (default
  ``default``);
- ``host_class`` and/or ``cores`` (physical), ``memory`` (``512GiB``; a bare number is
  GiB), optional ``arch`` (``x86_64``/``aarch64``), ``threads_per_core`` (2), ``disk``,
  ``power_idle_w``, ``power_peak_w``: a class named on one row with its figures may be
  named alone on others; without a class the figures name one (``c64-m512g-x86_64``);
- optional ``purpose`` (``general``, ``dedicated`` with ``dedicated_to`` a department,
  ``standby`` for DR capacity, ``storage``; per pool, default ``general``);
- optional ``cpu_overcommit``, ``memory_overcommit``, ``disk_overcommit`` (per pool;
  default: the least ratio, in steps of 0.1 from 1, that holds the cloud hosts placed
  there; a host with no ``disk`` takes no cloud host that has one).

``vms.csv`` — one row per cloud host: ``name``, ``system``, ``department``; ``flavor``
and/or ``cores`` (vCPUs), ``memory``, optional ``disk`` (``100GB``; a bare number is GB);
optional ``host`` (a host of ``hosts.csv``: where it runs; empty: the placer places it).

``systems.csv`` (optional) — one row per business system: ``name``, ``department``,
optional ``zone``, ``arch`` (``x86_64``, ``aarch64``, ``any``), ``priority``,
``mlps_level``, ``anti_affinity`` (default ``none``: the estate is taken as it is),
``description``. Without it a system's zone and architecture are those of its hosts.

A bad value raises :class:`EstateError` naming the file, the row (line of the file), the
column and what was expected; a column none of these is refused (a misspelt one would lose
its values). Problems found by the scenario's own checks (a pinned host too full, a pool
dedicated to another department) are traced back to the row behind them
(:meth:`Estate.where`). Cloud hosts' names are not kept: a system's cloud hosts are counted
per flavor and pinned host.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudsim.scenario.base import NAME_MAX, NAME_PATTERN
from cloudsim.units import parse_disk_gb, parse_memory_mib

ARCHES = ("x86_64", "aarch64")
_NAME = re.compile(NAME_PATTERN)


class EstateError(ValueError):
    """A problem in an inventory file: file, row (line), column and what was expected."""

    def __init__(self, file: Path, row: int | None, column: str | None, message: str) -> None:
        self.file, self.row, self.column = file, row, column
        where = str(file)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


@dataclass
class _Row:
    file: Path
    line: int
    values: dict[str, str]

    def text(self, column: str, default: str | None = None) -> str:
        value = (self.values.get(column) or "").strip()
        if value:
            return value
        if default is None:
            raise self.error(column, "expected a value, got nothing")
        return default

    def optional(self, column: str) -> str | None:
        value = (self.values.get(column) or "").strip()
        return value or None

    def error(self, column: str, message: str) -> EstateError:
        return EstateError(self.file, self.line, column, message)

    def whole(self, column: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.optional(column)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise self.error(column, f"expected a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise self.error(column, f"expected a whole number from {low} to {high}, got {number}")
        return number

    def real(self, column: str, low: float, high: float) -> float | None:
        value = self.optional(column)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.error(column, f"expected a number, got {value!r}") from None
        if not (math.isfinite(number) and low <= number <= high):
            raise self.error(column, f"expected a number from {low} to {high}, got {value}")
        return number

    def memory(self, column: str) -> int | None:
        value = self.optional(column)
        if value is None:
            return None
        try:
            mib = parse_memory_mib(value + "GiB" if _bare(value) else value)
        except ValueError:
            raise self.error(
                column, f"expected a memory size such as 512GiB, got {value!r}"
            ) from None
        if mib <= 0:
            raise self.error(column, f"expected a positive memory size, got {value!r}")
        return mib

    def disk(self, column: str) -> int | None:
        value = self.optional(column)
        if value is None:
            return None
        try:
            return parse_disk_gb(value + "GB" if _bare(value) else value)
        except ValueError:
            raise self.error(column, f"expected a disk size such as 100GB, got {value!r}") from None

    def choice(self, column: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(column, default)
        if value not in allowed:
            raise self.error(column, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    def name(self, column: str, default: str | None = None) -> str:
        value = self.text(column, default)
        if len(value) > NAME_MAX or not _NAME.match(value):
            raise self.error(
                column,
                "expected a name (at most 80 characters, no spaces, brackets, '=' or ','), "
                f"got {value!r}",
            )
        return value


def _bare(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


HOST_COLUMNS = (
    "name", "datacenter", "pool", "site", "zone", "purpose", "dedicated_to", "host_class",
    "cores", "memory", "arch", "threads_per_core", "disk", "power_idle_w", "power_peak_w",
    "cpu_overcommit", "memory_overcommit", "disk_overcommit",
)  # fmt: skip
VM_COLUMNS = ("name", "system", "department", "flavor", "cores", "memory", "disk", "host")
SYSTEM_COLUMNS = (
    "name", "department", "zone", "arch", "priority", "mlps_level", "anti_affinity",
    "description",
)  # fmt: skip
PURPOSES = ("general", "dedicated", "standby", "storage")


def _read(path: Path, required: tuple[str, ...], known: tuple[str, ...]) -> list[_Row]:
    if not path.is_file():
        raise EstateError(path, None, None, "no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EstateError(path, None, None, f"cannot read it as UTF-8 text ({exc})") from None
    if not text.strip():
        raise EstateError(path, None, None, "empty file: expected a header row and rows")
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in reader.fieldnames or []]
    reader.fieldnames = columns
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise EstateError(path, 1, repeated[0], "the column appears twice in the header")
    for column in required:
        if column not in columns:
            raise EstateError(path, 1, column, f"expected a column {column!r} in the header")
    for column in columns:
        if column not in known:  # a misspelt column would silently lose its values
            raise EstateError(
                path, 1, column, f"unknown column: expected some of {', '.join(known)}"
            )
    rows = []
    for values in reader:
        line = reader.line_num  # the file's line (blank lines and quoted newlines counted)
        if None in values:
            raise EstateError(path, line, None, f"expected {len(columns)} columns, got more")
        if any((v or "").strip() for v in values.values()):
            rows.append(_Row(path, line, {k: v or "" for k, v in values.items()}))
    return rows


def _unique(rows: list[_Row], column: str) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        name = row.name(column)
        if name in seen:
            raise row.error(column, f"expected a unique name, {name!r} is also on row {seen[name]}")
        seen[name] = row.line


def _mib(memory: int) -> str:
    return f"{memory // 1024}GiB" if memory % 1024 == 0 else f"{memory}MiB"


def _spec_name(cores: int, memory: int, arch: str) -> str:
    return f"c{cores}-m{memory // 1024}g-{arch}"


def _catalogue(
    rows: list[_Row],
    column: str,
    what: str,
    figures: Callable[[_Row], tuple[dict[str, Any], str] | None],
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Named specs (host classes, flavors) from rows that give a name in ``column``, their
    figures, or both: ``figures(row)`` is (spec, default name) or None when the row gives
    none. A name's figures must agree on every row that gives them; a name without figures
    must be given figures on some row. Returns the specs by name and each row's name."""
    specs: dict[str, dict[str, Any]] = {}
    given_on: dict[str, int] = {}
    of_row: list[str] = []
    for row in rows:
        found = figures(row)
        name = row.optional(column)
        if found is None:
            if name is None:
                raise row.error("cores", f"expected cores and memory, or a {column}")
            of_row.append(name)
            continue
        spec, default = found
        name = name or default
        if name in specs and specs[name] != {"name": name, **spec}:
            raise row.error(
                column, f"expected the figures of {what} {name!r} as on row {given_on[name]}"
            )
        specs.setdefault(name, {"name": name, **spec})
        given_on.setdefault(name, row.line)
        of_row.append(name)
    for row, name in zip(rows, of_row, strict=True):
        if name not in specs:
            raise row.error(
                column, f"expected a {what} whose cores and memory a row gives, got {name!r}"
            )
    return specs, of_row


def _cores_and_memory(row: _Row, most_cores: int) -> tuple[int, int] | None:
    cores = row.whole("cores", 1, most_cores)
    memory = row.memory("memory")
    if cores is None and memory is None:
        return None
    if cores is None or memory is None:
        raise row.error("memory" if cores else "cores", "expected cores and memory together")
    return cores, memory


def _class_figures(row: _Row) -> tuple[dict[str, Any], str] | None:
    given = _cores_and_memory(row, 4096)
    if given is None:
        return None
    cores, memory = given
    arch = row.choice("arch", ARCHES, "x86_64")
    spec: dict[str, Any] = {"cores": cores, "memory": _mib(memory), "arch": arch}
    threads = row.whole("threads_per_core", 1, 8)
    if threads is not None:
        spec["threads_per_core"] = threads
    disk = row.disk("disk")
    if disk:
        spec["disk"] = f"{disk}GB"
    for power in ("power_idle_w", "power_peak_w"):
        watts = row.real(power, 0, 1e6)
        if watts is not None:
            spec[power] = watts
    return spec, _spec_name(cores, memory, arch)


def _flavor_figures(row: _Row) -> tuple[dict[str, Any], str] | None:
    given = _cores_and_memory(row, 1024)
    if given is None:
        return None
    cores, memory = given
    spec: dict[str, Any] = {"vcpus": cores, "memory": _mib(memory)}
    disk = row.disk("disk")
    if disk:
        spec["disk"] = f"{disk}GB"
    default = f"{cores}c{memory // 1024}g" + ("" if memory % 1024 == 0 else f"{memory % 1024}m")
    return spec, default


def _classes(rows: list[_Row]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Host classes from the rows (figures given once per class), each row's class."""
    return _catalogue(rows, "host_class", "class", _class_figures)


def _flavors(rows: list[_Row]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Flavors from the rows (figures given once per flavor), each row's flavor."""
    return _catalogue(rows, "flavor", "flavor", _flavor_figures)


def _ratio(need: float, capacity: float) -> float:
    """The least overcommit ratio, in steps of 0.1 from 1, under which ``need`` fits."""
    if need <= capacity:
        return 1.0
    if capacity <= 0:
        return 1.0  # nothing to overcommit: validation names the host that is full
    return math.ceil(need / capacity * 10 - 1e-9) / 10


@dataclass
class Estate:
    """An imported inventory: the scenario (plain data, for YAML) and, for each field path of
    it (``pools[p].hosts.0.names.2``), the file and row it came from."""

    data: dict[str, Any]
    origin: dict[str, tuple[Path, int]]

    def where(self, path: str) -> tuple[Path, int] | None:
        """The file and row behind a field path of the scenario (its longest known prefix)."""
        best: tuple[Path, int] | None = None
        length = -1
        for key, found in self.origin.items():
            if len(key) > length and (path == key or path.startswith((key + ".", key + "["))):
                best, length = found, len(key)
        return best


def import_estate(
    hosts_csv: Path, vms_csv: Path, systems_csv: Path | None = None, *, name: str = "estate"
) -> Estate:
    """The scenario of an inventory; :class:`EstateError` on a bad row."""
    host_rows = _read(hosts_csv, ("name", "datacenter", "pool"), HOST_COLUMNS)
    vm_rows = _read(vms_csv, ("name", "system", "department"), VM_COLUMNS)
    system_rows = _read(systems_csv, ("name", "department"), SYSTEM_COLUMNS) if systems_csv else []
    if not host_rows:
        raise EstateError(hosts_csv, None, None, "expected at least one host")
    _unique(host_rows, "name")
    _unique(vm_rows, "name")
    _unique(system_rows, "name")
    classes, host_class = _classes(host_rows)
    flavors, vm_flavor = _flavors(vm_rows)
    origin: dict[str, tuple[Path, int]] = {}
    for row, cls in zip(host_rows, host_class, strict=True):
        origin.setdefault(f"host_classes[{cls}]", (hosts_csv, row.line))
        origin.setdefault(f"datacenters[{row.name('datacenter')}]", (hosts_csv, row.line))
    for row, flavor in zip(vm_rows, vm_flavor, strict=True):
        origin.setdefault(f"flavors[{flavor}]", (vms_csv, row.line))
        origin.setdefault(f"departments[{row.name('department')}]", (vms_csv, row.line))

    # Hosts, pools, centres.
    hosts: dict[str, dict[str, Any]] = {}
    pools: dict[str, dict[str, Any]] = {}
    centres: dict[str, str] = {}
    for row, cls in zip(host_rows, host_class, strict=True):
        dc = row.name("datacenter")
        site = row.name("site", f"{dc}-site")  # a site may not share its centre's name
        if centres.setdefault(dc, site) != site:
            raise row.error(
                "site", f"expected site {centres[dc]!r} for centre {dc!r}, as on an earlier row"
            )
        pool_name = row.name("pool")
        zone = row.name("zone", "default")
        pool = pools.setdefault(
            pool_name,
            {"name": pool_name, "datacenter": dc, "zone": zone, "hosts": [], "line": row.line},
        )
        if (pool["datacenter"], pool["zone"]) != (dc, zone):
            raise row.error(
                "pool",
                f"expected pool {pool_name!r} in {pool['datacenter']!r}, zone {pool['zone']!r} "
                f"(row {pool['line']}), got {dc!r}, zone {zone!r}",
            )
        for key, given in (
            ("purpose", row.choice("purpose", PURPOSES, "-") if row.optional("purpose") else None),
            ("dedicated_to", row.name("dedicated_to") if row.optional("dedicated_to") else None),
        ):
            if given is not None and pool.setdefault(key, given) != given:
                raise row.error(
                    key, f"expected {pool[key]!r} for pool {pool_name!r}, as on an earlier row"
                )
        for key, top in (("cpu_overcommit", 64), ("memory_overcommit", 8), ("disk_overcommit", 16)):
            ratio = row.real(key, 0.1, top)
            if ratio is not None and pool.setdefault(key, ratio) != ratio:
                raise row.error(
                    key, f"expected {pool[key]} for pool {pool_name!r}, as on an earlier row"
                )
        groups = pool["hosts"]
        if groups and groups[-1]["host_class"] == cls:
            groups[-1]["names"].append(row.name("name"))
        else:
            groups.append({"host_class": cls, "names": [row.name("name")]})
        at = f"pools[{pool_name}].hosts.{len(groups) - 1}"
        for key in (f"pools[{pool_name}]", at, f"{at}.names.{len(groups[-1]['names']) - 1}"):
            origin.setdefault(key, (hosts_csv, row.line))
        hosts[row.name("name")] = {"pool": pool_name, "dc": dc, "zone": zone, "class": cls}

    # Systems and their cloud hosts.
    declared = {row.name("name"): row for row in system_rows}
    departments: dict[str, None] = {}
    vms_of: dict[str, list[tuple[str, str | None, _Row]]] = defaultdict(list)
    for row, flavor in zip(vm_rows, vm_flavor, strict=True):
        system, dept = row.name("system"), row.name("department")
        host = row.optional("host")
        if host is not None and host not in hosts:
            raise row.error("host", f"expected a host of {hosts_csv.name}, got {host!r}")
        first = vms_of[system][0][2] if vms_of[system] else None
        if first is not None and first.name("department") != dept:
            raise row.error(
                "department",
                f"expected {first.name('department')!r} for system {system!r} (row {first.line})",
            )
        if system in declared and declared[system].name("department") != dept:
            raise row.error(
                "department",
                f"expected {declared[system].name('department')!r}, the department "
                f"{systems_csv.name if systems_csv else ''} gives system {system!r}",
            )
        departments[dept] = None
        vms_of[system].append((flavor, host, row))
    for system_name, declared_row in declared.items():
        if system_name not in vms_of:
            raise declared_row.error(
                "name",
                f"expected a system with cloud hosts in {vms_csv.name}, {system_name!r} has none",
            )
        departments[declared_row.name("department")] = None

    for pool in pools.values():  # a department may own a pool before it has cloud hosts
        if "dedicated_to" in pool:
            departments.setdefault(pool["dedicated_to"], None)
            origin.setdefault(f"departments[{pool['dedicated_to']}]", (hosts_csv, pool["line"]))

    systems = []
    zones: dict[str, None] = {p["zone"]: None for p in pools.values()}
    centre_order = list(centres)
    for system, members in vms_of.items():
        wanted = declared.get(system)
        placed = [hosts[h] for _, h, _ in members if h is not None]
        zone_set = sorted({h["zone"] for h in placed})
        zone = ""
        if wanted is not None and wanted.optional("zone") is not None:
            zone = wanted.name("zone")
        if not zone:
            if len(zone_set) > 1:
                raise members[0][2].error(
                    "host",
                    f"expected the cloud hosts of system {system!r} in one zone, got {zone_set}",
                )
            zone = zone_set[0] if zone_set else next(iter(zones))
        zones.setdefault(zone, None)
        arches = {classes[h["class"]]["arch"] for h in placed}
        arch = (
            wanted.choice("arch", (*ARCHES, "any"), "")
            if wanted is not None and wanted.optional("arch")
            else (next(iter(arches)) if len(arches) == 1 else "any")
        )
        used = {h["dc"] for h in placed}
        in_zone = [p["datacenter"] for p in pools.values() if p["zone"] == zone]
        dcs = [dc for dc in centre_order if dc in (used or set(in_zone))]
        pins: dict[tuple[str, bool], list[str]] = {}
        counts: Counter[tuple[str, bool]] = Counter()
        for flavor, host, _ in members:
            kind = (flavor, host is not None)
            counts[kind] += 1
            if host is not None:
                pins.setdefault(kind, []).append(host)
        rows_of: dict[tuple[str, bool], list[_Row]] = defaultdict(list)
        for flavor, host, vm_row in members:
            rows_of[(flavor, host is not None)].append(vm_row)
        here = f"systems[{system}]"
        origin[here] = (
            (systems_csv, wanted.line)
            if wanted is not None and systems_csv is not None
            else (vms_csv, members[0][2].line)
        )
        vm_groups: list[dict[str, Any]] = []
        for g, ((flavor, pinned), count) in enumerate(counts.items()):
            group: dict[str, Any] = {"flavor": flavor, "count": count}
            origin[f"{here}.vms.{g}"] = (vms_csv, rows_of[(flavor, pinned)][0].line)
            if pinned:
                group["hosts"] = pins[(flavor, True)]
                for k, vm_row in enumerate(rows_of[(flavor, pinned)]):
                    origin[f"{here}.vms.{g}.hosts.{k}"] = (vms_csv, vm_row.line)
            vm_groups.append(group)
        entry: dict[str, Any] = {
            "name": system,
            "department": members[0][2].name("department"),
            "zone": zone,
            "arch": arch,
            "datacenters": dcs or centre_order,
            "dc_placement": "any",
            "anti_affinity": wanted.choice("anti_affinity", ("none", "host", "rack"), "none")
            if wanted is not None
            else "none",
            "vms": vm_groups,
        }
        if wanted is not None:
            level = wanted.whole("mlps_level", 1, 5)
            if level is not None:
                entry["mlps_level"] = level
            entry["priority"] = wanted.choice(
                "priority", ("critical", "important", "normal"), "normal"
            )
            if wanted.optional("description"):
                entry["description"] = wanted.text("description")
        systems.append(entry)

    # Overcommit each pool just enough for the cloud hosts placed on it (unless given).
    demand: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for flavor, host, _ in (m for ms in vms_of.values() for m in ms):
        if host is not None:
            spec = flavors[flavor]
            demand[host][0] += spec["vcpus"]
            demand[host][1] += parse_memory_mib(spec["memory"])
            demand[host][2] += parse_disk_gb(spec.get("disk", "0GB"))
    for pool in pools.values():
        ratios = [1.0, 1.0, 1.0]
        for group in pool["hosts"]:
            spec = classes[group["host_class"]]
            capacity = (
                spec["cores"] * spec.get("threads_per_core", 2),
                parse_memory_mib(spec["memory"]),
                parse_disk_gb(spec.get("disk", "0GB")),
            )
            for host in group["names"]:
                for r in range(3):
                    ratios[r] = max(ratios[r], _ratio(demand[host][r], capacity[r]))
        for r, key in enumerate(("cpu_overcommit", "memory_overcommit", "disk_overcommit")):
            pool.setdefault(key, ratios[r])
        if (pool.get("purpose") == "dedicated") != ("dedicated_to" in pool):
            raise EstateError(
                hosts_csv,
                pool["line"],
                "dedicated_to" if "dedicated_to" in pool else "purpose",
                f"pool {pool['name']!r}: expected a dedicated_to department exactly when the "
                "purpose is 'dedicated'",
            )
        del pool["line"]
        for group in pool["hosts"]:
            group["count"] = len(group["names"])

    data = {
        "meta": {
            "name": name,
            "description": f"estate imported from {hosts_csv.name} and {vms_csv.name}",
        },
        "sites": [{"name": s} for s in dict.fromkeys(centres.values())],
        "datacenters": [{"name": dc, "site": site} for dc, site in centres.items()],
        "zones": [{"name": z} for z in zones],
        "host_classes": list(classes.values()),
        "pools": [
            {
                k: p[k]
                for k in (
                    "name",
                    "datacenter",
                    "zone",
                    "purpose",
                    "dedicated_to",
                    "cpu_overcommit",
                    "memory_overcommit",
                    "disk_overcommit",
                )
                if k in p
            }
            | {
                "hosts": [
                    {"host_class": g["host_class"], "count": g["count"], "names": g["names"]}
                    for g in p["hosts"]
                ]
            }
            for p in pools.values()
        ],
        "flavors": list(flavors.values()),
        "departments": [{"name": d} for d in departments],
        "systems": systems,
    }
    return Estate(data, origin)


def estate_yaml(data: dict[str, Any], sources: list[Path]) -> str:
    """The imported scenario as YAML, headed by where it came from."""
    import yaml

    head = (
        "# Imported by `cloudsim import` from "
        + ", ".join(str(p) for p in sources)
        + ".\n# Host and VM placement as in the files (vms.hosts pins each cloud host to its "
        "host);\n# pools overcommitted just enough for what was placed on them unless the "
        "files said.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
