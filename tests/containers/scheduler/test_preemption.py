"""DefaultPreemption: lowest-priority victims first, fewest victims, disruption budgets."""

from __future__ import annotations

from cloudsim.containers import PodAffinityTerm, PodDisruptionBudget, PodPhase, PodTemplate
from cloudsim.containers.nodes import HOSTNAME
from tests.containers.scheduler.fixtures import (
    bind_to,
    cluster,
    labelled,
    node,
    placed_on,
    scheduler,
    sel,
)


def phases(c: object, rows: list[int]) -> list[str]:
    return [PodPhase(int(c.pods.phase[r])).name for r in rows]  # type: ignore[attr-defined]


def test_victims_are_the_lowest_priority_pods() -> None:
    c = cluster(node("n1", cpu=2000), node("n2", cpu=2000))
    low = bind_to(c, PodTemplate(cpu=1000, priority=1), "n1", count=2)
    mid = bind_to(c, PodTemplate(cpu=1000, priority=5), "n2", count=2)
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == ["n1"]
    assert sorted(phases(c, low)) == ["BOUND", "PREEMPTED"]  # one victim is enough
    assert phases(c, mid) == ["BOUND", "BOUND"]
    assert s.preemptions == 1
    c.check()


def test_the_node_with_the_smallest_sum_of_victim_priorities_wins() -> None:
    c = cluster(node("one-big", cpu=2000), node("two-small", cpu=2000))
    big = bind_to(c, PodTemplate(cpu=2000, priority=1), "one-big")
    small = bind_to(c, PodTemplate(cpu=1000, priority=1), "two-small", count=2)
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=2000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == ["one-big"]
    assert phases(c, big) == ["PREEMPTED"] and phases(c, small) == ["BOUND", "BOUND"]


def test_more_important_pods_are_reprieved_first() -> None:
    # Everything lower goes, then pods come back most important first while the pod fits:
    # the priority-3 pod stays even though evicting it alone would have been enough.
    c = cluster(node("n", cpu=2000))
    p1 = bind_to(c, PodTemplate(cpu=500, priority=1), "n")
    p2 = bind_to(c, PodTemplate(cpu=500, priority=2), "n")
    p3 = bind_to(c, PodTemplate(cpu=1000, priority=3), "n")
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == ["n"]
    assert phases(c, p1 + p2 + p3) == ["PREEMPTED", "PREEMPTED", "BOUND"]


def test_equal_or_higher_priority_pods_are_never_victims() -> None:
    c = cluster(node("n", cpu=1000))
    same = bind_to(c, PodTemplate(cpu=1000, priority=10), "n")
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == [None] and phases(c, same) == ["BOUND"]
    assert s.unschedulable[row].message.endswith(
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    )


def test_preemption_policy_never() -> None:
    c = cluster(node("n", cpu=1000))
    bind_to(c, PodTemplate(cpu=1000, priority=1), "n")
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=1000, priority=10, preemption_policy="Never"))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == [None]
    assert s.unschedulable[row].message.endswith(
        "preemption: not eligible due to preemptionPolicy=Never."
    )


def test_a_budget_steers_preemption_to_unprotected_pods() -> None:
    c = cluster(node("protected", cpu=1000), node("free", cpu=1000))
    guarded = bind_to(c, labelled({"app": "db"}, cpu=1000, priority=1), "protected")
    other = bind_to(c, labelled({"app": "batch"}, cpu=1000, priority=1), "free")
    c.pdbs = [PodDisruptionBudget("db", sel(app="db"), min_available=1)]
    assert c.disruptions_allowed(c.pdbs[0]) == 0
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == ["free"]
    assert phases(c, guarded + other) == ["BOUND", "PREEMPTED"]


def test_a_budget_is_violated_when_nothing_else_helps() -> None:
    # Kubernetes: "respecting PDB is best effort"
    c = cluster(node("only", cpu=1000))
    guarded = bind_to(c, labelled({"app": "db"}, cpu=1000, priority=1), "only")
    c.pdbs = [PodDisruptionBudget("db", sel(app="db"), max_unavailable=0)]
    s = scheduler(c)
    row = s.submit(PodTemplate(cpu=1000, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == ["only"] and phases(c, guarded) == ["PREEMPTED"]


def test_disruptions_allowed() -> None:
    c = cluster(node("a", cpu=64000), node("b", cpu=64000))
    bind_to(c, labelled({"app": "db"}), "a", count=3)
    bind_to(c, labelled({"app": "db"}), "b", count=1)
    pct = PodDisruptionBudget("p", sel(app="db"), min_available="50%")
    one = PodDisruptionBudget("u", sel(app="db"), max_unavailable=1)
    other_ns = PodDisruptionBudget("o", sel(app="db"), namespace="x", min_available=0)
    empty = PodDisruptionBudget("e", sel(), min_available=0)
    assert [c.disruptions_allowed(p) for p in (pct, one, other_ns, empty)] == [2, 1, 0, 0]
    c.nodes.set_ready([0], False)  # pods on a NotReady node are not healthy
    assert c.disruptions_allowed(pct) == 0


def test_preemption_resolves_anti_affinity() -> None:
    c = cluster(node("n"))
    web = bind_to(c, labelled({"app": "web"}, priority=1), "n")
    s = scheduler(c)
    loner = labelled(
        {"app": "loner"},
        priority=10,
        required_anti_affinity=(PodAffinityTerm(sel(app="web"), HOSTNAME),),
    )
    row = s.submit(loner)[0]
    s.schedule_pending()
    assert placed_on(s, [row]) == ["n"] and phases(c, web) == ["PREEMPTED"]


def test_dry_runs_leave_gpu_devices_as_they_were() -> None:
    c = cluster(node("g1", gpus=2), node("g2", gpus=2))
    low = [
        bind_to(c, PodTemplate(gpu_milli=m, priority=1), n)[0]
        for n, m in (("g1", 700), ("g1", 700), ("g2", 300), ("g2", 900))
    ]
    before = c.nodes.gpu_free.copy()
    devices = [int(c.pods.devices[r]) for r in low]
    s = scheduler(c)
    row = s.submit(PodTemplate(gpu=2, priority=10))[0]
    s.schedule_pending()
    assert placed_on(s, [row])[0] in ("g1", "g2")
    c.check()
    survivors = [r for r in low if c.pods.phase[r] == PodPhase.BOUND]
    for r in survivors:
        assert int(c.pods.devices[r]) == devices[low.index(r)]
    assert before.shape == c.nodes.gpu_free.shape
