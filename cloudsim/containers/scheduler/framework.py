"""The scheduling framework's types: plugin interfaces, a template's plan, the diagnosis of
a failed cycle, and the registry of plugins by name.

As kube-scheduler's framework (pkg/scheduler/framework): a plugin implements one or more
extension points. A :class:`FilterPlugin` removes nodes and a :class:`ScorePlugin` ranks
the remaining ones, both prepared once per pod template; a :class:`PostFilterPlugin` runs
for a pod no node passes, with its scheduler as a :class:`Handle` (DefaultPreemption is
one). :data:`PLUGINS` holds every plugin class by name: the built-ins register themselves
where they are defined (:mod:`cloudsim.containers.scheduler.plugins`), a researcher's
package with :func:`register_plugin` or through the ``cloudsim.scheduler_plugins``
entry-point group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar

from cloudsim.containers.cluster import Cluster
from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.registry import Registry

#: Called by a scheduler for what it does: ``record(time, kind, **fields)``.
Record = Callable[..., None]


class Failure(NamedTuple):
    """Nodes a filter rejects for one reason; ``resolvable``: preemption might help
    (Kubernetes' Unschedulable, as opposed to UnschedulableAndUnresolvable)."""

    reason: str
    nodes: BoolArray
    resolvable: bool


class Plugin:
    """A scheduling plugin bound to one cluster; ``args`` as in KubeSchedulerConfiguration."""

    name: ClassVar[str]

    def __init__(self, cluster: Cluster, **args: Any) -> None:
        if args:
            raise TypeError(f"plugin {self.name} takes no arguments, got {sorted(args)}")
        self.cluster = cluster


class FilterPlugin(Plugin):
    """Removes nodes. ``static`` plugins depend only on nodes' static attributes (labels,
    taints, flags): their mask is computed once per template until the node table changes."""

    static: ClassVar[bool] = False
    reason: ClassVar[str] = ""
    resolvable: ClassVar[bool] = False

    def prefilter(self, tid: int) -> Any:
        """Per-template preparation; None when the plugin lets every node through."""
        raise NotImplementedError

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        """Nodes (all, or ``cols``) that pass, given a non-None ``prep``."""
        raise NotImplementedError

    def failures(self, prep: Any) -> list[Failure]:
        """Failing nodes per reason, over all nodes (for diagnoses and preemption)."""
        return [Failure(self.reason, ~self.filter(prep, None), self.resolvable)]


class ScorePlugin(Plugin):
    """Scores candidate nodes; ``prescore`` returns None to skip (Kubernetes' Skip status)."""

    def prescore(self, tid: int) -> Any:
        raise NotImplementedError

    def score(self, prep: Any, cands: IntArray) -> IntArray:
        raise NotImplementedError

    def normalize(self, prep: Any, scores: IntArray) -> IntArray:
        return scores

    def constant(self, prep: Any) -> int | None:
        """The normalised score if it is the same on every node (then never computed)."""
        return None


@dataclass
class Plan:
    """A template's preparation for one profile, valid for one state of the node table:
    every filter's preparation, the mask of the static filters, the dynamic filters and the
    scorers to run, and the normalised scores that are the same on every node."""

    key: tuple[int, int]
    preps: dict[str, Any]
    static: BoolArray
    dynamic: list[tuple[FilterPlugin, Any]]
    scores: list[tuple[ScorePlugin, int, Any]]
    constants: dict[str, int]


def fit_error(nodes: int, reasons: Mapping[str, int]) -> str:
    """kube-scheduler's FitError text: reason counts, sorted as strings."""
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items() if count)
    if not parts:
        return f"0/{nodes} nodes are available."
    return f"0/{nodes} nodes are available: {', '.join(parts)}."


@dataclass
class Diagnosis:
    """Why the filters left no node: nodes each filter removed, reason counts, the nodes
    that pass, and the failing nodes whose first failing filter preemption might fix."""

    removed_by: dict[str, int]
    reasons: Counter[str]
    feasible: BoolArray
    resolvable: BoolArray

    def message(self, nodes: int) -> str:
        return fit_error(nodes, self.reasons)


class Handle(Protocol):
    """What a PostFilter plugin may use of the scheduler running it (kube-scheduler's
    framework.Handle): its filters and plans, its seeded stream, and its record."""

    @property
    def filters(self) -> Sequence[FilterPlugin]: ...

    @property
    def record(self) -> Record | None: ...

    def plan(self, tid: int) -> Plan: ...

    def feasible_on(self, tid: int, node: int) -> bool: ...

    def draw(self, n: int) -> int: ...


class PostFilterPlugin(Plugin):
    """Runs for a pod that no node passes (kube-scheduler's PostFilter extension point)."""

    def __init__(self, cluster: Cluster, handle: Handle, **args: Any) -> None:
        super().__init__(cluster, **args)
        self.handle = handle

    def post_filter(self, row: int, tid: int, diagnosis: Diagnosis, time: float) -> tuple[int, str]:
        """The node pod ``row`` may take now, or -1 and why not (added to the FitError)."""
        raise NotImplementedError


P = TypeVar("P", bound=type[Plugin])


def _check_plugin(name: str, cls: type[Plugin]) -> None:
    if not (
        isinstance(cls, type) and issubclass(cls, FilterPlugin | ScorePlugin | PostFilterPlugin)
    ):
        raise TypeError(f"{cls!r} is neither a FilterPlugin, a ScorePlugin nor a PostFilterPlugin")
    if cls.name != name:
        raise ValueError(f"the class {cls.__name__} is named {cls.name!r}")


#: Every scheduler plugin class by name (the built-ins, then the entry-point group's).
PLUGINS: Registry[type[Plugin]] = Registry(
    "scheduler plugin", group="cloudsim.scheduler_plugins", check=_check_plugin
)


def register_plugin(cls: P) -> P:
    """Make a plugin class usable by name (``cls.name``) in profiles: as a filter, a scorer
    or the post-filter. Returns the class, so that it decorates one."""
    PLUGINS.register(getattr(cls, "name", cls.__name__), cls)
    return cls
