"""The DR controller's parts."""
