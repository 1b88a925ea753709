"""The notification bus: modules tell each other what changed without knowing each other.

A topic is a name; subscribers are called synchronously, in the order they subscribed, with
the publisher's arguments (DR subscribes when it is built, the container cloud when it
starts: DR hears a failure first). Topics of the built-in modules:

- ``"outage"`` — ``(change, outage, time)``: change ``"begin"``, ``"end"`` or ``"noticed"``
  (a corruption found), ``outage`` a :class:`~cloudsim.records.Outage`; published by the
  faults module after the host table and local HA have been updated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Subscriber = Callable[..., None]


class Bus:
    """Topics and their subscribers."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {}

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._subscribers.setdefault(topic, []).append(subscriber)

    def publish(self, topic: str, *args: Any) -> None:
        for subscriber in self._subscribers.get(topic, ()):
            subscriber(*args)
