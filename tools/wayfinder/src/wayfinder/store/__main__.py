"""`python -m wayfinder.store`: run the OTLP/HTTP receiver in the foreground over a SQLite file.

Stops cleanly (exit 0) on SIGTERM or SIGINT, after the exports in progress are stored.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from wayfinder.store.db import TelemetryStore
from wayfinder.store.forward import OTLPForwarder
from wayfinder.store.retention import Retention, parse_duration, parse_size
from wayfinder.store.server import OTLPReceiver


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wayfinder.store",
        description="Receive OTLP/HTTP (traces, metrics, logs) into a SQLite telemetry store.",
    )
    parser.add_argument("--db", default="wayfinder-telemetry.db", help="SQLite file to write")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=4318, help="port (0 picks a free one)")
    parser.add_argument(
        "--forward",
        default=None,
        metavar="URL",
        help="also send every accepted export to this OTLP/HTTP base URL (WAYFINDER_OTLP_FORWARD)",
    )
    defaults = Retention()
    parser.add_argument(
        "--max-age",
        type=parse_duration,
        default=defaults.max_age_s,
        help="keep this much history, e.g. 2h (0: no age bound)",
    )
    parser.add_argument(
        "--max-size",
        type=parse_size,
        default=defaults.max_bytes,
        help="keep the store under this size, e.g. 512MB (0: no size bound)",
    )
    parser.add_argument(
        "--prune-interval", type=parse_duration, default=defaults.interval_s, help="how often to prune"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before the socket opens, so a SIGTERM right after start-up is not fatal.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    forwarder = OTLPForwarder(args.forward) if args.forward else None
    retention = Retention(args.max_age, args.max_size, args.prune_interval)
    with (
        TelemetryStore(args.db) as store,
        OTLPReceiver(store, args.host, args.port, forwarder=forwarder, retention=retention) as receiver,
    ):
        # One line for humans and for scripts that parse the chosen port.
        print(f"wayfinder store: OTLP/HTTP on {receiver.endpoint} -> {args.db}", flush=True)
        if forwarder is not None:
            print(f"wayfinder store: forwarding every export to {forwarder.endpoint}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
