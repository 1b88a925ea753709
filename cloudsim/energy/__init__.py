"""Energy and cost from utilisation: a module with its own ``energy`` section.

- :mod:`~cloudsim.energy.schema`: the section (profiles, traces, power curves, PUE,
  prices, capital, chargeback);
- :mod:`~cloudsim.energy.trace`: OpenDC/Bitbrains VM utilisation traces;
- :mod:`~cloudsim.energy.design`: the section compiled against the world;
- :mod:`~cloudsim.energy.module`: :class:`EnergyModule`, the controller and its results.
"""

from cloudsim.energy.module import EnergyModule
from cloudsim.energy.schema import Energy

__all__ = ["Energy", "EnergyModule"]
