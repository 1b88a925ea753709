"""Compiled passes for a cluster's samples and its autoscaler's scale-down check
(optional: ``pip install cloudsim[fast]``).

A cluster's row of ``cluster_timeseries`` is a handful of sums over its nodes and pods,
its fragmentation (:func:`~cloudsim.containers.fragmentation.measure`) an expectation
over the typical pods, and the autoscaler's scale-down check a few masks over the nodes.
With numpy each is tens of calls on arrays of a few elements on a small cluster (their
fixed cost is most of the work); here each is one pass over the nodes (and the pods'
phases). The numpy paths stay the reference: the sums here are of integers (exact in
int64, and in float64 below 2**53), so the caller's last float operations, done as the
reference does them, give the same bits; the autoscaler's divisions and comparisons are
the reference's, element by element. Property tests check both paths agree.

Without numba the module still imports (:mod:`cloudsim.compiled`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import Functions, KernelSet

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Rows of the node tables (as :mod:`cloudsim.containers.nodes` orders its resources).
_CPU, _MEMORY, _PODS = 0, 1, 2


def _row_sums(
    allocatable: IntArray,
    requested: IntArray,
    present: BoolArray,
    usable: BoolArray,
    phase: npt.NDArray[np.int8],
    bound_code: int,
    pending_code: int,
    alloc_out: IntArray,
    used_out: IntArray,
) -> tuple[int, int, int, int]:
    """Allocatable and requested summed over the present nodes (into the outs, per
    resource); nodes present, nodes usable, pods bound and pods pending."""
    for r in range(alloc_out.size):
        alloc_out[r] = 0
        used_out[r] = 0
    n_present = 0
    n_usable = 0
    for n in range(present.size):
        if usable[n]:
            n_usable += 1
        if present[n]:
            n_present += 1
            for r in range(alloc_out.size):
                alloc_out[r] += allocatable[r, n]
                used_out[r] += requested[r, n]
    bound = 0
    pending = 0
    for p in range(phase.size):
        if phase[p] == bound_code:
            bound += 1
        elif phase[p] == pending_code:
            pending += 1
    return n_present, n_usable, bound, pending


def _fragments(
    headroom: IntArray,
    gpu_free: IntArray,
    usable: BoolArray,
    access: BoolArray,
    cpu: IntArray,
    memory: IntArray,
    gpus: IntArray,
    milli: IntArray,
    needs: IntArray,
    which: IntArray,
    gpu_out: FloatArray,
    stranded_out: IntArray,
) -> tuple[int, int]:
    """Per typical pod ``c``, summed over the usable nodes: the milli-GPU it could not use
    (into ``gpu_out``) and the free millicores of nodes it does not fit (``stranded_out``);
    returns the free milli-GPU and free millicores of those nodes. ``needs`` are the
    distinct milli-GPU needs from one GPU, ``which`` the one of each typical pod."""
    classes = cpu.size
    devices = gpu_free.shape[0]
    gpu_sum = np.zeros(classes, dtype=np.int64)
    for c in range(classes):
        stranded_out[c] = 0
    enough = np.zeros(needs.size, dtype=np.int64)
    short = np.zeros(needs.size, dtype=np.int64)
    left_total = 0
    cpu_total = 0
    for n in range(usable.size):
        if not usable[n]:
            continue
        left = 0
        for d in range(devices):
            left += max(gpu_free[d, n], 0)
        for k in range(needs.size):
            need = needs[k]
            count = 0
            rest = 0
            for d in range(devices):
                free = max(gpu_free[d, n], 0)
                if free >= need:
                    count += 1
                else:
                    rest += free
            enough[k] = count
            short[k] = rest
        cpu_left = max(headroom[_CPU, n], 0)
        room = headroom[_MEMORY, n]
        slots = headroom[_PODS, n] >= 1
        for c in range(classes):
            wants = milli[c] > 0
            cpu_ok = cpu_left >= cpu[c]
            gpu_ok = enough[which[c]] >= gpus[c] and (access[c, n] or not wants)
            if wants and cpu_ok and gpu_ok:
                gpu_sum[c] += short[which[c]]
            else:
                gpu_sum[c] += left
            if not (cpu_ok and room >= memory[c] and slots and gpu_ok):
                stranded_out[c] += cpu_left
        left_total += left
        cpu_total += cpu_left
    for c in range(classes):
        gpu_out[c] = float(gpu_sum[c])
    return left_total, cpu_total


def _mark_unneeded(
    allocatable: IntArray,
    requested: IntArray,
    autoscaled: BoolArray,
    group: IntArray,
    ok: BoolArray,
    threshold: float,
    now: float,
    unneeded_since: FloatArray,
    util_out: FloatArray,
) -> int:
    """The scale-down's marks after a change: each node's utilisation (the larger of its
    CPU and memory requests over allocatable, into ``util_out``); a node of an autoscaled
    group (``autoscaled[group]``, -1: none, the last entry) that is ``ok`` (present, Ready,
    up) and under ``threshold`` is unneeded since ``now`` unless it already was, any other
    is not (NaN). Returns how many marks changed."""
    changed = 0
    for n in range(group.size):
        cpu = requested[_CPU, n] / max(allocatable[_CPU, n], 1)
        memory = requested[_MEMORY, n] / max(allocatable[_MEMORY, n], 1)
        util = cpu if cpu >= memory else memory
        util_out[n] = util
        g = group[n] if group[n] >= 0 else autoscaled.size - 1
        if autoscaled[g] and ok[n] and util < threshold:
            if np.isnan(unneeded_since[n]):
                unneeded_since[n] = now
                changed += 1
        elif not np.isnan(unneeded_since[n]):
            unneeded_since[n] = np.nan
            changed += 1
    return changed


def _any_ripe(
    unneeded_since: FloatArray,
    unremovable_until: FloatArray,
    above: BoolArray,
    now: float,
    unneeded_time: float,
) -> bool:
    """Whether a node is ripe for removal: unneeded for ``unneeded_time`` (less 1e-9),
    not marked unremovable past ``now``, in a group above its minimum."""
    for n in range(unneeded_since.size):
        since = unneeded_since[n]
        if (
            not np.isnan(since)
            and now - since >= unneeded_time - 1e-9
            and unremovable_until[n] <= now
            and above[n]
        ):
            return True
    return False


KERNELS = KernelSet(
    "sample kernels",
    lambda: {
        "row_sums": _row_sums,
        "fragments": _fragments,
        "mark_unneeded": _mark_unneeded,
        "any_ripe": _any_ripe,
    },
)


def python_kernels() -> Functions:
    """The same passes as plain Python functions (slow: for tests on tiny inputs)."""
    return KERNELS.python()


def kernels() -> Functions:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    return KERNELS.compiled()
