"""Compiled passes over a cluster's pods (optional: ``pip install cloudsim[fast]``).

Every pod or node change makes the controllers, the services and the sampler read the
pods' states (ready, unready, missing) and their counts per template: on a small cluster
that is some twenty numpy calls on arrays of a few dozen elements, each paying numpy's fixed
cost. :func:`pod_states` does it in one pass over the pods, compiled with numba when it is
installed (one call), else with numpy. The numpy function is the reference: both give
identical arrays (the same float additions and comparisons; counts are integers), which a
property test checks (``tests/containers/test_kernels.py``).

Without numba the module still imports (:mod:`cloudsim.compiled`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim import compiled as compilation
from cloudsim.compiled import Functions, KernelSet
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
    next bound pod still starting (answering or not) is (inf: none); ``counts`` (4, T): the
    three states counted per template, then the bound pods (ready, starting or missing);
    ``starting_template``, ``starting_at``: the pods still starting on a node that answers,
    in row order, their templates and ready times."""

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
        self._masks: dict[int, BoolArray] = {}

    @property
    def ready(self) -> BoolArray:
        return self._mask(READY)

    @property
    def unready(self) -> BoolArray:
        return self._mask(UNREADY)

    @property
    def missing(self) -> BoolArray:
        return self._mask(MISSING)

    def _mask(self, state: int) -> BoolArray:
        """``code == state``, made once."""
        mask = self._masks.get(state)
        if mask is None:
            mask = self._masks[state] = self.code == state
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
        counts[3, t] += 1
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
        [np.bincount(template[m], minlength=templates) for m in (ready, unready, missing, bound)]
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
    counts = np.zeros((4, templates), dtype=np.int64)
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


def victims_numpy(
    code: npt.NDArray[np.int8],
    template: IntArray,
    dep_of_tid: IntArray,
    phase: npt.NDArray[np.int8],
    started: FloatArray,
    created: FloatArray,
    deployment: int,
    excess: int,
) -> IntArray:
    """The reference: the ``excess`` live pods of ``deployment`` a scale-down deletes, in
    order: pending first, then not ready, then the most recently started (not started
    first), the newest (ties in row order). ``code`` as :attr:`PodStatePass.code`."""
    rows = np.flatnonzero((code != GONE) & (dep_of_tid[template] == deployment))
    since = started[rows]  # a time, or NaN: not started (last)
    order = np.lexsort(
        (
            -created[rows],
            -np.where(np.isnan(since), np.inf, since),
            code[rows] == READY,
            phase[rows] == BOUND,
        )
    )
    chosen: IntArray = rows[order][:excess]
    return chosen


def _victims_loop(
    code: npt.NDArray[np.int8],
    template: IntArray,
    dep_of_tid: IntArray,
    phase: npt.NDArray[np.int8],
    started: FloatArray,
    created: FloatArray,
    deployment: int,
    excess: int,
) -> IntArray:
    """:func:`victims_numpy` compiled: the lexicographic order as stable sorts from the
    last key to the first (compiled by :func:`kernels`)."""
    n = code.size
    rows = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        if code[i] != GONE and dep_of_tid[template[i]] == deployment:
            rows[k] = i
            k += 1
    rows = rows[:k]
    newest = np.empty(k)
    latest = np.empty(k)
    ready = np.empty(k, dtype=np.int64)
    bound = np.empty(k, dtype=np.int64)
    for j in range(k):
        i = rows[j]
        newest[j] = -created[i]
        latest[j] = -np.inf if np.isnan(started[i]) else -started[i]
        ready[j] = code[i] == READY
        bound[j] = phase[i] == BOUND
    order = np.argsort(newest, kind="mergesort")
    order = order[np.argsort(latest[order], kind="mergesort")]
    order = order[np.argsort(ready[order], kind="mergesort")]
    order = order[np.argsort(bound[order], kind="mergesort")]
    return rows[order[:excess]]


def _candidates_loop(
    mask: BoolArray, order: IntArray, start: int, to_find: int
) -> tuple[IntArray, int]:
    """:meth:`~cloudsim.containers.scheduler.cycle.Scheduler.candidates_numpy` compiled:
    the first ``to_find`` nodes passing ``mask`` visited in ``order`` from position
    ``start`` (wrapping), and the next start (compiled by :func:`kernels`)."""
    n = mask.size
    found = np.empty(n, dtype=np.int64)
    f = 0
    for p in range(n):
        if mask[order[p]]:
            found[f] = p
            f += 1
    if f == 0:
        return found[:0], start
    start = start % n
    i = 0
    while i < f and found[i] < start:
        i += 1
    if f <= to_find:
        out = np.empty(f, dtype=np.int64)
        for j in range(f):
            out[j] = order[found[(i + j) % f]]
        return out, start
    out = np.empty(to_find, dtype=np.int64)
    for j in range(to_find):
        out[j] = order[found[(i + j) % f]]
    end = i + to_find
    return out, (start + (found[end % f] - start) % n) % n


def _fit_rows(
    headroom: IntArray, rows: IntArray, need: IntArray, cols: IntArray, out: BoolArray
) -> None:
    """NodeResourcesFit's filter at nodes ``cols`` into ``out``: every resource ``rows[k]``
    has ``need[k]`` of headroom."""
    for j in range(cols.size):
        c = cols[j]
        ok = True
        for k in range(rows.size):
            if headroom[rows[k], c] < need[k]:
                ok = False
                break
        out[c] = ok


def _fit_score_rows(
    allocatable: IntArray,
    nonzero: IntArray,
    requested: IntArray,
    rows: IntArray,
    weights: IntArray,
    requests: IntArray,
    most: bool,
    cols: IntArray,
    out: IntArray,
) -> None:
    """NodeResourcesFit's LeastAllocated (``most``: MostAllocated) score at nodes ``cols``
    into ``out``: over the scoring resources ``rows`` (``requests[k]`` < 0: not scored;
    CPU and memory count the non-zero requests), integer arithmetic as
    :meth:`~cloudsim.containers.scheduler.plugins.node_resources_fit.NodeResourcesFit.node_score`."""
    for j in range(cols.size):
        c = cols[j]
        num = 0
        den = 0
        for k in range(rows.size):
            request = requests[k]
            if request < 0:
                continue
            r = rows[k]
            alloc = allocatable[r, c]
            used = nonzero[r, c] if r < 2 else requested[r, c]
            req = used + request
            safe = alloc if alloc != 0 else 1
            if most:
                capped = alloc if req > alloc else req
                s = capped * 100 // safe if alloc > 0 else 0
            else:
                s = (alloc - req) * 100 // safe if (req <= alloc and alloc > 0) else 0
            if alloc > 0:
                num += s * weights[k]
                den += weights[k]
        out[c] = num // den if den > 0 else 0


def _balanced_rows(
    allocatable: IntArray,
    requested: IntArray,
    rows: IntArray,
    requests: IntArray,
    cols: IntArray,
    out: IntArray,
) -> None:
    """NodeResourcesBalancedAllocation's score over two resources at nodes ``cols`` into
    ``out``: (1 - |f0 - f1| / 2) * 100 truncated, the same float operations as
    :meth:`~cloudsim.containers.scheduler.plugins.balanced_allocation.NodeResourcesBalancedAllocation.node_score`."""
    for j in range(cols.size):
        c = cols[j]
        a0 = allocatable[rows[0], c]
        a1 = allocatable[rows[1], c]
        f0 = (requested[rows[0], c] + requests[0]) / (a0 if a0 != 0 else 1)
        f1 = (requested[rows[1], c] + requests[1]) / (a1 if a1 != 0 else 1)
        if f0 > 1:
            f0 = f0 - (f0 - 1)
        if f1 > 1:
            f1 = f1 - (f1 - 1)
        std = abs(f0 - f1) / 2 if (a0 > 0 and a1 > 0) else 0.0
        out[c] = int((1 - std) * 100)


def _spread_term(
    codes: npt.NDArray[np.int32],
    cands: IntArray,
    valid: BoolArray,
    counts: IntArray,
    per_node: bool,
    max_skew: int,
    logs: FloatArray,
    total: FloatArray,
) -> None:
    """One constraint's part of PodTopologySpread's raw score at ``cands``, added to
    ``total``: the matching pods of each candidate's domain (``per_node``: of the node
    itself) weighted by log(domains in play + 2) (``logs[k]`` = log(k)), plus maxSkew - 1,
    for candidates with the topology key; the float operations of
    :meth:`~cloudsim.containers.scheduler.plugins.pod_topology_spread.PodTopologySpread.score_numpy`."""
    k = cands.size
    size = 0
    if per_node:
        for j in range(k):
            if valid[j]:
                size += 1
    else:
        top = -1
        for j in range(k):
            if valid[j] and codes[cands[j]] > top:
                top = codes[cands[j]]
        seen = np.zeros(top + 2, dtype=np.bool_)
        for j in range(k):
            if valid[j] and not seen[codes[cands[j]] + 1]:
                seen[codes[cands[j]] + 1] = True
                size += 1
    weight = logs[size + 2]
    for j in range(k):
        node = cands[j]
        code = codes[node]
        if code < 0:
            continue
        at = node if per_node else code  # a domain past the view's counts has none
        count = counts[at] if at < counts.size else 0
        total[j] += count * weight + (max_skew - 1)


def _spread_raw(total: FloatArray, valid: BoolArray) -> IntArray:
    """The raw scores: ``total`` rounded half up, -1 where the plugin ignores the node."""
    raw = np.empty(total.size, dtype=np.int64)
    for j in range(total.size):
        raw[j] = np.int64(np.floor(total[j] + 0.5)) if valid[j] else -1
    return raw


def _spread_normalize(scores: IntArray) -> IntArray:
    """PodTopologySpread's NormalizeScore: 100 * (hi + lo - s) // hi over the valid
    (non-negative) raw scores, 0 for the others."""
    k = scores.size
    lo, hi, any_valid = 0, 0, False
    for j in range(k):
        s = scores[j]
        if s >= 0:
            if not any_valid or s < lo:
                lo = s
            if not any_valid or s > hi:
                hi = s
            any_valid = True
    out = np.zeros(k, dtype=np.int64)
    if not any_valid:
        return out
    if hi < 0:
        hi = 0
    for j in range(k):
        if scores[j] >= 0:
            out[j] = 100 if hi == 0 else 100 * (hi + lo - scores[j]) // hi
    return out


KERNELS = KernelSet(
    "pod-state and scheduling kernels",
    lambda: {
        "pod_states": _pod_states_loop,
        "victims": _victims_loop,
        "candidates": _candidates_loop,
        "spread_term": _spread_term,
        "spread_raw": _spread_raw,
        "spread_normalize": _spread_normalize,
        "fit_rows": _fit_rows,
        "fit_score_rows": _fit_score_rows,
        "balanced_rows": _balanced_rows,
    },
)


def kernels() -> Functions:
    """The compiled passes by name (compiled once per process, cached on disk)."""
    return KERNELS.compiled()


def compiled() -> Functions | None:
    """The compiled kernels when "auto" compiles (:func:`cloudsim.compiled.chosen`: numba
    installed, unless ``CLOUDSIM_KERNELS=numpy``), else None (take the numpy path). The
    scheduler's plugins choose this way: they have no ``kernel=`` of their own."""
    return kernels() if compilation.chosen("auto") else None


PodStates = Callable[..., PodStatePass]


def victims_compiled(*args: Any) -> IntArray:
    """:func:`victims_numpy` compiled: the same arguments, identical rows."""
    rows: IntArray = kernels()["victims"](*args)
    return rows


def victims_pass(kernel: str = "auto") -> Callable[..., IntArray]:
    """The scale-down choice: ``"numba"``, ``"numpy"`` or ``"auto"`` as :func:`pod_states_pass`."""
    return victims_compiled if pod_states_pass(kernel) is pod_states_compiled else victims_numpy


def pod_states_pass(kernel: str = "auto") -> PodStates:
    """The pod-state pass: ``"numba"`` (compiled), ``"numpy"`` (the reference) or
    ``"auto"`` (compiled when numba is installed)."""
    if compilation.chosen(kernel, what="pod-state kernel"):
        kernels()
        return pod_states_compiled
    return pod_states_numpy
