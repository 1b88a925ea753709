"""The scheduling queue's periodic flush: remembered between changes, the same answer as
working it out from the unschedulable pods each time."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.containers import PodTemplate
from cloudsim.containers.scheduler.queue import (
    POD_DEPENDENT_REASONS,
    SchedulingQueue,
    Unschedulable,
)
from tests.containers.scheduler.fixtures import cluster, node

OTHER_REASON = "Insufficient cpu"
MAX_AGE = 60.0


def _reference_due(queue: SchedulingQueue, max_age: float) -> float:
    times = [
        u.time
        for u in queue.unschedulable.values()
        if any(r in u.reasons for r in POD_DEPENDENT_REASONS)
    ]
    return min(times) + max_age if times else math.inf


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["mark", "add", "forget", "stale"]),
            st.integers(min_value=0, max_value=7),
            st.booleans(),
            st.integers(min_value=0, max_value=300),
        ),
        max_size=40,
    )
)
def test_flush_due_and_stale_requeue_match_the_unschedulable_pods(
    ops: list[tuple[str, int, bool, int]],
) -> None:
    c = cluster(node("n1", cpu=1000))
    template = PodTemplate(cpu=100)
    rows = [c.add_pod(template) for _ in range(8)]
    queue = SchedulingQueue(c)
    for what, k, waits, time in ops:
        row = rows[k]
        if what == "mark":
            reason = POD_DEPENDENT_REASONS[0] if waits else OTHER_REASON
            queue.mark(row, Unschedulable("no", {reason: 1}, float(time)))
        elif what == "add":
            queue.add(row)
        elif what == "forget":
            queue.forget(row)
        else:
            expected = sorted(
                r
                for r, u in queue.unschedulable.items()
                if any(x in u.reasons for x in POD_DEPENDENT_REASONS) and u.time + MAX_AGE <= time
            )
            assert queue.requeue_stale(float(time), MAX_AGE) == len(expected)
            assert not set(expected) & set(queue.unschedulable)
        assert queue.flush_due(MAX_AGE) == _reference_due(queue, MAX_AGE)
        assert queue.flush_due(2 * MAX_AGE) == _reference_due(queue, 2 * MAX_AGE)
