"""Named random streams: one generator per name, a function of (seed, name) only.

Common random numbers: adding a stream, or drawing more from one, never changes what the
others draw, so a change of placement policy does not change which failures happen.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

#: Streams of the kernel's own parts (the platform's placer).
CORE_STREAMS: tuple[str, ...] = ("placement",)


def random_stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` for run ``seed``."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


class Streams:
    """The run's streams; each name is declared once (by the kernel or one module)."""

    def __init__(self, seed: int, names: Iterable[str]) -> None:
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}
        for name in names:
            if name in self._streams:
                raise ValueError(f"random stream {name!r} is declared twice")
            self._streams[name] = random_stream(seed, name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._streams)

    def __getitem__(self, name: str) -> np.random.Generator:
        try:
            return self._streams[name]
        except KeyError:
            raise KeyError(
                f"random stream {name!r} was not declared (a module lists the streams it "
                f"uses in its 'streams'; declared: {', '.join(self._streams)})"
            ) from None
