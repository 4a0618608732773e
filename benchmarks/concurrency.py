"""Throughput and tail latency under concurrent load, telemetry off and on, alternated in one run
so the machine's noise hits both sides (issue 10), and the same load with the telemetry
endpoint dead.

- Off: `TELEMETRY_ENABLED=false`, telemetry never set up (no provider, no instrumentor patched).
- On: the shipped defaults, every trace kept, exported to an OTLP/HTTP endpoint that answers 200
  without decoding anything (so the endpoint's own work is not on the shop's CPU). A separate
  short phase exports to the embedded store instead, to count spans, metric points and log
  records per checkout: the ratio cannot be bought by sampling.
- Dead: nothing listening, then a black hole that accepts connections and never answers; each
  one's p99 against the healthy (on) phases'.
- Order: off, on, closed, black hole, then the same in reverse, so each set-up sits at the same
  mean position in the run and a steady drift of the machine moves every side alike.
- CPU per checkout: utime + stime from /proc of every process of the shop (services, worker and
  its children, relay, provider, Postgres and its backends, Redis), before and after a phase.
- The load: CLIENTS threads in this process, each posting checkouts with fresh Idempotency-Keys
  across three regions back to back. Not Locust: its own CPU (gevent, stats) would compete with
  the shop for the machine's two cores; these threads mostly wait on sockets.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from wayfinder.local.config import LocalConfig, isolated_config
from wayfinder.local.processes import proc_stats
from wayfinder.local.stack import LocalStack
from wayfinder.store.db import TelemetryStore
from wayfinder.store.server import OTLPReceiver

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
PHASE_S = float(os.environ.get("BENCH_PHASE_S", "20"))
WARMUP_S = 5.0
REGIONS = ("us-east", "eu-west", "ap-south")
TICKS = os.sysconf("SC_CLK_TCK")
# Targets (issue 10): ratios within one run.
TARGET_THROUGHPUT = 0.90
TARGET_P99 = 1.15
TARGET_DEAD_P99 = 1.05


@dataclass
class Phase:
    name: str
    latencies_ms: list[float]
    failures: int
    seconds: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def p(self, q: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[q - 1] if len(self.latencies_ms) > 2 else 0.0

    @property
    def cpu_ms_per_checkout(self) -> float:
        return 1000 * self.cpu_s / max(1, len(self.latencies_ms))


class _Answer200(BaseHTTPRequestHandler):
    # Keep-alive, as a collector is: HTTP/1.0 would close every connection and make each export
    # open a new one (a cost a real endpoint does not impose; it showed in the first profiles).
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def null_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer200)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextmanager
def black_hole() -> Iterator[str]:
    """Accepts every connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@contextmanager
def shop_env(change: Callable[[dict[str, str]], dict[str, str]]) -> Iterator[None]:
    """Every shop process started meanwhile gets its environment passed through `change`.

    LocalStack passes no OTEL_* variable through from this process, on purpose (a stray one in
    a user's shell must not change the shop), so a benchmark that needs one (or a PYTHONPATH)
    adds it where the stack builds each process's environment."""
    original: Callable[[LocalStack, str], dict[str, str]] = LocalStack.service_env

    def changed(stack: LocalStack, service: str) -> dict[str, str]:
        return change(original(stack, service))

    LocalStack.service_env = changed  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalStack.service_env = original  # type: ignore[method-assign]


def _dead_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed again: nothing listens


def shop_cpu_seconds(stack: LocalStack) -> float:
    """utime + stime of every process of the shop, children included (from /proc)."""
    config = stack.config
    roots = {pid for name in stack.processes.names() if (pid := stack.processes.pid(name))}
    postmaster = next(config.home.rglob("postmaster.pid"), None)
    if postmaster is not None:
        roots.add(int(postmaster.read_text().split()[0]))
    stats = proc_stats()
    parent = {pid: ppid for pid, ppid, _, _ in stats}
    group = {pid: pgid for pid, _, pgid, _ in stats}

    def in_shop(pid: int) -> bool:
        seen = pid
        for _ in range(8):
            if seen in roots or group.get(seen) in roots:
                return True
            seen = parent.get(seen, 1)
            if seen <= 1:
                return False
        return False

    total = 0
    for pid, _, _, _ in stats:
        if in_shop(pid) or _is_redis(pid, config):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def _is_redis(pid: int, config: LocalConfig) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return f":{config.redis_port}" in command and ("redis" in command or "valkey" in command)


def drive(url: str, seconds: float, clients: int = CLIENTS) -> tuple[list[float], int]:
    """`clients` threads checking out back to back for `seconds`: (latencies ms, failures)."""
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            n = 0
            while time.monotonic() < deadline:
                n += 1
                body = {
                    "account_id": f"acct-000{1 + (index + n) % 3}",
                    "email": "bench@example.com",
                    "region": REGIONS[(index + n) % 3],
                    "items": [{"sku": "SKU-MUG", "quantity": 1}],
                    "payment": {"card_token": "tok_b"},
                }
                started = time.perf_counter()
                try:
                    answer = http.post("/checkout", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
                    ok = answer.status_code == 201
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        failures[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def run_phase(name: str, telemetry: bool, endpoint: str, root: Path, say: Callable[[str], None]) -> Phase:
    # A plain folder name: Postgres reads a comma in its socket directory as a list.
    config = isolated_config(root / re.sub(r"[^a-z0-9]+", "-", name), endpoint, "bench")
    os.environ["TELEMETRY_ENABLED"] = "true" if telemetry else "false"
    stack = LocalStack(config, report=lambda _: None)
    try:
        stack.up()
        drive(config.checkout_url, WARMUP_S)
        before = shop_cpu_seconds(stack)
        started = time.monotonic()
        latencies, failures = drive(config.checkout_url, PHASE_S)
        seconds = time.monotonic() - started
        cpu = shop_cpu_seconds(stack) - before
    finally:
        stack.down()
        os.environ.pop("TELEMETRY_ENABLED", None)
    phase = Phase(name, latencies, failures, seconds, cpu)
    say(
        f"  {name:<22} {phase.per_s:6.1f} checkouts/s  p50 {phase.p(50):6.0f}  p95 {phase.p(95):6.0f}"
        f"  p99 {phase.p(99):6.0f} ms  cpu {phase.cpu_ms_per_checkout:5.1f} ms/checkout  failed {failures}"
    )
    return phase


def signals_per_checkout(root: Path, say: Callable[[str], None]) -> dict[str, float]:
    """Spans, metric points and log records per checkout, counted by the embedded store."""
    store = TelemetryStore(root / "count.db")
    receiver = OTLPReceiver(store, port=0).start()
    try:
        config = isolated_config(root / "count", receiver.endpoint, "bench", metric_export_interval_ms=1000)
        stack = LocalStack(config, report=lambda _: None)
        try:
            stack.up()
            latencies, _ = drive(config.checkout_url, 5.0, clients=2)
        finally:
            stack.down()  # every process flushes its exporters on the way out
        spans, logs, points = len(store.spans()), len(store.logs()), len(store.metric_points())
    finally:
        receiver.stop()
        store.close()
    n = max(1, len(latencies))
    found = {"spans": spans / n, "metric points": points / n, "log records": logs / n}
    say("  per checkout: " + ", ".join(f"{v:.1f} {k}" for k, v in found.items()))
    return found


# One round in this order, the next in the reverse (A B C D, D C B A): every set-up's phases sit
# at the same mean position in the run, so a machine that drifts steadily over the run (one run
# fell phase after phase by a third) moves every side alike and no ratio takes the drift for a
# cost. Comparing each dead phase with the healthy phase just before it, as the first version
# did, left every dead phase one slot later than its reference (docs/performance.md, runs 4-7:
# a dead endpoint's p99 from 0.95 to 1.37 of healthy).
ORDER = ("off", "on", "endpoint closed", "endpoint black hole")


@contextmanager
def endpoint_for(setup: str, null: str) -> Iterator[str]:
    if setup == "endpoint closed":
        yield _dead_port()
    elif setup == "endpoint black hole":
        with black_hole() as hole:
            yield hole
    else:
        yield null


def rounds_order(rounds: int) -> list[tuple[str, int]]:
    """(set-up, round) for every phase, every second round in reverse."""
    order = []
    for n in range(1, rounds + 1):
        for setup in ORDER if n % 2 else reversed(ORDER):
            order.append((setup, n))
    return order


def main(say: Callable[[str], None] = print) -> bool:
    say(
        f"concurrent checkouts: {CLIENTS} clients, {PHASE_S:g} s per phase, off / on / endpoint closed"
        " / black hole, then the same in reverse"
    )
    phases: dict[str, list[Phase]] = {setup: [] for setup in ORDER}
    with tempfile.TemporaryDirectory() as tmp, null_endpoint() as null:
        root = Path(tmp)
        signals_per_checkout(root, say)
        for setup, n in rounds_order(2):
            with endpoint_for(setup, null) as endpoint:
                phases[setup].append(run_phase(f"{setup} #{n}", setup != "off", endpoint, root, say))
    found = Ratios.of(phases)
    say(f"  throughput on/off       {found.throughput:5.2f}  (target >= {TARGET_THROUGHPUT})")
    say(f"  p99 on/off              {found.p99:5.2f}  (target <= {TARGET_P99})")
    for setup, ratio in found.dead_p99.items():
        say(f"  p99 {setup + '/on':<19} {ratio:5.2f}  (target <= {TARGET_DEAD_P99})")
    say(f"  failed checkouts with the endpoint dead: {found.dead_failures} (target 0)")
    cpu = {setup: statistics.mean(p.cpu_ms_per_checkout for p in of) for setup, of in phases.items()}
    say(
        f"  cpu per checkout        off {cpu['off']:.1f} ms, on {cpu['on']:.1f} ms"
        f" ({cpu['on'] / cpu['off']:.2f}x), closed {cpu['endpoint closed']:.1f},"
        f" black hole {cpu['endpoint black hole']:.1f}"
    )
    return found.met


@dataclass
class Ratios:
    throughput: float
    p99: float
    dead_p99: dict[str, float]
    dead_failures: int

    @classmethod
    def of(cls, phases: dict[str, list[Phase]]) -> Ratios:
        """Each set-up's phases by their means: on against off, each dead endpoint against on."""
        off, on = phases["off"], phases["on"]

        def mean_p99(of: list[Phase]) -> float:
            return statistics.mean(p.p(99) for p in of)

        def ratio(a: float, b: float) -> float:
            return a / b if b else float("inf")  # a set-up with no checkout at all misses its target

        dead = {setup: of for setup, of in phases.items() if setup not in ("off", "on")}
        return cls(
            throughput=ratio(sum(p.per_s for p in on), sum(p.per_s for p in off)),
            p99=ratio(mean_p99(on), mean_p99(off)),
            dead_p99={setup: ratio(mean_p99(of), mean_p99(on)) for setup, of in dead.items()},
            dead_failures=sum(p.failures for of in dead.values() for p in of),
        )

    @property
    def met(self) -> bool:
        return (
            TARGET_THROUGHPUT <= self.throughput < float("inf")
            and self.p99 <= TARGET_P99
            and max(self.dead_p99.values()) <= TARGET_DEAD_P99
            and self.dead_failures == 0
        )
