"""kube-scheduler's shape: a framework of plugins, a queue and a scheduling cycle.

- :mod:`.framework`: the plugin interfaces (filter, score, post-filter), a template's plan,
  a failed cycle's diagnosis and :data:`PLUGINS`, every plugin class by name;
- :mod:`.profile`: scheduling profiles and kube-scheduler's default plugins;
- :mod:`.queue`: the active queue and the unschedulable pods, with their queueing hints;
- :mod:`.cycle`: :class:`Scheduler`, one scheduling cycle after another;
- :mod:`.explain`: the diagnosis of the filters and explanations of a cycle;
- :mod:`.plugins`: the in-tree plugins, one module each (DefaultPreemption is the
  post-filter), registered when imported, as this package does.

The framework imports no plugin: a profile names its plugins and the scheduler looks them
up in :data:`PLUGINS`.
"""

from cloudsim.containers.scheduler import plugins
from cloudsim.containers.scheduler.cycle import MAX_PLANS, Scheduler, num_feasible_nodes_to_find
from cloudsim.containers.scheduler.explain import Explanation
from cloudsim.containers.scheduler.framework import (
    PLUGINS,
    Diagnosis,
    Failure,
    FilterPlugin,
    Handle,
    Plugin,
    PostFilterPlugin,
    ScorePlugin,
    fit_error,
    register_plugin,
)
from cloudsim.containers.scheduler.profile import (
    DEFAULT_FILTERS,
    DEFAULT_POST_FILTER,
    DEFAULT_WEIGHTS,
    Profile,
)
from cloudsim.containers.scheduler.queue import SchedulingQueue, Unschedulable

__all__ = [
    "DEFAULT_FILTERS",
    "DEFAULT_POST_FILTER",
    "DEFAULT_WEIGHTS",
    "MAX_PLANS",
    "PLUGINS",
    "Diagnosis",
    "Explanation",
    "Failure",
    "FilterPlugin",
    "Handle",
    "Plugin",
    "PostFilterPlugin",
    "Profile",
    "Scheduler",
    "SchedulingQueue",
    "ScorePlugin",
    "Unschedulable",
    "fit_error",
    "num_feasible_nodes_to_find",
    "plugins",
    "register_plugin",
]
