"""Write authority: which centres of a system really accept writes (the ground truth).

What the controller keeps per system (:class:`~cloudsim.dr.state.SystemState`) and this
reads:

- **primaries**: centres the controller made primary (home centres at the start);
  **fenced**: centres told to stop writes; **alone**: sides of an active-active pair that
  a decision let go on without their peer;
- **writable**: an active-active pair in sync (both primaries alive, unfenced, interconnect
  round trip within ``dr.sync_rtt_limit_ms``, no decision has split them) writes on both
  sides. Otherwise, *with a witness*, only the holder of the **witness lock** writes: a
  single primary holds it from the start; a failover, a fence's surviving side or a side
  going on alone must take it, which fails while another centre holds it validly (alive
  and in touch with the witness, or with every other voter of its system); *without a
  witness*, a side of a pair out of sync freezes until a decision lets it go on alone, and
  every other primary writes. A pair that loses sync therefore freezes its writes until a
  policy decides;
- **split-brain**: two or more writable centres not in sync with each other — impossible
  with a witness (one lock), possible without one.

It needs only the network's ground truth (:class:`~cloudsim.dr.network.NetworkTruth`: live
centres, routes, the witness); the only state it changes is a system's lock holder.
"""

from __future__ import annotations

from cloudsim.dr.network import NetworkTruth
from cloudsim.dr.plan import SystemPlan
from cloudsim.dr.state import SystemState


def peer_of(plan: SystemPlan, c: int) -> int | None:
    """The other side of an active-active pair (``None``: ``c`` is not a side of one)."""
    if plan.mode == "active-active" and len(plan.home) == 2 and c in plan.home:
        return plan.home[1] if c == plan.home[0] else plan.home[0]
    return None


def sync_pair(plan: SystemPlan) -> tuple[int, int] | None:
    """The two centres replicating synchronously: an active-active pair, or the primary and
    its standby (``None``: no synchronous replication)."""
    if not plan.sync:
        return None
    if plan.mode == "active-active" and len(plan.home) == 2:
        return plan.home[0], plan.home[1]
    if plan.standby_dc >= 0:
        return plan.home[0], plan.standby_dc
    return None


class WriteAuthority:
    """Writable centres, the witness lock and synchronous pairs (see the module docstring)."""

    def __init__(self, net: NetworkTruth) -> None:
        self.net = net
        self.witness = net.witness
        self.centres = net.centres

    def initial_holder(self, plan: SystemPlan) -> int | None:
        """A single primary holds the witness lock from the start (a pair needs none)."""
        if self.witness is None or plan.mode in ("none", "active-active"):
            return None
        return plan.home[0]

    def writable(self, state: SystemState) -> set[int]:
        """The centres where the system really accepts writes (see the module docstring)."""
        if state.corrupted:
            return set()
        plan = state.plan
        if not plan.managed:
            return {c for c in range(len(self.centres)) if self.net.alive[c]}
        partners = state.primaries - state.fenced
        live = {c for c in partners if self.net.alive[c]} - state.redirecting
        if self.in_sync(state):
            return live
        if self.witness is not None:  # only the holder of the witness lock writes
            self._check_lock(state)
            return {state.holder} & live if state.holder is not None else set()
        out = set()
        for c in live:
            other = peer_of(plan, c)
            if other is not None and other in partners and c not in state.alone:
                continue  # a synchronous pair out of sync (peer lost or cut): writes freeze
            out.add(c)
        return out

    def in_sync(self, state: SystemState) -> bool:
        """An active-active pair writing on both sides, synchronously."""
        plan = state.plan
        if plan.mode != "active-active" or len(plan.home) != 2 or state.alone:
            return False
        if state.winner >= 0:  # a decision split the pair: only failback rejoins it
            return False
        a, b = plan.home
        live = state.primaries - state.fenced
        return {a, b} <= live and self.net.sync_ok(a, b)

    def split(self, state: SystemState, writers: set[int]) -> bool:
        """Whether ``writers`` (the writable centres) are a split brain."""
        plan = state.plan
        return (
            plan.managed
            and len(writers) >= 2
            and not (self.in_sync(state) and writers <= set(plan.home))
        )

    def take_lock(self, state: SystemState, c: int) -> str:
        """Grant the witness lock to ``c`` ("" when granted, else why not)."""
        if self.witness is None:
            return ""
        self._check_lock(state)
        if state.holder is not None and state.holder != c:
            return f"the witness lock is held by {self.centres[state.holder]}"
        if not self.net.reaches_witness(c):
            return f"{self.centres[c]} cannot reach the witness"
        state.holder = c
        return ""

    def _check_lock(self, state: SystemState) -> None:
        if state.holder is not None and not self._lock_valid(state, state.holder):
            state.holder = None
        if state.holder is None:
            self._reacquire(state)

    def _reacquire(self, state: SystemState) -> None:
        """A lock left free (its holder died) goes back to the system's one primary once it
        is alive and reaches the witness: a single-centre system restarted at home after a
        repair serves again without a decision (nothing else can have taken over, or it would
        hold the lock). A pair side needs a decision (it holds ``alone``)."""
        candidates = [c for c in state.primaries - state.fenced if self.net.alive[c]]
        if len(candidates) != 1:
            return
        c = candidates[0]
        if peer_of(state.plan, c) is not None and c not in state.alone:
            return
        if self.net.reaches_witness(c):
            state.holder = c

    def _lock_valid(self, state: SystemState, c: int) -> bool:
        """A holder keeps the lock while alive and in touch with the witness, or with every
        other voter of its system (a failsafe: no one else can have taken over)."""
        if not self.net.alive[c]:
            return False
        if self.net.reaches_witness(c):
            return True
        voters = _voters(state.plan, c)
        return bool(voters) and all(self.net.can_tell(c, v) for v in voters)


def _voters(plan: SystemPlan, c: int) -> list[int]:
    """The other centres whose contact keeps ``c``'s lock without the witness."""
    others = {*plan.home, plan.standby_dc, plan.restore_to if plan.backup else -1}
    return sorted(x for x in others if x >= 0 and x != c)
