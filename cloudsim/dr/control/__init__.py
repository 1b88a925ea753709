"""The DR controller and its parts (see :mod:`cloudsim.dr.control.controller`)."""

from cloudsim.dr.control.controller import DRController

__all__ = ["DRController"]
