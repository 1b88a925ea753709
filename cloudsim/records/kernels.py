"""A compiled pass for the recorder's samples (optional: ``pip install cloudsim[fast]``).

A sample sums, per data centre and per pool, each resource's limit and allocation, the
VMs, the hosts up and the IT power. The numpy reference
(:func:`~cloudsim.records.events.bincount_columns`) makes a ``bincount`` per column and
scope, each adding its hosts one by one in host order, then divides; this pass goes over
the hosts once and adds each host's values to its two bins in the same order, then does
the same divisions, with the same floating-point operations (no fast-math, so no fused
multiply-add): the same bits, which a property test checks.

Without numba the module still imports (:mod:`cloudsim.compiled`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import Functions, KernelSet

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _host_sums(
    limit: IntArray,
    free: IntArray,
    capacity: IntArray,
    up: npt.NDArray[np.bool_],
    idle_w: FloatArray,
    peak_w: FloatArray,
    datacenter: npt.NDArray[np.int32],
    pool: npt.NDArray[np.int32],
    n_dc: int,
    vm_hosts: IntArray,
    floats: FloatArray,
    counts: IntArray,
) -> None:
    """A sample's columns, per data centre then per pool (``n_dc + P`` columns): into
    ``floats`` (``(R + 1, .)``) each resource's allocation over its limit (0 where no
    limit) and the IT power in kW (CPU allocation over physical capacity, at most 1,
    between idle and peak; 0 for a host down); into ``counts`` (``(2, .)``) the VMs and
    the hosts up. Sums go host by host in host order, as the reference's bincounts."""
    r_count = limit.shape[0]
    n = floats.shape[1]
    sums = np.zeros((2 * r_count, n))  # limits, then allocations
    power = np.zeros(n)
    vms = np.zeros(limit.shape[1], dtype=np.int64)
    for v in range(vm_hosts.size):
        vms[vm_hosts[v]] += 1
    counts[:] = 0
    for h in range(limit.shape[1]):
        a = datacenter[h]
        b = n_dc + pool[h]
        for r in range(r_count):
            lim = float(limit[r, h])
            used = float(limit[r, h] - free[r, h])
            sums[r, a] += lim
            sums[r, b] += lim
            sums[r_count + r, a] += used
            sums[r_count + r, b] += used
        counts[0, a] += vms[h]
        counts[0, b] += vms[h]
        if up[h]:
            busy = min((limit[0, h] - free[0, h]) / max(capacity[0, h], 1), 1.0)
            watts = idle_w[h] + (peak_w[h] - idle_w[h]) * busy
            counts[1, a] += 1
            counts[1, b] += 1
            power[a] += watts
            power[b] += watts
    for g in range(n):
        for r in range(r_count):
            total = sums[r, g]
            floats[r, g] = sums[r_count + r, g] / total if total > 0 else 0.0
        floats[r_count, g] = power[g] / 1000.0


KERNELS = KernelSet("sample kernel", lambda: {"host_sums": _host_sums})


def python_kernels() -> Functions:
    """The pass as a plain Python function (slow: for tests on tiny inputs)."""
    return KERNELS.python()


def kernels() -> Functions:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    return KERNELS.compiled()
