"""Read a scenario file: YAML (safe loader), ``extends:`` bases, ``--set`` overrides, validation.

Every problem is reported at once, each naming the file that set the offending value, the
dotted field path (list items by name where they have one) and what was expected.
"""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cloudsim.errors import Problem, ScenarioError
from cloudsim.scenario.checks import (
    ScenarioChecks,
    check_memory,
    check_references,
    check_resources,
)
from cloudsim.scenario.paths import format_path, printable, step
from cloudsim.scenario.population import expand_population
from cloudsim.scenario.reading import (
    MAX_DEPTH,
    BoundedLoader,
    ReadError,
    YAMLLimitError,
    file_size_limit,
    read_text,
    too_large,
)
from cloudsim.scenario.schema import Scenario

Loc = tuple[str | int, ...]
OVERRIDE_SOURCE = "--set"
#: Longest chain of ``extends:`` (a file, its base, the base's base...).
MAX_EXTENDS_DEPTH = 32
#: Most files one scenario may be assembled from, through all its ``extends:``.
MAX_EXTENDS_FILES = 256

_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


class _UniqueKeyLoader(BoundedLoader):
    """The safe loader, bounded in depth and size (:mod:`cloudsim.scenario.reading`), refusing
    a key given twice in one mapping (YAML keeps the last one silently, so a second ``pools:``
    section would quietly replace the first)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> Any:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<` merge keys, and complex keys the constructor below deals with
        key = loader.construct_object(key_node)
        if key in first_line:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"duplicate key {key!r} (first given at line {first_line[key] + 1})",
                key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(  # type: ignore[type-var]  # (the stubs know only yaml's loaders)
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


class _Origin:
    """Provenance of one location: the file that set the value there (if a layer set it
    whole) and of locations inside it that later layers set."""

    __slots__ = ("kids", "latest", "source")

    def __init__(self) -> None:
        self.source: str | None = None
        self.kids: dict[str | int, _Origin] = {}
        self.latest: str | None = None


class _Document:
    """A merged YAML tree and, for every location, the file that last set it.

    Provenance is a tree of the locations layers set (a value set whole is one entry,
    however big, and clears what earlier layers set inside it), so marking costs the length of
    the path, never a walk of the value (nor of the values its aliases repeat), and a lookup
    the length of the path once :meth:`source_of` has indexed the tree.
    """

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self._origin = _Origin()
        self._indexed = False
        #: Sources in the order they were applied (bases first, then the file, then --set).
        self.layers: list[str] = []
        #: Files read and their bytes, through all the ``extends:``.
        self.files = 0
        self.bytes = 0

    def mark(self, loc: Loc, source: str) -> None:
        """``source`` set the value at ``loc`` whole."""
        node = self._origin
        for key in loc:
            node = node.kids.setdefault(key, _Origin())
        node.source = source
        node.kids = {}
        self._indexed = False

    def setter_of(self, loc: Loc) -> str | None:
        """The file that set the value at ``loc`` (or the value around it) whole."""
        node: _Origin | None = self._origin
        found = None
        for key in loc:
            assert node is not None
            node = node.kids.get(key)
            if node is None:
                break
            found = node.source or found
        return found

    def source_of(self, loc: Loc) -> str | None:
        """The file that set ``loc``; for a section or item, the latest layer that set any
        value inside it (a rule such as "a link joins two different centres" breaks there)."""
        if not self._indexed:
            self._index()
        node: _Origin | None = self._origin
        found = self._origin.source
        for key in loc:
            assert node is not None
            node = node.kids.get(key)
            if node is None:
                return found
            found = node.source or found
        assert node is not None
        if found is None or node.latest is None:
            return node.latest or found
        rank = self._rank
        return max(found, node.latest, key=lambda source: rank.get(source, -1))

    def _index(self) -> None:
        """Each provenance node's latest source inside it (one pass, no recursion)."""
        self._rank = {source: i for i, source in enumerate(self.layers)}
        order: list[_Origin] = []
        todo = [self._origin]
        while todo:
            node = todo.pop()
            order.append(node)
            todo.extend(node.kids.values())
        for node in reversed(order):  # children before their parents
            candidates = [kid.latest for kid in node.kids.values() if kid.latest is not None]
            if node.source is not None:
                candidates.append(node.source)
            node.latest = max(candidates, key=lambda s: self._rank.get(s, -1), default=None)
        self._indexed = True

    def add_layer(self, source: str) -> None:
        if source in self.layers:
            self.layers.remove(source)
        self.layers.append(source)


def read_yaml(
    path: Path, problems: list[Problem], *, max_file_bytes: int | None = None
) -> dict[str, Any] | None:
    """A YAML file's top-level mapping (safe loader, duplicate keys refused), or None with the
    reason added to ``problems`` (not a regular file, too large, not UTF-8, not YAML, nested
    too deep or too big, not a mapping). ``max_file_bytes``: see :mod:`.reading`."""
    return _read_document(path, problems, max_file_bytes)[0]


def _read_document(
    path: Path, problems: list[Problem], max_file_bytes: int | None
) -> tuple[dict[str, Any] | None, int]:
    """:func:`read_yaml`, and the file's size in bytes (its UTF-8 text)."""
    try:
        text = read_text(path, file_size_limit(max_file_bytes))
    except ReadError as exc:
        problems.append(_clean(Problem(str(path), "", exc.message)))
        return None, 0
    size = len(text.encode("utf-8", "surrogatepass"))
    try:
        data = _UniqueKeyLoader(text).load()  # the safe loader, bounded
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        what = "refused" if isinstance(exc, YAMLLimitError) else "not valid YAML"
        problems.append(_clean(Problem(str(path), "", f"{what}{where}: {reason}")))
        return None, size
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            _clean(
                Problem(str(path), "", f"expected a mapping of sections, got {type(data).__name__}")
            )
        )
        return None, size
    return data, size


def _clean(problem: Problem) -> Problem:
    """The problem with control characters (newlines, terminal escapes) shown escaped."""
    return Problem(printable(problem.file), printable(problem.path), printable(problem.message))


def _merge(doc: _Document, loc: Loc, base: Any, overlay: Any, source: str) -> Any:
    """Deep-merge ``overlay`` into ``base``: mappings by key, lists of named items by name."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = _merge(doc, (*loc, key), base.get(key), value, source)
        return merged
    if _named_list(base) and _named_list(overlay):
        merged_list = list(base)
        index = {item["name"]: i for i, item in enumerate(merged_list)}
        for item in overlay:
            at = index.get(item["name"])
            if at is None:
                index[item["name"]] = len(merged_list)
                merged_list.append(None)
                at = len(merged_list) - 1
            merged_list[at] = _merge(doc, (*loc, at), merged_list[at], item, source)
        return merged_list
    _mark(doc, loc, overlay, source)
    return overlay


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in value)
    )


def _mark(doc: _Document, loc: Loc, value: Any, source: str) -> None:
    """``source`` set ``value`` at ``loc`` (whole: the value itself is not walked)."""
    doc.mark(loc, source)


def _load_chain(
    path: Path,
    doc: _Document,
    problems: list[Problem],
    stack: tuple[Path, ...],
    max_file_bytes: int | None = None,
) -> bool:
    resolved = path.resolve()
    data, size = _read_document(path, problems, max_file_bytes)
    doc.files += 1
    doc.bytes += size
    if data is None:
        return False
    limit = file_size_limit(max_file_bytes)
    if doc.bytes > limit:
        message = too_large(doc.bytes, limit, "with its extends: bases, the scenario is")
        problems.append(_clean(Problem(str(path), "", message)))
        return False
    bases = data.pop("extends", None)
    if bases is not None:
        if isinstance(bases, str):
            bases = [bases]
        if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
            problems.append(
                Problem(str(path), "extends", "expected a file name or a list of file names")
            )
            return False
        for base in bases:
            base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
            if not base_path.exists():
                problems.append(
                    Problem(str(path), "extends", f"base file {base!r} not found (at {base_path})")
                )
                return False
            if base_path.resolve() in (*stack, resolved):
                cycle = " -> ".join(str(p) for p in (*stack, resolved, base_path.resolve()))
                problems.append(Problem(str(path), "extends", f"extends cycle {base!r}: {cycle}"))
                return False
            if len(stack) + 1 >= MAX_EXTENDS_DEPTH:
                problems.append(
                    Problem(
                        str(path),
                        "extends",
                        f"extends chain more than {MAX_EXTENDS_DEPTH} files deep "
                        f"(from {stack[0] if stack else resolved}); refused at {base!r}",
                    )
                )
                return False
            if doc.files >= MAX_EXTENDS_FILES:
                problems.append(
                    Problem(
                        str(path),
                        "extends",
                        f"the scenario is built from more than {MAX_EXTENDS_FILES} files "
                        f"through extends:; refused at {base!r}",
                    )
                )
                return False
            if not _load_chain(base_path, doc, problems, (*stack, resolved), max_file_bytes):
                return False
    doc.add_layer(str(path))
    doc.data = _merge(doc, (), doc.data, data, str(path))
    return True


def parse_override(text: str) -> tuple[Loc, Any]:
    """``workload.growth_per_year=0.3`` -> (('workload', 'growth_per_year'), 0.3)."""
    if "=" not in text:
        raise ValueError(f"expected dotted.path=value, got {text!r}")
    raw_path, raw_value = text.split("=", 1)
    loc = parse_path(raw_path)
    try:
        value = _UniqueKeyLoader(raw_value).load() if raw_value.strip() else ""
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        shown = repr(raw_value) if len(raw_value) <= 60 else repr(raw_value[:57]) + "..."
        raise ValueError(f"cannot read the value {shown} as YAML: {reason}") from None
    return loc, value


def parse_path(text: str) -> Loc:
    """``pools[cs-idc-x86].cpu_overcommit`` -> ('pools', 'cs-idc-x86', 'cpu_overcommit');
    digits are list indices (``pools.0`` or ``pools[0]``). ValueError if it is not a path."""
    raw_path = text.strip()
    loc: list[str | int] = []
    pos = 0
    for match in _SEGMENT.finditer(raw_path):
        if raw_path[pos : match.start()] not in ("", "."):
            raise ValueError(f"cannot read the path {raw_path!r}")
        pos = match.end()
        plain, bracket = match.groups()
        token = plain if plain is not None else bracket
        loc.append(int(token) if token.isdigit() else token)
    if not loc or pos != len(raw_path):
        raise ValueError(f"cannot read the path {raw_path!r}")
    if len(loc) > MAX_DEPTH:
        raise ValueError(f"the path has {len(loc)} parts, more than {MAX_DEPTH}")
    return tuple(loc)


def _apply_override(doc: _Document, text: str, problems: list[Problem]) -> None:
    try:
        loc, value = parse_override(text)
    except ValueError as exc:
        shown = text.split("=", 1)[0].strip() if "=" in text else text
        problems.append(Problem(OVERRIDE_SOURCE, shown, str(exc)))
        return
    written = text.split("=", 1)[0].strip()
    node: Any = doc.data
    resolved: list[str | int] = []
    for depth, key in enumerate(loc):
        last = depth == len(loc) - 1
        if isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                names = [item.get("name") for item in node if isinstance(item, dict)]
                named = [n for n in names if isinstance(n, str)]
                has = (
                    ", ".join(named)
                    if named and len(named) == len(node)
                    else f"{len(node)} item{'s' * (len(node) != 1)}, indexed from 0"
                )
                problems.append(
                    Problem(
                        OVERRIDE_SOURCE,
                        written,
                        f"no item {key!r} in {format_path(resolved, doc.data) or 'this list'} "
                        f"(it has: {has or 'nothing'})",
                    )
                )
                return
            key = index
        elif not isinstance(node, dict):
            problems.append(
                Problem(
                    OVERRIDE_SOURCE,
                    written,
                    f"{format_path(resolved, doc.data)} is a plain value, not a section or list",
                )
            )
            return
        resolved.append(key)
        container: Any = node
        if last:
            container[key] = value
        else:
            node = container[key] if isinstance(node, list) else container.setdefault(key, {})
    doc.add_layer(OVERRIDE_SOURCE)
    _mark(doc, tuple(resolved), value, OVERRIDE_SOURCE)


def _list_index(items: list[Any], key: str | int) -> int | None:
    if isinstance(key, int):
        return key if 0 <= key < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return i
    return None


def _unwrap(annotation: Any) -> list[Any]:
    """Candidate model classes inside an annotation (Optional, list, Annotated, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (list, tuple, typing.Union, types.UnionType) or origin is dict:
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found.extend(_unwrap(arg))
        return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _model_at(
    loc: Loc, sections: Mapping[str, type[BaseModel]], root: type[BaseModel]
) -> list[type[BaseModel]]:
    if loc and loc[0] in sections:
        models: list[type[BaseModel]] = [sections[str(loc[0])]]
        loc = loc[1:]
    else:
        models = [root]
    for key in loc:
        if isinstance(key, int):
            continue
        nxt: list[type[BaseModel]] = []
        for model in models:
            field = model.model_fields.get(key)
            if field is not None:
                nxt.extend(_unwrap(field.annotation))
        if not nxt:
            return models if any(key not in m.model_fields for m in models) else []
        models = nxt
    return models


def _clean_loc(loc: Loc, data: Any) -> Loc:
    """Drop discriminator tags that pydantic inserts into union locations."""
    cleaned: list[str | int] = []
    node = data
    for i, key in enumerate(loc):
        if (
            isinstance(key, str)
            and isinstance(node, dict)
            and key not in node
            and i + 1 < len(loc)
            and loc[i + 1] in node
        ):
            continue
        cleaned.append(key)
        node = step(node, key)
    return tuple(cleaned)


def _describe(
    error: Mapping[str, Any],
    loc: Loc,
    sections: Mapping[str, type[BaseModel]],
    root: type[BaseModel],
) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parents = _model_at(loc[:-1], sections, root)
        fields = sorted({f for m in parents for f in m.model_fields} - {"extensions"})
        if len(loc) == 1:
            fields = sorted({*fields, *sections})
        key = str(loc[-1])
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {key!r}{hint} (expected one of: {', '.join(fields)})"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if (
        "input" in error
        and kind not in ("model_type", "union_tag_invalid")
        and not isinstance(error["input"], dict)
        and repr(error["input"]) not in message
    ):
        shown = repr(error["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message += f", got {shown}"
    return message


def problems_from_validation(
    exc: ValidationError,
    doc_data: Any,
    source: Any,
    sections: Mapping[str, type[BaseModel]] | None = None,
    prefix: Loc = (),
    *,
    root: type[BaseModel] = Scenario,
) -> list[Problem]:
    """One problem per validation error (``prefix``: where the validated part sits; ``root``:
    the model of the whole document, whose fields an unknown key is matched against)."""
    problems = []
    for error in exc.errors():
        loc = _clean_loc((*prefix, *error["loc"]), doc_data)
        file = source(loc) if callable(source) else str(source)
        message = _describe(error, loc, sections or {}, root)
        problems.append(_clean(Problem(file, format_path(loc, doc_data), message)))
    return problems


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    *,
    check_feasibility: bool = True,
    checks: ScenarioChecks | None = None,
    max_file_bytes: int | None = None,
) -> Scenario:
    """Load, merge, override and validate a scenario file.

    ``overrides`` are ``dotted.path=value`` strings (as on the command line) or a mapping of
    dotted paths to values. ``checks`` are the modules' checks (``cloudsim.load_scenario``
    passes the composition root's); without them only the scenario's own rules are checked.
    ``max_file_bytes`` bounds each file and all of them together (default
    ``$CLOUDSIM_MAX_FILE_BYTES``, else 16 MiB). Raises :class:`ScenarioError` listing every
    problem found, control characters in them escaped.
    """
    try:
        return _load_scenario(Path(path), overrides, check_feasibility, checks, max_file_bytes)
    except ScenarioError as exc:
        raise ScenarioError([_clean(problem) for problem in exc.problems]) from None


def _load_scenario(
    path: Path,
    overrides: Iterable[str] | Mapping[str, Any],
    check_feasibility: bool,
    checks: ScenarioChecks | None,
    max_file_bytes: int | None,
) -> Scenario:
    problems: list[Problem] = []
    doc = _Document()
    if not path.exists():
        raise ScenarioError([Problem(str(path), "", "no such scenario file")])
    if not _load_chain(path, doc, problems, (), max_file_bytes):
        raise ScenarioError(problems)
    if isinstance(overrides, Mapping):
        texts = [
            f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"
            for key, value in overrides.items()
        ]
        texts = [t.removesuffix("\n...") for t in texts]
    else:
        texts = list(overrides)
    for text in texts:
        _apply_override(doc, text, problems)
    if problems:
        raise ScenarioError(problems)

    def source(loc: Loc) -> str:
        return doc.source_of(loc) or str(path)

    _anchor_trace_paths(doc)
    _anchor_container_paths(doc)
    _anchor_section_paths(doc, checks.sections() if checks is not None else {})
    return _validate(doc.data, source, check_feasibility, checks)


def _anchor_trace_paths(doc: _Document) -> None:
    """Relative failure-trace paths are relative to the file that set them (``--set``
    values to the working directory)."""
    faults = doc.data.get("faults")
    traces = faults.get("traces") if isinstance(faults, dict) else None
    if not isinstance(traces, list):
        return
    for i, trace in enumerate(traces):
        if not isinstance(trace, dict) or not isinstance(trace.get("path"), str):
            continue
        where = doc.setter_of(("faults", "traces", i, "path"))
        if where is None or where == OVERRIDE_SOURCE or Path(trace["path"]).is_absolute():
            continue
        trace["path"] = str(Path(where).parent / trace["path"])


def _anchor_container_paths(doc: _Document) -> None:
    """Relative openb node and pod lists (``containers.clusters[].trace_nodes``,
    ``containers.replay.pods``) are relative to the file that set them, too."""
    containers = doc.data.get("containers")
    if not isinstance(containers, dict):
        return
    places: list[tuple[Loc, Any, str]] = []
    clusters = containers.get("clusters")
    for i, cluster in enumerate(clusters if isinstance(clusters, list) else []):
        places.append((("containers", "clusters", i, "trace_nodes"), cluster, "trace_nodes"))
    places.append((("containers", "replay", "pods"), containers.get("replay"), "pods"))
    for loc, holder, key in places:
        if not isinstance(holder, dict) or not isinstance(holder.get(key), str):
            continue
        where = doc.setter_of(loc)
        if where is None or where == OVERRIDE_SOURCE or Path(holder[key]).is_absolute():
            continue
        holder[key] = str(Path(where).parent / holder[key])


def _anchor_section_paths(doc: _Document, sections: Mapping[str, type[BaseModel]]) -> None:
    """Relative data-file paths in a module's section (the places its schema lists in
    ``file_paths``, ``"*"`` for every item of a list) are relative to the file that set them."""

    def walk(node: Any, loc: Loc, rest: tuple[str, ...]) -> None:
        key, more = rest[0], rest[1:]
        items: list[tuple[str | int, Any]] = []
        if key == "*":
            items = list(enumerate(node)) if isinstance(node, list) else []
        elif isinstance(node, dict) and key in node:
            items = [(key, node[key])]
        for k, child in items:
            if more:
                walk(child, (*loc, k), more)
                continue
            where = doc.setter_of((*loc, k))
            if (
                isinstance(child, str)
                and where is not None
                and where != OVERRIDE_SOURCE
                and not Path(child).is_absolute()
            ):
                node[k] = str(Path(where).parent / child)

    for name, model in sections.items():
        for places in getattr(model, "file_paths", ()):
            walk(doc.data.get(name), (name,), tuple(places))


def _validate(
    raw: dict[str, Any], source: Any, feasibility: bool, checks: ScenarioChecks | None
) -> Scenario:
    """Schema, cross-references, population expansion, then resources and feasibility."""
    scenario = _schema(raw, source, checks.sections() if checks is not None else {})
    problems = check_references(scenario, raw, source, checks)
    if problems:
        raise ScenarioError(problems)
    if scenario.population is not None:
        # Refuse an absurd population before drawing it (drawing is the slow part).
        problems = check_memory(scenario, raw, source)
        if problems:
            raise ScenarioError(problems)
        try:
            scenario = expand_population(scenario)
        except ValueError as exc:
            loc: Loc = ("population",)
            raise ScenarioError([Problem(source(loc), "population", str(exc))]) from None
    problems = check_resources(scenario, raw, source, checks, feasibility=feasibility)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _schema(raw: dict[str, Any], source: Any, sections: Mapping[str, type[BaseModel]]) -> Scenario:
    """The scenario's own sections and the modules' sections, each with its schema."""
    problems: list[Problem] = []
    own = {k: v for k, v in raw.items() if k not in sections}
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(own)
    except ValidationError as exc:
        problems += problems_from_validation(exc, raw, source, sections)
    extensions: dict[str, Any] = {}
    for name, model in sections.items():
        if raw.get(name) is None:  # absent, or set to null to switch the module off
            continue
        try:
            extensions[name] = model.model_validate(raw[name])
        except ValidationError as exc:
            problems += problems_from_validation(exc, raw, source, sections, (name,))
    if problems or scenario is None:
        raise ScenarioError(problems)
    return scenario.model_copy(update={"extensions": extensions}) if extensions else scenario


def scenario_from_dict(
    data: Mapping[str, Any],
    *,
    label: str = "<scenario>",
    checks: ScenarioChecks | None = None,
    check_feasibility: bool = True,
) -> Scenario:
    """Validate an in-memory scenario (tests, notebooks) with the same checks as files."""
    raw = copy.deepcopy(dict(data))
    try:
        return _validate(raw, lambda loc: label, check_feasibility, checks)
    except ScenarioError as exc:
        raise ScenarioError([_clean(problem) for problem in exc.problems]) from None
