"""The Alibaba openb trace (clusterdata, "Beware of Fragmentation"): node lists and pod
lists, read into node groups and pod columns. Rows are checked as they are read; an error
names the file, the line and the column."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cloudsim.containers.labels import IntArray, Requirement
from cloudsim.containers.nodes import (
    CPU,
    DEFAULT_MAX_PODS,
    GPU_MODEL,
    MEMORY,
    MILLI_PER_GPU,
    Labels,
    NodeGroup,
    capacity_columns,
    reserve_vector,
)
from cloudsim.containers.pods import NodeSelectorTerm, PodTemplate
from cloudsim.scenario.base import MAX_DURATION, MAX_MEMORY_MIB, local_file
from cloudsim.scenario.kubernetes import MAX_CPU_MILLI

FloatArray = npt.NDArray[np.float64]


# -- the node list ------------------------------------------------------------------------
OPENB_NODE_COLUMNS: tuple[str, ...] = ("sn", "cpu_milli", "memory_mib", "gpu", "model")


#: The largest value of each integer column (a number beyond it is a broken file, and would
#: overflow the int64 tables): a million cores, 1 PiB, GPUs per node or pod, milli-GPU.
INT_LIMITS: dict[str, int] = {
    "cpu_milli": MAX_CPU_MILLI,
    "memory_mib": MAX_MEMORY_MIB,
    "gpu": 1024,
    "num_gpu": 1024,
    "gpu_milli": MILLI_PER_GPU,
}
#: The latest time in a pod list (seconds from the trace start).
MAX_TIME = MAX_DURATION


def _parse_int(text: str, column: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where}: column {column!r} must be an integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{where}: column {column!r} must not be negative, got {value}")
    limit = INT_LIMITS.get(column)
    if limit is not None and value > limit:
        raise ValueError(f"{where}: column {column!r} must be at most {limit}, got {text!r}")
    return value


def _int_field(row: Mapping[str, str], column: str, where: str) -> int:
    return _parse_int((row.get(column) or "").strip(), column, where)


def _rows(path: Path, columns: tuple[str, ...], what: str) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV data file with their line numbers; ValueError naming the file (and
    the line) for one that is not such a list: missing, a folder, a URL, columns missing, a
    row with too few or too many fields, not text."""
    local_file(path, what)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = list(reader.fieldnames or [])
            missing = [c for c in columns if c not in fields]
            if missing:
                raise ValueError(f"{path}: not an {what}, missing columns {missing}")
            for row in reader:
                line = reader.line_num
                if None in row or any(row[c] is None for c in columns):
                    raise ValueError(
                        f"{path}:{line}: expected {len(fields)} fields ({', '.join(fields)})"
                    )
                yield line, row
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not an {what}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not an {what}: {exc}") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def read_openb_nodes(
    path: str | Path, *, max_pods: int = DEFAULT_MAX_PODS, reserve: IntArray | None = None
) -> NodeGroup:
    """Nodes from an Alibaba openb node list (``sn, cpu_milli, memory_mib, gpu, model``).

    The GPU model (empty for CPU-only nodes) becomes the ``cloudsim.io/gpu-model`` label.
    """
    path = Path(path)
    names: list[str] = []
    cpu: list[int] = []
    memory: list[int] = []
    gpus: list[int] = []
    models: list[str] = []
    for line, row in _rows(path, OPENB_NODE_COLUMNS, "openb node list"):
        where = f"{path}:{line}"
        name = (row["sn"] or "").strip()
        if not name:
            raise ValueError(f"{where}: empty node name (column 'sn')")
        names.append(name)
        cpu.append(_int_field(row, "cpu_milli", where))
        memory.append(_int_field(row, "memory_mib", where))
        gpus.append(_int_field(row, "gpu", where))
        models.append((row["model"] or "").strip())
    n = len(names)
    cap = capacity_columns(n, 0, 0, np.array(gpus, dtype=np.int64), max_pods)
    cap[CPU] = cpu
    cap[MEMORY] = memory
    labels: Labels = {GPU_MODEL: [m or None for m in models]} if any(models) else {}
    return NodeGroup(
        names=names,
        capacity=cap,
        reserve=reserve if reserve is not None else reserve_vector(),
        labels=labels,
    )


# -- the pod list -------------------------------------------------------------------------
OPENB_POD_COLUMNS: tuple[str, ...] = (
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)


@dataclass
class OpenbPods:
    """An openb pod list as columns; times in seconds from the trace start (NaN: none)."""

    names: list[str]
    cpu_milli: IntArray
    memory_mib: IntArray
    num_gpu: IntArray
    gpu_milli: IntArray
    gpu_spec: list[str]
    qos: list[str]
    phase: list[str]
    creation: FloatArray
    deletion: FloatArray
    scheduled: FloatArray
    _templates: dict[tuple[int, int, int, int, str], PodTemplate] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    def template(self, i: int, namespace: str = "openb") -> PodTemplate:
        """Row ``i`` as a pod template: whole GPUs when ``gpu_milli`` is 1000, else a share of
        one GPU; ``gpu_spec`` (acceptable models, ``|``-separated) as a required node
        affinity on the GPU model label. Equal rows share one template."""
        num_gpu = int(self.num_gpu[i])
        milli = int(self.gpu_milli[i])
        if num_gpu == 0:
            whole, share = 0, 0
        elif num_gpu == 1 and 0 < milli < MILLI_PER_GPU:
            whole, share = 0, milli
        else:  # whole GPUs (a multi-GPU row is whole GPUs whatever its gpu_milli)
            whole, share = num_gpu, 0
        key = (int(self.cpu_milli[i]), int(self.memory_mib[i]), whole, share, self.gpu_spec[i])
        found = self._templates.get(key)
        if found is None:
            models = tuple(m.strip() for m in self.gpu_spec[i].split("|") if m.strip())
            affinity = (
                (NodeSelectorTerm((Requirement(GPU_MODEL, "In", models),)),) if models else None
            )
            found = PodTemplate(
                namespace=namespace,
                cpu=key[0],
                memory=key[1],
                gpu=whole,
                gpu_milli=share,
                required_node_affinity=affinity,
            )
            self._templates[key] = found
        return found


def _time_field(text: str | None, where: str, column: str) -> float:
    text = (text or "").strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: column {column!r} must be a number, got {text!r}") from None
    if not 0 <= value <= MAX_TIME:  # NaN, written out, fails too
        raise ValueError(
            f"{where}: column {column!r} must be a time in seconds from 0 to "
            f"{MAX_TIME:.0f} (or empty), got {text!r}"
        )
    return value


def read_openb_pods(path: str | Path) -> OpenbPods:
    """Read an Alibaba openb pod list (the columns of :data:`OPENB_POD_COLUMNS`)."""
    path = Path(path)
    cols: dict[str, list[str]] = {c: [] for c in OPENB_POD_COLUMNS}
    lines: list[int] = []
    for line, row in _rows(path, OPENB_POD_COLUMNS, "openb pod list"):
        lines.append(line)
        for c in OPENB_POD_COLUMNS:
            cols[c].append((row[c] or "").strip())

    def ints(column: str) -> IntArray:
        return np.array(
            [
                _parse_int(text or "0", column, f"{path}:{line}")
                for line, text in zip(lines, cols[column], strict=True)
            ],
            dtype=np.int64,
        ).reshape(-1)

    def times(column: str) -> FloatArray:
        return np.array(
            [
                _time_field(text, f"{path}:{line}", column)
                for line, text in zip(lines, cols[column], strict=True)
            ],
            dtype=np.float64,
        ).reshape(-1)

    return OpenbPods(
        names=cols["name"],
        cpu_milli=ints("cpu_milli"),
        memory_mib=ints("memory_mib"),
        num_gpu=ints("num_gpu"),
        gpu_milli=ints("gpu_milli"),
        gpu_spec=cols["gpu_spec"],
        qos=cols["qos"],
        phase=cols["pod_phase"],
        creation=times("creation_time"),
        deletion=times("deletion_time"),
        scheduled=times("scheduled_time"),
    )
