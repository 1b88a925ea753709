"""Failover and failback policies: one-method plug-ins, registered by name.

A policy is any object with ``decide(observation) -> list of actions``; a *factory*
``(params, rng) -> policy`` builds it from the scenario's ``params`` and its own random
stream (so the same seed gives the same decisions). Register a factory with
:func:`register_policy` or publish it in the ``cloudsim.policies`` entry-point group::

    [project.entry-points."cloudsim.policies"]
    my-policy = "my_package.policies:MyPolicy"

Built-in failover policies:

- ``manual`` — an operator answers each new alarm after a response time (``response``:
  a duration, or ``{distribution: lognormal, median: 30m, sigma: 0.5}``), then acts on
  every monitor's report as a person on the phone to each site would: fails over systems
  whose centre nobody hears, fences the ``prefer``-red side's peer on a partition (no
  split-brain), restores corrupted systems from backup.
- ``timeout`` — each centre acts on its own view after the monitors' miss threshold: a
  side that no longer hears its active-active peer continues alone, a standby that no
  longer hears its primary takes over. Fast, but on a partition both sides of a pair act:
  split-brain without a witness.
- ``witness-quorum`` — majority of three voters (the two centres of a pair and the witness
  at a third site): a side that reaches the witness keeps (or takes) the service; when
  both do, the witness grants it to the preferred side and the other is fenced (a
  partition: no failover); a primary lost by both its standby and the witness fails over.
  Without a witness there is no automatic failover on a partition (nor on a loss, which
  looks the same): it waits.
- ``capacity-aware`` — the decisions of a ``base`` policy (default ``witness-quorum``),
  executed in priority order and only where the placer finds room at the target; to keep
  critical and important systems up it sheds normal-priority systems serving there, and
  leaves normal ones that do not fit down.

Built-in failback policies: ``operator-failback`` (an operator returns each system home a
response time after its home centres are heard again), ``automatic-failback`` (once they
have been heard for ``stable_for``) and ``no-failback``.
"""

from cloudsim.dr.policies.base import (
    POLICIES,
    FailoverPolicy,
    PolicyFactory,
    Sampler,
    delay_sampler,
    make_policy,
    register_policy,
)
from cloudsim.dr.policies.failback import AutomaticFailback, NoFailback, OperatorFailback
from cloudsim.dr.policies.failover import (
    CapacityAwarePolicy,
    ManualPolicy,
    QuorumPolicy,
    TimeoutPolicy,
)

#: The built-in policies, registered here once (the entry-point group is for other packages).
BUILTIN: dict[str, PolicyFactory] = {
    "manual": ManualPolicy,
    "timeout": TimeoutPolicy,
    "witness-quorum": QuorumPolicy,
    "capacity-aware": CapacityAwarePolicy,
    "operator-failback": OperatorFailback,
    "automatic-failback": AutomaticFailback,
    "no-failback": NoFailback,
}
for _name, _factory in BUILTIN.items():
    register_policy(_name, _factory)

__all__ = [
    "BUILTIN",
    "POLICIES",
    "AutomaticFailback",
    "CapacityAwarePolicy",
    "FailoverPolicy",
    "ManualPolicy",
    "NoFailback",
    "OperatorFailback",
    "PolicyFactory",
    "QuorumPolicy",
    "Sampler",
    "TimeoutPolicy",
    "delay_sampler",
    "make_policy",
    "register_policy",
]
