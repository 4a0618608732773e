"""The generic "bad release" fault hook (release.regression): one route slower in one version only.

The scenario runner restarts a service with a new service.version; this middleware slows the
named route only in a process running that version, so the regression follows the release.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from functools import cache

from fastapi import Request, Response

from wayfinder_common.faulthooks import RegressionParams
from wayfinder_common.faultstate import fault_reader
from wayfinder_common.settings import ServiceSettings

Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


@cache
def _route_pattern(route: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route)) + "$")


def release_regression(settings: ServiceSettings) -> Middleware:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        regression = fault_reader().params("release.regression", settings.service_name)
        if (
            isinstance(regression, RegressionParams)
            and regression.version == settings.service_version
            and _route_pattern(regression.route).match(request.url.path)
        ):
            await asyncio.sleep(regression.latency_ms / 1000)
        return await call_next(request)

    return middleware
