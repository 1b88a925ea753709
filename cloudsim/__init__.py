"""cloudsim."""
