"""The generic route crash hook (route.crash): a share of one handler's answers become a crash.

web.py asks `crashes(route)` after the handler ran, like a bug in the response path: the request
carries everything the handler learnt (its route, its labels) into the 500, as a real bug would.
The decision is taken here and the raise happens in web.py, so the stack trace a trainee sees
names neither this module nor the hook.
"""

from __future__ import annotations

import random

from wayfinder_common.faulthooks import CrashParams
from wayfinder_common.faultstate import fault_reader

_random = random.Random()


def crashes(route: object) -> bool:
    """Whether this answer of `route` (the router's matched route, None for a 404) should crash."""
    name = getattr(route, "name", None)
    if not isinstance(name, str):
        return False
    crash = fault_reader().params("route.crash", name)
    return isinstance(crash, CrashParams) and _random.random() < crash.crash_rate
