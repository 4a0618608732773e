"""Failure scenarios: the fault control, scenario files, the timeline runner and `wayfinder scenario`."""
