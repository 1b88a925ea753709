"""Read an experiment file into its cells: the grid's axes, each cell's scenario validated up
front with every module's checks, the seeds, the metrics and each cell's baseline.

Every problem is reported at once and names the experiment file, the field and what was
expected; a grid value the scenario refuses is reported with the axis, the cells it breaks
and the scenario's own message.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from pydantic import ValidationError

import cloudsim
from cloudsim.errors import ExperimentError, Problem, ScenarioError
from cloudsim.experiments.spec import ExperimentSpec, Metric, ZipAxis
from cloudsim.registry import did_you_mean
from cloudsim.scenario.loader import (
    OVERRIDE_SOURCE,
    parse_path,
    problems_from_validation,
    read_yaml,
)
from cloudsim.scenario.schema import Scenario

#: Columns of the per-run table that neither an axis nor a metric may be called.
RESERVED_COLUMNS = frozenset(
    {"run_id", "cell_index", "cell", "seed", "status", "error_type", "error", "wall_s"}
)
SCENARIO_AXIS = "scenario"


def value_text(value: Any) -> str:
    """A value as it would be written in YAML flow style (``0.3``, ``manual``, ``null``)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    return text.removesuffix("\n...").strip()


def parameter_names(axes: Iterable[Axis]) -> list[str]:
    """The parameter columns of the tables: each axis, then a zip group's paths."""
    names: list[str] = []
    for axis in axes:
        names.append(axis.name)
        names += [p for p in axis.paths if p != axis.name]
    return names


def parameter_arrays(axes: Iterable[Axis], cells: Sequence[Cell]) -> dict[str, pa.Array]:
    """The parameter columns for rows of ``cells``: an axis of one path and scalar values
    holds the values (typed when they share a type), any other its points' labels; a zip
    group's paths follow, each with its values."""
    columns: dict[str, pa.Array] = {}
    for axis in axes:
        columns[axis.name] = _column(
            [c.params[axis.name] if axis.typed() else c.values[axis.name] for c in cells]
        )
        for path in axis.paths:
            if path != axis.name:
                columns[path] = _column([c.params[path] for c in cells])
    return columns


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([value_text(v) for v in values], pa.string())


def scenario_digest(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario's canonical JSON: the identity of a cell's runs."""
    canonical = json.dumps(scenario.dump(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid: its points set one or more dotted paths."""

    name: str
    paths: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]  # per point, one value per path
    labels: tuple[str, ...]

    def typed(self) -> bool:
        """One path of scalar values: its column holds the values, not their labels."""
        return len(self.paths) == 1 and all(
            not isinstance(point[0], dict | list) for point in self.points
        )


@dataclass(frozen=True)
class Cell:
    """One point of the grid: the label of each axis's point and the overrides it sets."""

    index: int
    label: str
    values: dict[str, str]  # axis name -> point label
    params: dict[str, Any]  # dotted path -> value
    scenario_file: str
    scenario_digest: str

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "values": self.values,
            "params": self.params,
            "scenario_file": self.scenario_file,
            "scenario_digest": self.scenario_digest,
        }


@dataclass(frozen=True)
class Design:
    """What a sweep's store keeps of an experiment: enough to rebuild its tables and
    statistics without the experiment file or the scenarios."""

    name: str
    source: str
    spec: ExperimentSpec
    axes: tuple[Axis, ...]
    cells: tuple[Cell, ...]
    baseline_of: dict[int, int] = field(default_factory=dict)  # cell -> its baseline cell

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return tuple(self.spec.metrics)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "spec": self.spec.model_dump(mode="json", exclude_unset=True),
            "axes": [
                {
                    "name": a.name,
                    "paths": list(a.paths),
                    "points": [list(p) for p in a.points],
                    "labels": list(a.labels),
                }
                for a in self.axes
            ],
            "cells": [cell.to_json() for cell in self.cells],
            "baseline_of": {str(k): v for k, v in self.baseline_of.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Design:
        return cls(
            name=data["name"],
            source=data["source"],
            spec=ExperimentSpec.model_validate(data["spec"]),
            axes=tuple(
                Axis(
                    a["name"],
                    tuple(a["paths"]),
                    tuple(tuple(p) for p in a["points"]),
                    tuple(a["labels"]),
                )
                for a in data["axes"]
            ),
            cells=tuple(Cell(**c) for c in data["cells"]),
            baseline_of={int(k): v for k, v in data["baseline_of"].items()},
        )

    def with_baseline(self, choice: Mapping[str, str]) -> Design:
        """The same design compared against another baseline (axis -> point label)."""
        return replace(self, baseline_of=_baselines(self.cells, choice))


@dataclass(frozen=True)
class Experiment:
    """A loaded experiment: its design, every cell's validated scenario, and the seeds."""

    design: Design
    scenarios: dict[int, Scenario]  # cell index -> resolved scenario
    seeds: tuple[int, ...]

    @property
    def path(self) -> Path:
        return Path(self.design.source)

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self.design.cells

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return self.design.metrics

    def with_seeds(self, count: int) -> Experiment:
        """The same experiment with its first ``count`` seeds (more than the file lists
        continue after the largest)."""
        if count < 1:
            raise ExperimentError(
                [Problem("--seeds", "", f"at least one seed is needed, got {count}")]
            )
        return replace(self, seeds=tuple(self.design.spec.seed_sequence(count)))


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and resolve an experiment file; every cell's scenario is loaded with
    :func:`cloudsim.load_scenario` (all module checks). Raises :class:`ExperimentError`
    listing every problem found."""
    path = Path(path)
    problems: list[Problem] = []
    if not path.exists():
        raise ExperimentError([Problem(str(path), "", "no such experiment file")])
    raw = read_yaml(path, problems)
    if raw is None:
        raise ExperimentError(problems)
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise ExperimentError(
            problems_from_validation(exc, raw, str(path), root=ExperimentSpec)
        ) from None
    file = str(path)
    axes = _axes(spec, raw, file, problems)
    _check_paths(spec, axes, file, problems)
    _check_names(spec, axes, file, problems)
    choice = _baseline_choice(spec, axes, file, problems)
    if problems:
        raise ExperimentError(problems)
    scenarios = _scenario_files(spec, path, problems)
    if problems:
        raise ExperimentError(problems)
    cells, resolved = _cells(spec, axes, scenarios, file, problems)
    if problems:
        raise ExperimentError(problems)
    design = Design(
        name=spec.name,
        source=file,
        spec=spec,
        axes=tuple(axes),
        cells=tuple(cells),
        baseline_of=_baselines(cells, choice),
    )
    return Experiment(design, resolved, tuple(spec.seed_sequence(spec.seed_count)))


def _axes(
    spec: ExperimentSpec, raw: Mapping[str, Any], file: str, problems: list[Problem]
) -> list[Axis]:
    """The scenario axis (a mapping of files), then the grid's axes in file order."""
    axes: list[Axis] = []
    if isinstance(spec.scenario, dict):
        labels = tuple(spec.scenario)
        axes.append(Axis(SCENARIO_AXIS, (), tuple(() for _ in labels), labels))
    for name, entry in spec.grid.items():
        where = f"grid.{name}"
        if isinstance(entry, list):
            if not entry:
                problems.append(Problem(file, where, "expected at least one value"))
                continue
            labels = tuple(value_text(v) for v in entry)
            if len(set(labels)) != len(labels):
                twice = sorted({x for x in labels if labels.count(x) > 1})
                problems.append(Problem(file, where, f"value {', '.join(twice)} given twice"))
                continue
            axes.append(Axis(name, (name,), tuple((v,) for v in entry), labels))
        elif isinstance(entry, dict):
            try:
                group = ZipAxis.model_validate(entry)
            except ValidationError as exc:
                problems += problems_from_validation(
                    exc, raw, file, prefix=("grid", name), root=ZipAxis
                )
                continue
            paths = tuple(group.zip)
            points = tuple(zip(*group.zip.values(), strict=True))
            labels = tuple(group.labels or (_zip_label(p) for p in points))
            if len(set(labels)) != len(labels):
                problems.append(
                    Problem(file, where, "two points have the same values; give labels")
                )
                continue
            axes.append(Axis(name, paths, points, labels))
        else:
            problems.append(
                Problem(
                    file,
                    where,
                    "expected a list of values, or a zip group "
                    f"({{zip: {{path: [values]}}, labels: [...]}}), got {entry!r}",
                )
            )
    return axes


def _zip_label(point: tuple[Any, ...]) -> str:
    texts = [value_text(v) for v in point]
    return texts[0] if len(set(texts)) == 1 else "/".join(texts)


def _check_paths(
    spec: ExperimentSpec, axes: list[Axis], file: str, problems: list[Problem]
) -> None:
    """Every override path reads as a path, and no path is set by two axes."""
    setters: dict[tuple[str | int, ...], str] = {}
    places = [(f"overrides.{p}", p) for p in spec.overrides]
    for axis in axes:
        for p in axis.paths:
            place = f"grid.{axis.name}" + (f".zip.{p}" if axis.paths != (axis.name,) else "")
            places.append((place, p))
    for place, text in places:
        try:
            loc = parse_path(text)
        except ValueError as exc:
            problems.append(Problem(file, place, str(exc)))
            continue
        if place.startswith("grid.") and loc in setters and setters[loc].startswith("grid."):
            problems.append(Problem(file, place, f"{text} is already varied by {setters[loc]}"))
        setters.setdefault(loc, place)


def _check_names(
    spec: ExperimentSpec, axes: list[Axis], file: str, problems: list[Problem]
) -> None:
    """Metric and axis names are distinct column names of the per-run table."""
    taken: dict[str, str] = {}
    for axis in axes:
        where = f"grid.{axis.name}" if axis.name != SCENARIO_AXIS else "scenario"
        if axis.name in RESERVED_COLUMNS:
            problems.append(Problem(file, where, f"{axis.name!r} is a reserved column name"))
        elif axis.name in taken:
            problems.append(
                Problem(file, where, f"name {axis.name!r} is taken by {taken[axis.name]}")
            )
        taken[axis.name] = where
        for p in axis.paths:
            if p != axis.name:
                taken.setdefault(p, where)
    for metric in spec.metrics:
        where = f"metrics[{metric.name}]"
        if metric.name in RESERVED_COLUMNS:
            problems.append(Problem(file, where, f"{metric.name!r} is a reserved column name"))
        elif metric.name in taken:
            problems.append(
                Problem(
                    file, where, f"name {metric.name!r} is already used by {taken[metric.name]}"
                )
            )
        taken[metric.name] = where


def _baseline_choice(
    spec: ExperimentSpec, axes: list[Axis], file: str, problems: list[Problem]
) -> dict[str, str]:
    """The baseline as axis name -> point label."""
    by_name = {axis.name: axis for axis in axes}
    choice: dict[str, str] = {}
    for name, value in spec.baseline.items():
        axis = by_name.get(name)
        if axis is None:
            problems.append(
                Problem(file, f"baseline.{name}", did_you_mean(name, list(by_name), "axis"))
            )
            continue
        label = value if isinstance(value, str) and value in axis.labels else value_text(value)
        if label not in axis.labels:
            problems.append(
                Problem(file, f"baseline.{name}", did_you_mean(label, list(axis.labels), "value"))
            )
            continue
        choice[name] = label
    return choice


def _baselines(cells: Iterable[Cell], choice: Mapping[str, str]) -> dict[int, int]:
    """Each cell's baseline: the cell with the same points but the chosen ones."""
    cells = list(cells)
    if not choice:
        return {}
    index = {tuple(sorted(c.values.items())): c.index for c in cells}
    return {c.index: index[tuple(sorted({**c.values, **choice}.items()))] for c in cells}


def _scenario_files(spec: ExperimentSpec, path: Path, problems: list[Problem]) -> dict[str, Path]:
    """The base scenario files, relative to the experiment file ("" when there is one)."""
    given = spec.scenario if isinstance(spec.scenario, dict) else {"": spec.scenario}
    files: dict[str, Path] = {}
    for label, name in given.items():
        target = Path(name) if Path(name).is_absolute() else path.parent / name
        if not target.is_file():
            where = f"scenario.{label}" if label else "scenario"
            problems.append(
                Problem(str(path), where, f"no such scenario file {name!r} (at {target})")
            )
        files[label] = target
    return files


def _cells(
    spec: ExperimentSpec,
    axes: list[Axis],
    files: Mapping[str, Path],
    file: str,
    problems: list[Problem],
) -> tuple[list[Cell], dict[int, Scenario]]:
    """The cartesian product of the axes, each cell's scenario loaded and validated."""
    cells: list[Cell] = []
    scenarios: dict[int, Scenario] = {}
    found: dict[tuple[str, str], list[str]] = {}
    loaded: dict[str, Scenario | ScenarioError] = {}
    for index, choice in enumerate(itertools.product(*(range(len(a.labels)) for a in axes))):
        values = {a.name: a.labels[i] for a, i in zip(axes, choice, strict=True)}
        params: dict[str, Any] = {}
        blame: list[tuple[tuple[str | int, ...], str]] = []
        for axis, i in zip(axes, choice, strict=True):
            for p, v in zip(axis.paths, axis.points[i], strict=True):
                params[p] = v
                blame.append((parse_path(p), f"grid.{axis.name}"))
        blame += [(parse_path(p), f"overrides.{p}") for p in spec.overrides]
        label = ", ".join(f"{k}={v}" for k, v in values.items()) or "base"
        scenario_file = files[values.get(SCENARIO_AXIS, "")]
        overrides = {**spec.overrides, **params}
        key = json.dumps([str(scenario_file), overrides], sort_keys=True, default=repr)
        if key not in loaded:
            try:
                loaded[key] = cloudsim.load_scenario(scenario_file, overrides=overrides)
            except ScenarioError as exc:
                loaded[key] = exc
        outcome = loaded[key]
        if isinstance(outcome, ScenarioError):
            for problem in outcome.problems:
                where, text = _blame(problem, blame, values)
                found.setdefault((where, text), []).append(label)
            continue
        scenarios[index] = outcome
        cells.append(
            Cell(index, label, values, params, str(scenario_file), scenario_digest(outcome))
        )
    total = math.prod(len(a.labels) for a in axes)
    for (where, text), labels in found.items():
        which = (
            "in every cell"
            if len(labels) == total
            else f"in cell{'s' * (len(labels) > 1)} "
            + "; ".join(repr(x) for x in labels[:4])
            + (f" and {len(labels) - 4} more" if len(labels) > 4 else "")
        )
        problems.append(Problem(file, where, f"{which}: {text}"))
    return cells, scenarios


def _blame(
    problem: Problem, setters: list[tuple[tuple[str | int, ...], str]], values: Mapping[str, str]
) -> tuple[str, str]:
    """The experiment field behind a scenario problem, and the problem as text."""
    if problem.file != OVERRIDE_SOURCE:
        where = f"scenario.{values[SCENARIO_AXIS]}" if SCENARIO_AXIS in values else "scenario"
        return where, str(problem)
    text = f"{problem.path}: {problem.message}"
    try:
        loc = parse_path(problem.path)
    except ValueError:
        return "grid", text
    for setter, where in setters:
        n = min(len(setter), len(loc))
        if setter[:n] == loc[:n]:
            return where, text
    return "grid", text
