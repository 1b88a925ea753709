"""The search for the fewest hosts (or the lowest cost) that answer the plan's question.

Deterministic, and every candidate is tested by packing (:mod:`.pack`), never by a run:

1. **Grow**: from today's counts, pack the growth check (the peak month, no failure) and each
   failure set; the first check that fails names the cloud hosts that found no room, each is
   charged to the plannable pool that could take it at the lowest price (``hosts``: most of
   them per host; ``cost``: the lowest yearly cost per slot), that pool gets the hosts it
   lacks, and the checks run again.
2. **Shrink**: each plannable pool in turn (the dearest first) is cut to the fewest hosts
   with which every check still passes (a binary search, then a step down while the next
   smaller count passes), never below today's count unless its rule allows shrinking.
3. **Minimality**: with one host fewer in each pool the plan changed, the first check that
   fails and what it could not place are the pool's binding constraint.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np

from cloudsim.composition import world_of
from cloudsim.dr.plan import SystemPlan, build_plan
from cloudsim.engine import Simulation
from cloudsim.errors import PlanError
from cloudsim.kernel.kernel import default_placer
from cloudsim.placement.core import Request
from cloudsim.planning.demand import Demand, MonthDemand, tenant_demand
from cloudsim.planning.pack import GrowthGroup, Packer, PackState, Shortfall
from cloudsim.scenario.plan import PLANNABLE_PURPOSES, PlanQuestion, PoolRule
from cloudsim.scenario.schema import HostGroup, Pool, Scenario
from cloudsim.world import World, compile_world
from cloudsim.world.inventory import make_request

#: Ceiling of a growth group: today's hosts × this + a margin (doubled when reached).
CEILING_FACTOR = 2
CEILING_MARGIN = 16
MAX_CEILING = 1_000_000
MAX_ROUNDS = 400
#: A shortfall still there after this many rounds of added hosts is one hosts cannot fix.
STALL_ROUNDS = 12


@dataclass(frozen=True)
class Check:
    """One condition of the plan: the growth (no failure) or the loss of a failure set."""

    name: str
    failed: frozenset[int]


@dataclass(frozen=True)
class Failure:
    """Why a candidate fails: the check and what found no room there."""

    check: str
    shortfalls: tuple[Shortfall, ...]
    tenant_allowed: int = 0
    month: int = 0


@dataclass(frozen=True)
class Unplaceable:
    """Cloud hosts no pool the plan may grow can take, with the filter that rules them out."""

    check: str
    system: int
    kind: str
    count: int
    reason: str


def failure_sets(scenario: Scenario, question: PlanQuestion) -> list[tuple[str, list[str]]]:
    """(name, centres) of each failure set the plan must survive."""
    survive = question.survive
    if survive == "none":
        return []
    centres = [(dc.name, [dc.name]) for dc in scenario.datacenters]
    if survive == "datacenter":
        return centres
    if survive == "site":  # a plan that survives a site survives each of its centres too
        sites = [
            (site.name, [dc.name for dc in scenario.datacenters if dc.site == site.name])
            for site in scenario.sites
        ]
        return centres + [(n, dcs) for n, dcs in sites if len(dcs) > 1]
    return [(f.name, list(f.datacenters)) for f in survive]


def pool_rule(question: PlanQuestion, pool: Pool) -> PoolRule | None:
    """The first rule matching ``pool``; None for pools the plan does not change."""
    if pool.purpose not in PLANNABLE_PURPOSES:
        return None
    return next((r for r in question.pools if fnmatchcase(pool.name, r.match)), None)


def growth_class(rule: PoolRule, pool: Pool) -> str:
    return rule.host_class or pool.hosts[-1].host_class


def growth_index(pool: Pool, host_class: str) -> int:
    """The host group a plan changes: the pool's last group when it is of ``host_class``
    and its hosts have no names of their own; -1 otherwise (the plan appends a group, so
    no host of the pool is renamed: generated names count across groups, and an imported
    estate's named hosts are kept as they are)."""
    last = pool.hosts[-1]
    return len(pool.hosts) - 1 if last.host_class == host_class and last.names is None else -1


def with_growth(scenario: Scenario, question: PlanQuestion, counts: dict[str, int]) -> Scenario:
    """``scenario`` whose plannable pools' growth groups hold ``counts`` hosts (by pool)."""
    pools = []
    for pool in scenario.pools:
        rule = pool_rule(question, pool)
        if rule is None or pool.name not in counts:
            pools.append(pool)
            continue
        cls = growth_class(rule, pool)
        groups = list(pool.hosts)
        last = growth_index(pool, cls)
        if last < 0:
            groups.append(HostGroup(host_class=cls, count=counts[pool.name]))
        else:
            groups[last] = HostGroup(host_class=cls, count=counts[pool.name])
        pools.append(pool.model_copy(update={"hosts": groups}))
    return scenario.model_copy(update={"pools": pools})


def today_counts(scenario: Scenario, question: PlanQuestion) -> dict[str, int]:
    """Today's hosts of each plannable pool's growth group, by pool."""
    out = {}
    for pool in scenario.pools:
        rule = pool_rule(question, pool)
        if rule is None:
            continue
        last = growth_index(pool, growth_class(rule, pool))
        out[pool.name] = pool.hosts[last].count if last >= 0 else 0
    return out


class Planner:
    """Holds the ceiling world, the demand and a cache of evaluated candidates."""

    def __init__(
        self,
        scenario: Scenario,
        question: PlanQuestion,
        seed: int | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.question = question
        self.seed = scenario.meta.seed if seed is None else seed
        self.say = progress or (lambda text: None)
        self.world = world_of(scenario)
        self.plans: list[SystemPlan] = build_plan(self.world)
        self.rules = {p.name: pool_rule(question, p) for p in scenario.pools}
        self.now = today_counts(scenario, question)
        self.names = list(self.now)
        names = self.world.datacenters
        sets = failure_sets(scenario, question)
        self.checks = [Check("growth", frozenset())] + [
            Check(name, frozenset(names.index_of(dc) for dc in dcs)) for name, dcs in sets
        ]
        self.say("time 0: declared cloud hosts, node VMs, warm standbys")
        sim = Simulation(self.world, self.seed)
        vms = sim.platform.vms
        rows = np.flatnonzero(vms.live)  # before start: the container platform's node VMs
        nodes: dict[tuple[int, tuple[int, ...], int], int] = {}
        for row in rows:
            key = (
                int(vms.ints["system"][row]),
                tuple(int(x) for x in vms.demand[:, row]),
                int(vms.ints["datacenter"][row]),
            )
            nodes[key] = nodes.get(key, 0) + 1
        self.nodes = [(s, d, c, n) for (s, d, c), n in sorted(nodes.items())]
        base = self.world.hosts
        changed = np.flatnonzero(sim.hosts.purpose != base.purpose)
        self.taken = {base.names[h]: int(sim.hosts.purpose[h]) for h in changed}
        sim.start()
        self.say("the tenants' demand over the horizon")
        self.demand: Demand = tenant_demand(
            self.world, question.years, self.seed, sim.platform.usage.copy()
        )
        self.peak: MonthDemand = self.demand.peak
        #: The months whose peaks the growth check packs (the overall peak first; months
        #: found short at a solution are added, see :meth:`solve`).
        self.months: list[MonthDemand] = [self.peak]
        self.ceiling = {
            name: max(n * CEILING_FACTOR + CEILING_MARGIN, CEILING_MARGIN)
            for name, n in self.now.items()
        }
        self.unplaceable: list[Unplaceable] = []
        self._ignored: set[tuple[str, str, int]] = set()
        self._stalled: dict[tuple[str, str, int], tuple[int, int]] = {}
        self._round = 0
        self._build()

    # -- the ceiling world -------------------------------------------------------------------
    def _build(self) -> None:
        scenario = with_growth(self.scenario, self.question, self.ceiling)
        world = compile_world(scenario)
        hosts = world.hosts
        groups = []
        for name in self.names:
            p = world.pools.index_of(name)
            rule = self.rules[name]
            assert rule is not None
            pool = scenario.pools[p]
            cls = growth_class(rule, pool)
            last = growth_index(pool, cls)
            first_of_pool = int(np.flatnonzero(hosts.pool == p)[0]) if self.ceiling[name] else 0
            start = first_of_pool + sum(g.count for g in pool.hosts[:last])
            groups.append(GrowthGroup(p, cls, start, self.ceiling[name], self.now[name]))
        index = {n: i for i, n in enumerate(hosts.names)}
        purposes = {index[n]: v for n, v in self.taken.items() if n in index}
        self.ceiling_world: World = world
        self.groups = groups
        self.packer = Packer(
            world, groups, self.plans, default_placer(self.world), self.nodes, purposes, self.seed
        )
        self._normal: dict[tuple[tuple[int, ...], int], PackState] = {}
        self._verdicts: dict[tuple[int, ...], Failure | None] = {}
        self._free_placer = default_placer(self.world)(world.hosts.copy(), np.random.default_rng(0))

    def _grow_ceiling(self, wanted: dict[str, int]) -> None:
        for name, k in wanted.items():
            while k > self.ceiling[name]:
                if self.ceiling[name] >= MAX_CEILING:
                    raise PlanError(f"pool {name} would need more than {MAX_CEILING:,} hosts")
                self.ceiling[name] = min(self.ceiling[name] * 2, MAX_CEILING)
        self.say("a larger ceiling")
        self._build()

    # -- evaluating a candidate --------------------------------------------------------------
    def normal(self, counts: tuple[int, ...], month: MonthDemand) -> PackState:
        key = (counts, month.month)
        state = self._normal.get(key)
        if state is None:
            state = self.packer.normal(counts, month)
            if len(self._normal) > 64:
                self._normal.clear()
            self._normal[key] = state
        return state

    def _kept(self, check: str, shortfalls: list[Shortfall]) -> list[Shortfall]:
        return [s for s in shortfalls if (check, s.kind, s.system) not in self._ignored]

    def growth_failure(self, counts: tuple[int, ...], month: MonthDemand) -> Failure | None:
        """The growth check at one month's peak: every declared cloud host, node VM and
        warm standby placed, and at most ``max_reject`` of the tenants' refused."""
        normal = self.normal(counts, month)
        allowed = math.floor(self.question.max_reject * normal.tenant_vms + 1e-9)
        hard = self._kept("growth", normal.hard())
        tenant = self._kept("growth", [s for s in normal.shortfalls if s.kind == "tenant"])
        if hard or sum(s.count for s in tenant) > allowed:
            return Failure("growth", tuple(hard + tenant), allowed, month.month)
        return None

    def evaluate(self, counts: tuple[int, ...]) -> Failure | None:
        """None when every check passes, else the first failing check's shortfalls."""
        if counts in self._verdicts:
            return self._verdicts[counts]
        verdict: Failure | None = None
        for month in self.months:
            verdict = self.growth_failure(counts, month)
            if verdict is not None:
                break
        if verdict is None:
            normal = self.normal(counts, self.peak)
            for check in self.checks[1:]:
                after = self.packer.failure(normal, check.failed)
                kept = self._kept(check.name, after.hard())
                if kept:
                    verdict = Failure(check.name, tuple(kept), 0, self.peak.month)
                    break
        self._verdicts[counts] = verdict
        return verdict

    # -- charging shortfalls to pools --------------------------------------------------------
    def _candidates(self, shortfall: Shortfall, failed: frozenset[int]) -> list[int]:
        """Growth groups whose hosts could take the shortfall's VMs (by the static filters
        and the size of one empty host)."""
        profile = self.world.profiles[shortfall.system]
        demand = np.array(shortfall.demand, dtype=np.int64)
        req: Request = make_request(profile, demand, shortfall.centres)
        if shortfall.purposes is not None:
            req = dataclasses.replace(req, purposes=shortfall.purposes)
        mask = self._free_placer.static_mask(req)
        hosts = self.ceiling_world.hosts
        out = []
        for g, group in enumerate(self.groups):
            rule = self.rules[self.names[g]]
            if rule is None or not rule.grow or group.ceiling == 0:
                continue
            h = group.start
            if int(hosts.datacenter[h]) in failed or not mask[h]:
                continue
            if self._slots(g, demand, anti_affinity=False) == 0:
                continue
            out.append(g)
        return out

    def _slots(self, g: int, demand: np.ndarray, anti_affinity: bool) -> int:
        limit = self.ceiling_world.hosts.limit[:, self.groups[g].start]
        need = demand > 0
        if not need.any():
            return 1 << 30
        slots = int((limit[need] // demand[need]).min())
        return min(slots, 1) if anti_affinity else slots

    def _unit_cost(self, g: int) -> float:
        """Yearly cost of one host of the group (capital amortised + power at peak)."""
        costs = self.question.costs
        group = self.groups[g]
        cls = next(c for c in self.scenario.host_classes if c.name == group.host_class)
        pool = self.scenario.pools[group.pool]
        dc = next(d for d in self.scenario.datacenters if d.name == pool.datacenter)
        capital = costs.host_classes.get(cls.name, 0.0) / costs.amortise_years
        power = cls.power_peak_w / 1000 * dc.pue * 8760 * costs.power_price_kwh
        return capital + power

    def _give_up(self, check: Check, shortfall: Shortfall, count: int, why: str) -> None:
        """Record cloud hosts no plan can carry, and leave them out of every verdict."""
        self.unplaceable.append(
            Unplaceable(check.name, shortfall.system, shortfall.kind, count, why)
        )
        self._ignored.add((check.name, shortfall.kind, shortfall.system))
        self._verdicts.clear()  # verdicts counted it

    def _charge(self, failure: Failure, counts: list[int]) -> bool:
        """Add to ``counts`` the hosts the failure's shortfalls lack; False when none of
        them can be charged to any pool (they are recorded as unplaceable)."""
        check = next(c for c in self.checks if c.name == failure.check)
        adds: dict[int, int] = {}
        self._round += 1
        tenant_excess = sum(s.count for s in failure.shortfalls if s.kind == "tenant")
        tenant_excess -= failure.tenant_allowed
        charged = False
        for shortfall in failure.shortfalls:
            count = shortfall.count
            if shortfall.kind == "tenant":
                if tenant_excess <= 0:
                    continue
                count = min(count, tenant_excess)
                tenant_excess -= count
            key = (check.name, shortfall.kind, shortfall.system)
            seen = self._stalled.get(key, (0, 0))
            # charged in every round since: more hosts do not resolve it (racks, say)
            if seen[0] == self._round:  # another flavor of the same system, this round
                streak = seen[1]
            else:
                streak = seen[1] + 1 if seen[0] == self._round - 1 else 1
            self._stalled[key] = (self._round, streak)
            cands = self._candidates(shortfall, check.failed)
            if streak > STALL_ROUNDS:
                why = f"{shortfall.reason}, whatever the hosts added (after {STALL_ROUNDS} rounds)"
                self._give_up(check, shortfall, count, why)
                continue
            if not cands:
                why = f"no pool the plan may grow can take it ({shortfall.reason})"
                self._give_up(check, shortfall, count, why)
                continue
            demand = np.array(shortfall.demand, dtype=np.int64)
            aa = (
                shortfall.anti_affinity and self.world.profiles[shortfall.system].anti_affinity == 1
            )

            def price(g: int, demand: np.ndarray = demand, aa: bool = aa) -> tuple[float, str]:
                slots = self._slots(g, demand, aa)
                if self.question.objective == "cost":
                    return (self._unit_cost(g) / slots, self.names[g])
                return (1.0 / slots, self.names[g])

            g = min(cands, key=price)
            adds[g] = adds.get(g, 0) + math.ceil(count / self._slots(g, demand, aa))
            charged = True
        for g, n in adds.items():
            counts[g] += n
        return charged

    # -- the search --------------------------------------------------------------------------
    def today(self) -> tuple[int, ...]:
        return tuple(self.now[n] for n in self.names)

    def floor(self, g: int) -> int:
        rule = self.rules[self.names[g]]
        return 0 if rule is not None and rule.shrink else self.now[self.names[g]]

    def grow(self, start: tuple[int, ...] | None = None) -> tuple[int, ...]:
        counts = list(start if start is not None else self.today())
        for round_ in range(MAX_ROUNDS):
            failure = self.evaluate(tuple(counts))
            if failure is None:
                return tuple(counts)
            self.say(f"grow {round_ + 1}: {failure.check} lacks room")
            before = list(counts)
            if not self._charge(failure, counts) and counts == before:
                continue  # only unplaceable shortfalls: ignored from now on
            over = {self.names[g]: k for g, k in enumerate(counts) if k > self.groups[g].ceiling}
            if over:
                self._grow_ceiling(over)
        raise PlanError(f"no plan found in {MAX_ROUNDS} rounds of growth")

    def shrink(self, counts: tuple[int, ...]) -> tuple[int, ...]:
        order = sorted(
            range(len(self.names)),
            key=lambda g: (-self._unit_cost(g), -counts[g], self.names[g]),
        )
        current = list(counts)
        for _ in range(3):
            changed = False
            for g in order:
                lo, hi = self.floor(g), current[g]
                if lo >= hi:
                    continue
                self.say(f"shrink {self.names[g]}")
                while lo < hi:  # the smallest feasible count in [lo, hi]; hi is feasible
                    mid = (lo + hi) // 2
                    trial = list(current)
                    trial[g] = mid
                    if self.evaluate(tuple(trial)) is None:
                        hi = mid
                    else:
                        lo = mid + 1
                while hi > self.floor(g):  # packing is not always monotone: step on down
                    trial = list(current)
                    trial[g] = hi - 1
                    if self.evaluate(tuple(trial)) is not None:
                        break
                    hi -= 1
                if hi != current[g]:
                    current[g] = hi
                    changed = True
            if not changed:
                break
        return tuple(current)

    def binding(self, counts: tuple[int, ...], g: int) -> Failure | None:
        """What breaks with one host fewer in group ``g`` (None: nothing, or at its floor)."""
        if counts[g] <= self.floor(g):
            return None
        trial = list(counts)
        trial[g] -= 1
        return self.evaluate(tuple(trial))

    def solve(self) -> tuple[int, ...]:
        """Grow, shrink, then pack every month's peak at the answer: months found short
        join the growth check and the search goes on from there, until none is."""
        counts = self.today()
        for _ in range(len(self.demand.months) + 1):
            counts = self.shrink(self.grow(counts))
            short = [
                m for m in self.demand.months
                if m not in self.months and self.growth_failure(counts, m) is not None
            ]  # fmt: skip
            if not short:
                return counts
            self.say(f"{len(short)} more months to check")
            self.months += short
            self._verdicts.clear()
        raise PlanError("the search did not settle over the months of the horizon")
