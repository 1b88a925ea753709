"""Endpoints: wakes when starting pods become ready, so service accounting and the HPAs
see them at that instant."""

from __future__ import annotations

import math

from cloudsim.containers.controllers.base import Controller


class Endpoints(Controller):
    """Wakes when a starting pod becomes ready (services and HPAs see it at once)."""

    def due(self, now: float) -> float:
        if self.trigger.poked:
            return now
        return min((cs.next_ready(now) for cs in self.plane.clusters), default=math.inf)

    def step(self, now: float) -> None:
        self.plane.changed(now, readiness_only=True)
