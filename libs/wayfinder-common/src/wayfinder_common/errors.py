"""The domain error hierarchy every service raises below its `api` layer.

    WayfinderError                      (500 internal_error)
    ├── InvalidRequest                  (400/422: the caller sent something we cannot act on)
    ├── NotFound                        (404: unknown_sku, unknown_account, order_not_found)
    ├── Conflict                        (409: out_of_stock, idempotency_key_reused, request_in_progress)
    ├── PaymentDeclined                 (402: payment_declined)
    └── DependencyUnavailable           (503: database/inventory/payment/provider unavailable)

Each carries a stable `code` (the JSON `error` field, a bounded `error.type` on spans) and
`status`; `web.install_error_handlers` is the only place they become HTTP responses.

`Outcome` is a request's result decided once (status + code): the response, the span status
and every metric label read the same value instead of deciding it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

SUCCESS = "success"
INTERNAL_ERROR = "internal_error"


class WayfinderError(Exception):
    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details


class InvalidRequest(WayfinderError):
    status = 400
    default_code = "validation_failed"


class NotFound(WayfinderError):
    status = 404
    default_code = "not_found"


class Conflict(WayfinderError):
    status = 409
    default_code = "conflict"


class PaymentDeclined(WayfinderError):
    status = 402
    default_code = "payment_declined"


class DependencyUnavailable(WayfinderError):
    status = 503
    default_code = "dependency_unavailable"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after_s: int = 1, details: Any = None
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s


def error_body(code: str, message: str, details: Any = None, trace_id: str | None = None) -> dict:
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    if trace_id:
        body["trace_id"] = trace_id
    return body


@dataclass(frozen=True)
class Outcome:
    """How a request ended: its HTTP status and `code` ("success" or the stable error code)."""

    status: int
    code: str

    @property
    def failed(self) -> bool:
        return self.code != SUCCESS

    @property
    def server_fault(self) -> bool:
        """Ours to fix (5xx). A 4xx is the caller's outcome: an answer, not a server error."""
        return self.status >= 500

    @classmethod
    def of_error(cls, exc: WayfinderError) -> Outcome:
        return cls(exc.status, exc.code)

    @classmethod
    def unexpected(cls) -> Outcome:
        return cls(500, INTERNAL_ERROR)

    @classmethod
    def of_status(cls, status: int) -> Outcome:
        """For a response no error handler settled: a success, or a bare HTTP error."""
        if status < 400:
            return cls(status, SUCCESS)
        # Framework answers (405, an HTTPException) carry no domain code: the registry's fallback.
        return cls(status, INTERNAL_ERROR if status >= 500 else "error")
