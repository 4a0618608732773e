"""Local mode: the shop's servers and processes on this machine, no Docker."""
