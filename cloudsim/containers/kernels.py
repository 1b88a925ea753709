"""Compiled passes over a cluster's pods (optional: ``pip install cloudsim[fast]``).

Every pod or node change makes the controllers, the services and the sampler read the
pods' states (ready, unready, missing) and their counts per template: on a small cluster
that is some twenty numpy calls on arrays of a few dozen elements, each paying numpy's fixed
cost. :func:`pod_states` does it in one pass over the pods, compiled with numba when it is
installed (one call), else with numpy. The numpy function is the reference: both give
identical arrays (the same float additions and comparisons; counts are integers), which a
property test checks (``tests/containers/test_kernels.py``).

Without numba the module still imports; :func:`available` says whether the compiled pass can run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.containers.pods import BOUND, PENDING

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


#: A pod's state in :attr:`PodStatePass.code`: not live (ended), ready, unready, missing.
GONE, READY, UNREADY, MISSING = 0, 1, 2, 3


class PodStatePass:
    """What one pass over pod rows ``[0, n)`` finds at one instant.

    ``code``: each pod's state (:data:`READY`, :data:`UNREADY`, :data:`MISSING`, or
    :data:`GONE`), as the masks ``ready``, ``unready`` and ``missing`` of
    :meth:`~cloudsim.containers.runtime.ClusterState.pod_states` (made on first use);
    ``ready_at``: when each pod is past its startup (NaN: not running); ``until``: when the
    next bound pod still starting (answering or not) is (inf: none); ``counts`` (3, T): the
    three states counted per template; ``starting_template``, ``starting_at``: the pods
    still starting on a node that answers, in row order, their templates and ready times."""

    def __init__(
        self,
        code: npt.NDArray[np.int8],
        ready_at: FloatArray,
        until: float,
        counts: IntArray,
        starting_template: IntArray,
        starting_at: FloatArray,
    ) -> None:
        self.code = code
        self.ready_at = ready_at
        self.until = until
        self.counts = counts
        self.starting_template = starting_template
        self.starting_at = starting_at

    @cached_property
    def ready(self) -> BoolArray:
        mask: BoolArray = self.code == READY
        return mask

    @cached_property
    def unready(self) -> BoolArray:
        mask: BoolArray = self.code == UNREADY
        return mask

    @cached_property
    def missing(self) -> BoolArray:
        mask: BoolArray = self.code == MISSING
        return mask


def _pod_states_loop(
    phase: npt.NDArray[np.int8],
    node: IntArray,
    running_since: FloatArray,
    created: FloatArray,
    template: IntArray,
    startup: FloatArray,
    node_ok: BoolArray,
    now: float,
    code: npt.NDArray[np.int8],
    ready_at: FloatArray,
    counts: IntArray,
    starting_template: IntArray,
    starting_at: FloatArray,
) -> tuple[float, int]:
    """:func:`pod_states_numpy`'s pass as one loop over the pods, into the arrays given
    (``counts`` zeroed); returns ``until`` and how many pods are starting (compiled by
    :func:`kernels`)."""
    k = 0
    until = np.inf
    has_nodes = node_ok.size > 0
    for i in range(phase.size):
        t = template[i]
        at = running_since[i] + startup[t]
        ready_at[i] = at
        p = phase[i]
        if p == PENDING:
            code[i] = UNREADY
            counts[1, t] += 1
            continue
        if p != BOUND:
            code[i] = GONE
            continue
        started = at <= now or (running_since[i] <= 0.0 and created[i] <= 0.0)
        if not started and at < until:
            until = at
        v = node[i]
        if has_nodes and node_ok[v if v > 0 else 0]:
            if started:
                code[i] = READY
                counts[0, t] += 1
            else:
                code[i] = UNREADY
                counts[1, t] += 1
                starting_template[k] = t
                starting_at[k] = at
                k += 1
        else:
            code[i] = MISSING
            counts[2, t] += 1
    return until, k


def pod_states_numpy(
    phase: npt.NDArray[np.int8],
    node: IntArray,
    running_since: FloatArray,
    created: FloatArray,
    template: IntArray,
    startup: FloatArray,
    node_ok: BoolArray,
    now: float,
    templates: int,
) -> PodStatePass:
    """The reference: pods' states at ``now`` from their columns over rows ``[0, n)``.

    Ready: bound to a node that answers (``node_ok``) and past its startup (``ready_at <=
    now``, or a pod of the initial inventory: created and running at time 0); unready:
    pending, or still starting on a node that answers; missing: bound to a node that does
    not answer. ``startup`` per template; ``templates``: T, the counts' width."""
    n = len(phase)
    bound = phase == BOUND
    # no node yet: no pod is bound
    on_ok = bound & node_ok[np.maximum(node, 0)] if len(node_ok) else np.zeros(n, dtype=np.bool_)
    ready_at = running_since + startup[template]
    started = (ready_at <= now) | ((running_since <= 0.0) & (created <= 0.0))
    ready = on_ok & started
    unready = (phase == PENDING) | (on_ok & ~started)
    missing = bound & ~on_ok
    late = bound & ~started
    until = float(ready_at[late].min()) if late.any() else float("inf")
    code = np.full(n, GONE, dtype=np.int8)
    code[ready], code[unready], code[missing] = READY, UNREADY, MISSING
    counts = np.stack(
        [np.bincount(template[m], minlength=templates) for m in (ready, unready, missing)]
    ).astype(np.int64, copy=False)
    starting = on_ok & ~started
    return PodStatePass(code, ready_at, until, counts, template[starting], ready_at[starting])


def pod_states_compiled(
    phase: npt.NDArray[np.int8],
    node: IntArray,
    running_since: FloatArray,
    created: FloatArray,
    template: IntArray,
    startup: FloatArray,
    node_ok: BoolArray,
    now: float,
    templates: int,
) -> PodStatePass:
    """:func:`pod_states_numpy` compiled: the same arguments, identical results."""
    n = len(phase)
    code = np.empty(n, dtype=np.int8)
    ready_at = np.empty(n)
    counts = np.zeros((3, templates), dtype=np.int64)
    starting_template = np.empty(n, dtype=np.int64)
    starting_at = np.empty(n)
    until, k = kernels()["pod_states"](
        phase,
        node,
        running_since,
        created,
        template,
        startup,
        node_ok,
        now,
        code,
        ready_at,
        counts,
        starting_template,
        starting_at,
    )
    return PodStatePass(code, ready_at, until, counts, starting_template[:k], starting_at[:k])


_compiled: dict[str, Callable[..., Any]] | None = None


def available() -> bool:
    """Whether numba is installed (the pass compiles on first use, cached on disk)."""
    return importlib.util.find_spec("numba") is not None


def kernels() -> dict[str, Callable[..., Any]]:
    """The compiled passes by name (compiled once per process, cached on disk)."""
    global _compiled
    if _compiled is None:
        if not available():
            raise ModuleNotFoundError(
                "the compiled pod-state pass needs numba: pip install 'cloudsim[fast]'"
            )
        import numba

        _compiled = {"pod_states": numba.njit(cache=True, nogil=True)(_pod_states_loop)}
    return _compiled


PodStates = Callable[..., PodStatePass]


def pod_states_pass(kernel: str = "auto") -> PodStates:
    """The pod-state pass: ``"numba"`` (compiled), ``"numpy"`` (the reference) or
    ``"auto"`` (compiled when numba is installed)."""
    if kernel not in ("auto", "numba", "numpy"):
        raise ValueError(f"kernel must be auto, numba or numpy, got {kernel!r}")
    if kernel == "numba" or (kernel == "auto" and available()):
        kernels()
        return pod_states_compiled
    return pod_states_numpy
