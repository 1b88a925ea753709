"""The platform every module acts on: cloud hosts on the run's host table, quotas, local HA."""

from cloudsim.platform.ha import LocalHA
from cloudsim.platform.platform import QUOTA_KINDS, Platform

__all__ = ["QUOTA_KINDS", "LocalHA", "Platform"]
