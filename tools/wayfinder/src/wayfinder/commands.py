"""The list of areas that add sub-commands to `wayfinder`; each exposes `register(subparsers)`."""

from __future__ import annotations

REGISTRARS: list = []
