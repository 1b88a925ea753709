"""The module protocol: what a subsystem (IaaS, faults, DR, containers…) is to the kernel.

A module is a class. Its class-level hooks run before any run exists: whether the scenario
enables it, checks of its section (names, then against the compiled world, then whether
what it asks for can fit at all), compiling its section into a *design* the world keeps,
and its lines on the terminal. An instance is one run's subsystem, built from a
:class:`~cloudsim.kernel.context.Context` (never from the simulation), and the kernel calls
its run hooks: ``start`` (place what exists at time 0), ``processes`` (its simpy processes),
``sample`` (at each sample time), ``finish`` (at the horizon); then the results are
assembled from every module's ``tables`` and ``summary``, in composition order (a table or
summary key another module already wrote is an error, unless the module ``replaces`` it).

Subclass :class:`Module` and override what the subsystem needs; every hook has a default
that does nothing. Register it in the composition root (``cloudsim.composition``) or, from
another package, in the ``cloudsim.modules`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
import simpy

from cloudsim.scenario.base import Model
from cloudsim.scenario.checks import Finding, Loc
from cloudsim.scenario.schema import Scenario
from cloudsim.world import World

if TYPE_CHECKING:
    from cloudsim.kernel.context import Context

__all__ = ["Finding", "Loc", "Module", "Results", "Stage"]


class Stage(IntEnum):
    """When a module's processes start relative to the kernel's sampler and calendar.

    ``PLATFORM`` modules hold capacity (the container cloud, the tenants' workload): their
    processes start first, so a sample at an instant sees their arrivals of that instant.
    ``CONTROL`` modules act on the platform (faults, DR): their processes start after the
    sampler and the calendar.
    """

    PLATFORM = 0
    CONTROL = 1


@dataclass
class Results:
    """The results assembled so far: tables by name and ``summary.json``'s content."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


class Module:
    """A subsystem of a run (see the module docstring)."""

    #: Unique name: the key of its design in the world and of the module in a simulation.
    name: ClassVar[str] = ""
    #: The scenario section that enables it (``None``: always on).
    section: ClassVar[str | None] = None
    #: The schema of that section when it is not one of the scenario's own (a module from
    #: another package): the loader validates the top-level key ``section`` with it, and
    #: the module reads it back with ``world.scenario.section(section)``.
    schema: ClassVar[type[Model] | None] = None
    #: Random streams it draws from (common random numbers: one generator per name, which
    #: no other module may declare).
    streams: ClassVar[tuple[str, ...]] = ()
    stage: ClassVar[Stage] = Stage.CONTROL
    #: Modules that must come before it in a run (it reads what they record or tabulate).
    requires: ClassVar[tuple[str, ...]] = ()
    #: Tables of modules before it that its ``tables`` may replace (extended versions).
    replaces: ClassVar[tuple[str, ...]] = ()

    # -- before any run --------------------------------------------------------------------
    @classmethod
    def enabled(cls, scenario: Scenario) -> bool:
        """Whether a run of ``scenario`` has this module."""
        return cls.section is None or scenario.section(cls.section) is not None

    @classmethod
    def check_references(cls, scenario: Scenario) -> list[Finding]:
        """Names the module's section uses that the scenario does not define."""
        return []

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        """Problems only the compiled world shows (targets, routes, files to read)."""
        return []

    @classmethod
    def check_feasibility(cls, world: World) -> list[Finding]:
        """What cannot fit even on an empty platform (run after every other check passed)."""
        return []

    @classmethod
    def compile(cls, world: World) -> Any:
        """The module's design, compiled once from its section (``None``: none)."""
        return None

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        """What ``cloudsim run`` prints of this module's part of the summary (strings are
        printed as plain text, anything else as a rich renderable)."""
        return []

    # -- a run -----------------------------------------------------------------------------
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def start(self) -> None:
        """State at time 0 (after the modules before it in the composition started)."""

    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        """The module's simpy processes (few and vectorised: see docs/architecture.md)."""
        return ()

    def sample(self, now: float) -> None:
        """Record the module's time series at a sample time."""

    def finish(self, now: float) -> None:
        """Close what is open at the horizon (after the last sample)."""

    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        """The module's tables (a name already in ``results`` is replaced)."""
        return {}

    def summary(self, results: Results) -> Mapping[str, Any]:
        """The module's keys of ``summary.json`` (after every module's tables)."""
        return {}
