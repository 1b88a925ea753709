"""Fragmentation as "Beware of Fragmentation" (Weng et al., USENIX ATC '23) measures it.

The measure is relative to a *target workload*: the typical pods, each with its share of
all pods (popularity). For a node ``n`` and a typical pod ``m``, the node's unallocated GPU
resources that ``m`` could not use are fragments ``F_n(m)``:

- ``m`` asks for no GPU, or cannot run on ``n`` (too little CPU left, too few GPUs with
  enough free, a GPU model it does not accept): every unallocated milli-GPU of ``n``;
- ``m`` can run on ``n``: the free milli-GPU of the GPUs that each have less free than
  ``m`` needs from one GPU (its share, or a whole GPU).

A node's fragmentation is the expectation over the workload, ``F_n = sum_m p_m F_n(m)``,
and the cluster's is the sum over nodes; the fragmentation *ratio* divides it by all the
unallocated GPU. As in the paper's simulator, "can run" looks at CPU and GPUs (memory is
not the constraint in the openb trace). For CPU-only clusters the same expectation over
free CPU gives the stranded CPU: free millicores on nodes that cannot host the typical pod
(CPU, memory, pod slots or GPU missing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.nodes import CPU, GPU_MODEL, MEMORY, MILLI_PER_GPU, PODS, NodeTable
from cloudsim.containers.pods import PodTemplate

FloatArray = npt.NDArray[np.float64]


@dataclass
class Workload:
    """Typical pods as columns: CPU, memory, GPUs needed, milli-GPU needed from each of them,
    accepted GPU models (empty: any) and popularity (sums to 1)."""

    cpu: IntArray
    memory: IntArray
    gpus: IntArray
    milli: IntArray
    models: list[tuple[str, ...]]
    popularity: FloatArray
    #: :meth:`access` of the node table measured last: the table, its version, the mask.
    _access: list[tuple[NodeTable, int, BoolArray]] = field(
        default_factory=list, repr=False, compare=False
    )

    @classmethod
    def of(cls, templates: Sequence[PodTemplate], weights: Sequence[float]) -> Workload:
        """Templates with their counts (equal requests are merged)."""
        merged: dict[tuple[int, int, int, int, tuple[str, ...]], float] = {}
        for t, w in zip(templates, weights, strict=True):
            if w <= 0:
                continue
            if t.gpu:
                gpus, milli = t.gpu, MILLI_PER_GPU
            elif t.gpu_milli:
                gpus, milli = 1, t.gpu_milli
            else:
                gpus, milli = 0, 0
            models: tuple[str, ...] = ()
            for term in t.required_node_affinity or ():
                for req in term.match_expressions:
                    if req.key == GPU_MODEL and req.operator == "In":
                        models = tuple(sorted(req.values))
            key = (t.cpu, t.memory, gpus, milli, models)
            merged[key] = merged.get(key, 0.0) + float(w)
        keys = sorted(merged)
        total = sum(merged.values()) or 1.0
        return cls(
            cpu=np.array([k[0] for k in keys], dtype=np.int64),
            memory=np.array([k[1] for k in keys], dtype=np.int64),
            gpus=np.array([k[2] for k in keys], dtype=np.int64),
            milli=np.array([k[3] for k in keys], dtype=np.int64),
            models=[k[4] for k in keys],
            popularity=np.array([merged[k] / total for k in keys], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.cpu)

    @cached_property
    def needs(self) -> tuple[IntArray, IntArray]:
        """The distinct milli-GPU needs from one GPU, and which one each typical pod has."""
        needs, which = np.unique(self.milli, return_inverse=True)
        return needs, which

    def access_of(self, nodes: NodeTable) -> BoolArray:
        """:meth:`access`, worked out again only when the node table changes."""
        for table, version, found in self._access:
            if table is nodes and version == nodes.version:
                return found
        found = self.access(nodes)
        self._access[:] = [(nodes, nodes.version, found)]
        return found

    def access(self, nodes: NodeTable) -> BoolArray:
        """(C, N) nodes whose GPU model each typical pod accepts."""
        out = np.ones((len(self), nodes.size), dtype=np.bool_)
        codes = nodes.labels.column(GPU_MODEL)
        for c, models in enumerate(self.models):
            if models:
                wanted = [nodes.labels.code(GPU_MODEL, m) for m in models]
                out[c] = np.isin(codes, [w for w in wanted if w >= 0])
        return out


@dataclass(frozen=True)
class Fragmentation:
    """One measurement over a cluster (milli-GPU and millicores)."""

    gpu_free: float
    gpu_fragmented: float
    cpu_free: float
    cpu_stranded: float

    @property
    def gpu_ratio(self) -> float:
        return self.gpu_fragmented / self.gpu_free if self.gpu_free > 0 else 0.0

    @property
    def cpu_ratio(self) -> float:
        return self.cpu_stranded / self.cpu_free if self.cpu_free > 0 else 0.0


def measure(nodes: NodeTable, usable: BoolArray, workload: Workload) -> Fragmentation:
    """Fragmentation of the ``usable`` nodes (present, Ready) for ``workload``."""
    if not len(workload) or not usable.any():
        return Fragmentation(0.0, 0.0, 0.0, 0.0)
    # nodes in the same state count the same: measure each distinct state once
    usable_cols = np.flatnonzero(usable)
    model = nodes.labels.column(GPU_MODEL)[usable_cols]
    state = np.vstack(
        [nodes.headroom[:, usable_cols], nodes.gpu_free[:, usable_cols], model[None, :]]
    )
    rows = np.ascontiguousarray(state.T)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, weight = np.unique(keys, return_index=True, return_counts=True)
    cols = usable_cols[first]
    free_dev = np.maximum(nodes.gpu_free[:, cols], 0)  # (D, n); -1 (no device) -> 0
    left = free_dev.sum(axis=0).astype(np.float64)  # (n,)
    head = nodes.headroom[:, cols]
    cpu_left = np.maximum(head[CPU], 0)
    cpu_ok = cpu_left[None, :] >= workload.cpu[:, None]  # (C, n)
    access = workload.access_of(nodes)[:, cols]
    wants_gpu = workload.milli > 0
    # per distinct milli-GPU need from one GPU: GPUs with enough free, free on the others
    needs, which = workload.needs
    enough_count = np.zeros((len(needs), len(cols)), dtype=np.int64)
    short_free = np.zeros((len(needs), len(cols)), dtype=np.int64)
    for k, need in enumerate(needs.tolist()):
        enough = free_dev >= need
        enough_count[k] = enough.sum(axis=0)
        short_free[k] = np.where(enough, 0, free_dev).sum(axis=0)
    gpu_ok = (enough_count[which] >= workload.gpus[:, None]) & (access | ~wants_gpu[:, None])
    satisfied = wants_gpu[:, None] & cpu_ok & gpu_ok
    per_class = np.where(satisfied, short_free[which], left[None, :])
    gpu_frag = float(workload.popularity @ (per_class @ weight))
    fits = (
        cpu_ok
        & (head[MEMORY][None, :] >= workload.memory[:, None])
        & (head[PODS][None, :] >= 1)
        & gpu_ok
    )
    stranded = float(workload.popularity @ (np.where(fits, 0, cpu_left[None, :]) @ weight))
    return Fragmentation(float(left @ weight), gpu_frag, float(cpu_left @ weight), stranded)


def measure_compiled(
    fragments: Callable[..., tuple[int, int]],
    nodes: NodeTable,
    usable: BoolArray,
    workload: Workload,
) -> Fragmentation:
    """:func:`measure` with the node pass of a kernel (``fragments``,
    :func:`cloudsim.containers.sample_kernels.kernels`): the same four numbers, bit for bit.

    The kernel sums integers only (free milli-GPU and millicores per typical pod); the
    expectation over the workload is then the reference's own product of the popularity
    with those sums (float64 for the GPU, int64 for the stranded CPU, as there)."""
    if not len(workload):
        return Fragmentation(0.0, 0.0, 0.0, 0.0)
    needs, which = workload.needs
    gpu = np.empty(len(workload), dtype=np.float64)
    stranded = np.empty(len(workload), dtype=np.int64)
    left, cpu_left = fragments(
        nodes.headroom,
        nodes.gpu_free,
        usable,
        workload.access_of(nodes),
        workload.cpu,
        workload.memory,
        workload.gpus,
        workload.milli,
        needs,
        which,
        gpu,
        stranded,
    )
    return Fragmentation(
        float(left),
        float(workload.popularity @ gpu),
        float(cpu_left),
        float(workload.popularity @ stranded),
    )
