"""HorizontalPodAutoscaler: Kubernetes' algorithm, vectorised over every HPA of a run.

One call of :meth:`Autoscalers.step` is one sync of every HPA, as kube-controller-manager's
horizontal controller does it (pkg/controller/podautoscaler), integer arithmetic included:

1. **Replica calculator** (``GetResourceReplicas``): utilisation is
   ``floor(usage x 100 / requests)`` over the ready pods (an integer percentage), the ratio
   is utilisation / target (or, for an average-value target, ``floor(usage / pods) /
   target``), and ``desired = ceil(ratio x ready)`` unless ``|1 - ratio| <= tolerance``.
   Pending and starting pods (unready) count as using nothing when scaling up; pods without
   metrics (on a NotReady node) count as using 100 % of their request (at least the
   target) when scaling down and nothing when scaling up; if that reverses the direction
   or lands within the tolerance, the HPA keeps the current count. No ready pod: no metrics,
   no decision.
2. **Stabilisation**: the recommendation is kept within the minimum of the raw
   recommendations of the scale-up window and the maximum of those of the scale-down window
   (default 0 s and 300 s), the current raw recommendation included.
3. **Rate limits** (``behavior`` policies): a scale-up goes no higher than what the policies
   allow from the replicas at the start of each policy's period (``Pods``: + value;
   ``Percent``: x (1 + value/100) rounded up; ``Max``: the most permissive policy), a
   scale-down no lower (``Percent``: x (1 - value/100) truncated); then min/max replicas.

Defaults (autoscaling/v2): scale up by the larger of 100 % and 4 pods per 15 s, scale down
by 100 % per 15 s after a 300 s stabilisation window.

:meth:`Autoscalers.forecast` runs the syncs ahead at once. It needs the first one that
changes some HPA's replicas, not every stabilised recommendation: a sync scales up when
every raw recommendation of the scale-up window (and every recorded one still inside) is
above the replicas and the policies allow more, down when every one of the scale-down
window is below and they allow fewer, so windows are checked with running indices (the
last sync that is not beyond), and the replicas are worked out for that one sync only.
When the forecast provably equals stepping (every sync before it had metrics, whole
seconds), :meth:`Autoscalers.apply` runs that sync from it.

Modules: :mod:`.calculator` (1), :mod:`.stabilisation` (2, and the recorded
recommendations), :mod:`.limits` (3, and the scale events), :mod:`.forecast` (the syncs
ahead), :mod:`.rules` (the behaviour as arrays and what they imply) and
:mod:`.autoscalers`, which puts them together.
"""

from cloudsim.containers.hpa.autoscalers import Autoscalers
from cloudsim.containers.hpa.forecast import Forecast

__all__ = ["Autoscalers", "Forecast"]
