"""A compiled pass for the recorder's samples (optional: ``pip install cloudsim[fast]``).

A sample sums, per data centre and per pool, each resource's limit and allocation, the
VMs, the hosts up and the IT power. The numpy reference
(:meth:`~cloudsim.records.events.Recorder._measure`) makes a ``bincount`` per column and
scope, each adding its hosts one by one in host order; this pass goes over the hosts once
and adds each host's values to its two bins in the same order, with the same
floating-point operations (no fast-math, so no fused multiply-add): the same bits, which
a property test checks.

Without numba the module still imports; :func:`available` says whether the kernel can run.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

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
    out: FloatArray,
) -> None:
    """Into ``out`` (``(2R + 3, n_dc + P)``, zeroed here), per data centre then per pool:
    the limit of each of the R resources, their allocation, the VMs, the hosts up and the
    IT power (W; CPU allocation over physical capacity, at most 1, between idle and peak).
    A host down adds 0 to the hosts up and the power (as the reference's weight 0 does)."""
    r_count = limit.shape[0]
    vms_row, up_row, power_row = 2 * r_count, 2 * r_count + 1, 2 * r_count + 2
    out[:] = 0.0
    for h in range(limit.shape[1]):
        a = datacenter[h]
        b = n_dc + pool[h]
        for r in range(r_count):
            lim = float(limit[r, h])
            used = float(limit[r, h] - free[r, h])
            out[r, a] += lim
            out[r, b] += lim
            out[r_count + r, a] += used
            out[r_count + r, b] += used
        if up[h]:
            busy = min((limit[0, h] - free[0, h]) / max(capacity[0, h], 1), 1.0)
            power = idle_w[h] + (peak_w[h] - idle_w[h]) * busy
            out[up_row, a] += 1.0
            out[up_row, b] += 1.0
            out[power_row, a] += power
            out[power_row, b] += power
    for v in range(vm_hosts.size):
        h = vm_hosts[v]
        out[vms_row, datacenter[h]] += 1.0
        out[vms_row, n_dc + pool[h]] += 1.0


_compiled: dict[str, Callable[..., Any]] | None = None


def chosen(kernel: str, large: bool = False) -> bool:
    """Whether a path set to ``kernel`` runs compiled: "numba" always, "numpy" never, "auto"
    when numba is installed and either this process already ran a compiled kernel
    (:func:`warm`) or the work is ``large`` enough to repay numba's start-up (about half a
    second of CPU the first time a process runs any compiled function). Either path gives
    the same results."""
    if kernel == "auto":
        return available() and (warm() or large)
    return kernel == "numba"


def warm() -> bool:
    """Whether this process already ran a compiled kernel: the placement kernels (as soon
    as a built-in preset places a VM) or these; then one more costs milliseconds."""
    if "numba" not in sys.modules:
        return False
    from cloudsim.placement import kernels as placement

    ran = [*(placement._compiled or {}).values(), *(_compiled or {}).values()]
    return any(getattr(d, "signatures", ()) for d in ran)


def available() -> bool:
    """Whether numba is installed (the kernel compiles on first use, cached on disk)."""
    return importlib.util.find_spec("numba") is not None


def python_kernels() -> dict[str, Callable[..., Any]]:
    """The pass as a plain Python function (slow: for tests on tiny inputs)."""
    return {"host_sums": _host_sums}


def kernels() -> dict[str, Callable[..., Any]]:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    global _compiled
    if _compiled is None:
        if not available():
            raise ModuleNotFoundError(
                "the compiled sample kernel needs numba: pip install 'cloudsim[fast]'"
            )
        import numba

        jit = numba.njit(cache=True, nogil=True)
        _compiled = {name: jit(fn) for name, fn in python_kernels().items()}
    return _compiled
