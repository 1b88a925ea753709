"""The experiment file's schema: base scenario, overrides, grid, seeds, metrics, baseline and
confidence level, as frozen models that refuse unknown keys (the scenario's rules).

The grid's axes, the override paths and the baseline are checked against each other by
:mod:`cloudsim.experiments.plan`, which knows where each value sits in the file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from cloudsim.scenario.base import Model
from cloudsim.scenario.loader import parse_path

Scalar = str | int | float | bool | None
Aggregation = Literal["mean", "sum", "max", "min", "count", "quantile"]
AGGREGATIONS: tuple[str, ...] = ("mean", "sum", "max", "min", "count", "quantile")


class Condition(Model):
    """A filter on one column of a table: every comparison given must hold. In the file a
    bare value means ``eq`` and a list ``one_of`` (``where: {dr_action: failover}``)."""

    eq: Scalar = None
    ne: Scalar = None
    gt: float | str | None = None
    ge: float | str | None = None
    lt: float | str | None = None
    le: float | str | None = None
    one_of: list[Scalar] | None = None

    def comparisons(self) -> dict[str, Any]:
        """The comparisons written in the file (``eq: null`` is one: the value is null)."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


def _condition(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {"one_of": value}
    return {"eq": value}


class Metric(Model):
    """One number per run: a value of ``summary.json`` (``path``) or an aggregation of a
    result table's column over its rows (``table``, ``column``, ``agg``, optional ``where``).

    ``default`` stands in when the last key of ``path`` is absent from its section (a count
    by reason that never happened), or when no row of the table is left to aggregate.
    """

    name: str = Field(min_length=1, max_length=80)
    path: str | None = None
    table: str | None = None
    column: str | None = None
    agg: Aggregation | None = None
    q: float | None = Field(default=None, ge=0.0, le=1.0)
    where: dict[str, Annotated[Condition, BeforeValidator(_condition)]] = {}
    default: float | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Metric:
        if (self.path is None) == (self.table is None):
            raise ValueError(
                "give either path (a value of summary.json) or table (an aggregation of a "
                "result table's column)"
            )
        if self.path is not None:
            parse_path(self.path)
            stray = [k for k in ("column", "agg", "q", "where") if k in self.model_fields_set]
            if stray:
                raise ValueError(f"{', '.join(stray)} belong to a table metric, not to a path")
            return self
        if self.agg is None:
            raise ValueError(f"agg is required with table: one of {', '.join(AGGREGATIONS)}")
        if self.column is None and self.agg != "count":
            raise ValueError(f"column is required to aggregate with {self.agg}")
        if (self.q is None) != (self.agg != "quantile"):
            raise ValueError("q (0 to 1) goes with agg: quantile, and only with it")
        return self

    @property
    def is_quantile(self) -> bool:
        """Quantile metrics get bootstrap intervals (their run values are skewed)."""
        return self.agg == "quantile"


def _metric(value: Any) -> Any:
    """A bare string is a summary path named after itself."""
    return {"name": value, "path": value} if isinstance(value, str) else value


def _seeds(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | list):
        raise ValueError(f"expected a count of seeds or a list of seeds, got {value!r}")
    if isinstance(value, int) and value < 1:
        raise ValueError(f"at least one seed is needed, got {value}")
    if isinstance(value, list):
        if not value:
            raise ValueError("at least one seed is needed, got an empty list")
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in value):
            raise ValueError(f"seeds are integers from 0, got {value!r}")
        if len(set(value)) != len(value):
            twice = sorted({s for s in value if value.count(s) > 1})
            raise ValueError(f"seed{'s' * (len(twice) > 1)} {twice} given twice")
    return value


def _scenario_ref(value: Any) -> Any:
    if isinstance(value, str) or (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return value
    raise ValueError(
        f"expected a scenario file, or a mapping of labels to scenario files, got {value!r}"
    )


class Bootstrap(Model):
    """The seeded percentile bootstrap of quantile metrics."""

    resamples: int = Field(default=2000, ge=100, le=100_000)
    seed: int = Field(default=0, ge=0)


class ZipAxis(Model):
    """Paths varied together: the i-th value of every path makes the i-th point of the axis;
    ``labels`` name the points (default: the values)."""

    zip: dict[str, list[Any]] = Field(min_length=1)
    labels: list[str] | None = None

    @model_validator(mode="after")
    def _same_lengths(self) -> ZipAxis:
        lengths = {path: len(values) for path, values in self.zip.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{path}: {n}" for path, n in lengths.items())
            raise ValueError(f"every path of a zip needs as many values ({shown})")
        count = next(iter(lengths.values()))
        if count == 0:
            raise ValueError("a zip needs at least one value per path")
        if self.labels is not None:
            if len(self.labels) != count:
                raise ValueError(f"{len(self.labels)} labels for {count} values")
            if len(set(self.labels)) != count:
                raise ValueError("labels must differ from each other")
        return self


class ExperimentSpec(Model):
    """An experiment file: which runs to make and which numbers to compare.

    ``scenario`` is a file relative to the experiment file, or a mapping of labels to files
    (then ``scenario`` is the first axis of the grid); ``overrides`` apply to every cell;
    ``grid`` maps an axis to its values (the axis is a dotted path) or to a zip group; the
    cells are the cartesian product of the axes. ``baseline`` picks, per axis, the value
    each cell is compared with.
    """

    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    scenario: Annotated[str | dict[str, str], BeforeValidator(_scenario_ref)]
    overrides: dict[str, Any] = {}
    grid: dict[str, Any] = {}
    seeds: Annotated[int | list[int], BeforeValidator(_seeds)]
    metrics: list[Annotated[Metric, BeforeValidator(_metric)]] = Field(min_length=1)
    baseline: dict[str, Any] = {}
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    bootstrap: Bootstrap = Bootstrap()

    def seed_sequence(self, count: int) -> list[int]:
        """The first ``count`` seeds: the list (then the integers after its largest), or
        0, 1, 2, … for a count."""
        if isinstance(self.seeds, int):
            return list(range(count))
        listed = list(self.seeds[:count])
        start = max(self.seeds) + 1
        return listed + list(range(start, start + count - len(listed)))

    @property
    def seed_count(self) -> int:
        return self.seeds if isinstance(self.seeds, int) else len(self.seeds)
