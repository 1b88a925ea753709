"""The replica calculator (``GetResourceReplicas``): raw desired replicas from the metrics,
with Kubernetes' integer arithmetic and its corrections for unready and missing pods
(step 1 of the package docstring)."""

from __future__ import annotations

import numpy as np

from cloudsim.containers.hpa.rules import BoolArray, Derived, FloatArray, IntArray


class ReplicaCalculator:
    """Every HPA's metric target: utilisation (a percentage of the request) or an average
    value per pod (``utilization`` False), and the tolerance around it."""

    def __init__(self, utilization: BoolArray, target: IntArray, tolerance: FloatArray) -> None:
        self.utilization = utilization
        self.target = target
        self.tolerance = tolerance

    def _ratio(
        self, usage: IntArray, pods: IntArray, request: IntArray, derived: Derived
    ) -> FloatArray:
        """Usage ratio over ``pods`` pods using ``usage`` in total (integer maths as k8s)."""
        if derived.all_utilization:
            current = usage * 100 // np.maximum(pods * request, 1)
        elif derived.no_utilization:
            current = usage // np.maximum(pods, 1)
        else:
            utilisation = usage * 100 // np.maximum(pods * request, 1)
            average = usage // np.maximum(pods, 1)
            current = np.where(self.utilization, utilisation, average)
        result: FloatArray = current / self.target
        return result

    def _plain(self, current: IntArray, ready: IntArray, ratio: FloatArray) -> IntArray:
        """``ceil(ratio x ready)``, or ``current`` within the tolerance."""
        result: IntArray = np.where(
            np.abs(1.0 - ratio) <= self.tolerance,
            current,
            np.ceil(ratio * ready).astype(np.int64),
        )
        return result

    def _tempered(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
        ratio: FloatArray,
        derived: Derived,
    ) -> IntArray:
        """The recommendation once unready and missing pods are counted (see the module
        docstring); it keeps ``current`` if they reverse the direction."""
        # missing pods: 100 % of the request (at least the target) down, 0 % up
        fallback = np.where(
            self.utilization,
            request * np.maximum(100, self.target) // 100,
            self.target,
        )
        extra_usage = np.where(ratio < 1.0, missing * fallback, 0)
        counted = ready + missing + np.where((unready > 0) & (ratio > 1.0), unready, 0)
        new_ratio = self._ratio(usage + extra_usage, counted, request, derived)
        reverses = ((ratio < 1.0) & (new_ratio > 1.0)) | ((ratio > 1.0) & (new_ratio < 1.0))
        new = np.ceil(new_ratio * counted).astype(np.int64)
        keep = (
            (np.abs(1.0 - new_ratio) <= self.tolerance)
            | reverses
            | ((new_ratio < 1.0) & (new > current))
            | ((new_ratio > 1.0) & (new < current))
        )
        result: IntArray = np.where(keep, current, new)
        return result

    def _tempered_up(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        usage: IntArray,
        request: IntArray,
        derived: Derived,
    ) -> IntArray:
        """:meth:`_tempered` where it applies with no pod missing: a scale-up (ratio above
        1) with unready pods, which count as using nothing (its value elsewhere is not
        that)."""
        counted = ready + unready
        new_ratio = self._ratio(usage, counted, request, derived)
        new = np.ceil(new_ratio * counted).astype(np.int64)
        keep = (
            (np.abs(1.0 - new_ratio) <= self.tolerance)
            | (new_ratio < 1.0)  # reversed
            | ((new_ratio > 1.0) & (new < current))
        )
        result: IntArray = np.where(keep, current, new)
        return result

    def calculate(
        self,
        current: IntArray,
        ready: IntArray,
        unready: IntArray,
        missing: IntArray,
        usage: IntArray,
        request: IntArray,
        derived: Derived,
    ) -> tuple[IntArray, BoolArray]:
        """Raw desired replicas (J, H) from the metrics, and which HPAs had metrics at all.

        ``ready``, ``unready`` and ``usage`` (CPU used by the ready pods together, in
        millicores) per sync and HPA (J, H), the rest per HPA (H,); ``request``: one pod's
        CPU request. The correction for unready and missing pods is worked out only on the
        syncs that have such pods."""
        has = ready > 0
        ratio = self._ratio(usage, ready, request, derived)
        desired = self._plain(current, ready, ratio)
        if missing.any():
            tempered = (unready > 0) & (ratio > 1.0)
            adjusted = self._tempered(
                current, ready, unready, missing, usage, request, ratio, derived
            )
            desired = np.where(tempered | (missing != 0), adjusted, desired)
        elif unready.any():  # (else no pod to temper a scale-up with)
            tempered = (unready > 0) & (ratio > 1.0)
            if tempered.any():
                rows = _rows_with_any(tempered)
                adjusted = self._tempered_up(
                    current, ready[rows], unready[rows], usage[rows], request, derived
                )
                desired[rows] = np.where(tempered[rows], adjusted, desired[rows])
        if has.all():  # every HPA had metrics at every sync
            return desired, has
        result: IntArray = np.where(has, desired, current)
        return result, has


def _rows_with_any(mask: BoolArray) -> IntArray:
    """``np.flatnonzero(mask.any(axis=1))`` for a C-contiguous (J, H) ``mask``; with 1, 2,
    4 or 8 HPAs each row read as one unsigned integer (nonzero when a byte is: numpy's
    ``any`` over a short contiguous axis costs several times more per row)."""
    h = mask.shape[1]
    if h in (1, 2, 4, 8) and mask.flags.c_contiguous:
        result: IntArray = np.flatnonzero(mask.view(np.dtype(f"u{h}")).ravel())
        return result
    found: IntArray = np.flatnonzero(mask.any(axis=1))
    return found
