"""`make stack-smoke`: start the compose stack, place orders, check every link through each backend's own API.

Docker only, and never part of `make test`: without an engine it says so and exits 0 (skipped).
With one it runs `docker compose up --wait` (wayfinder.compose_mode), places a few orders at
checkout-api, then checks, each with a deadline:
  Tempo       GET /api/traces/<trace id>          the order's trace, with spans of several services
  Loki        GET /loki/api/v1/query_range        log lines carrying that trace id
  Prometheus  GET /api/v1/query, /query_exemplars  the checkout histogram, an exemplar whose trace
                                                   Tempo has (the link Grafana offers opens a trace)
              GET /api/v1/rules                    every rule group of prometheus/rules loaded, healthy
              GET /api/v1/status/config            external label grafana_url = the published Grafana
  Grafana     GET /api/datasources/uid/<uid>/health  every provisioned datasource answers OK
              GET /api/access-control/user/permissions  (no login) the anonymous user has datasources:explore
and stops the stack again. The response readers below are pure functions, unit-tested against
recorded responses in the documented formats (tests/stack/test_stack_smoke.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from wayfinder import compose_mode
from wayfinder.local.orders import place_order

ROOT = Path(__file__).resolve().parents[4]
RULES_DIR = ROOT / "prometheus" / "rules"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml"

# Host ports docker-compose.yml publishes on 127.0.0.1: (variable, default).
PORTS = {
    "grafana": ("GRAFANA_PORT", 3000),
    "checkout": ("CHECKOUT_API_PORT", 8080),
    "prometheus": ("PROMETHEUS_PORT", 9090),
    "tempo": ("TEMPO_PORT", 3200),
    "loki": ("LOKI_PORT", 3100),
}
ORDERS = 5
# The invoice job runs after the request; Tempo makes a trace searchable after trace_idle_period.
CHECK_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 3.0
SERVICES_IN_A_CHECKOUT = {"checkout-api", "inventory", "payment"}


# --- reading the backends' answers (pure) -------------------------------------------------------


def _attribute(attributes: Sequence[Mapping[str, Any]], key: str) -> str | None:
    for attribute in attributes:
        if attribute.get("key") == key:
            value = attribute.get("value") or {}
            found = value.get("stringValue")
            return str(found) if found is not None else None
    return None


def trace_spans_by_service(payload: Mapping[str, Any]) -> dict[str, int]:
    """Tempo's trace by id (OTLP JSON: `batches`, or `trace.batches`/`resourceSpans` in the v2
    API) -> span count per service.name."""
    trace = payload.get("trace", payload)
    batches = trace.get("batches") or trace.get("resourceSpans") or []
    counts: dict[str, int] = {}
    for batch in batches:
        service = _attribute((batch.get("resource") or {}).get("attributes", []), "service.name") or "?"
        scopes = batch.get("scopeSpans") or batch.get("instrumentationLibrarySpans") or []
        spans = sum(len(scope.get("spans", [])) for scope in scopes)
        if spans:
            counts[service] = counts.get(service, 0) + spans
    return counts


def loki_lines(payload: Mapping[str, Any]) -> list[tuple[dict[str, str], str]]:
    """Loki's query_range answer for a log query (resultType streams) -> (labels, line) pairs."""
    data = payload.get("data") or {}
    if payload.get("status") != "success" or data.get("resultType") != "streams":
        return []
    return [
        (dict(stream.get("stream", {})), str(value[1]))
        for stream in data.get("result", [])
        for value in stream.get("values", [])
    ]


def vector_values(payload: Mapping[str, Any]) -> list[float]:
    """Prometheus's instant query answer (resultType vector) -> the sample values."""
    data = payload.get("data") or {}
    if payload.get("status") != "success" or data.get("resultType") != "vector":
        return []
    return [float(sample["value"][1]) for sample in data.get("result", [])]


def _hex_trace_id(value: str) -> str:
    """A trace id as Tempo's API takes it: 32 hex digits (exemplars may carry base64 or hex)."""
    value = value.strip()
    if len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return value
    return raw.hex() if len(raw) == 16 else value


def exemplar_trace_ids(payload: Mapping[str, Any]) -> list[str]:
    """Prometheus's query_exemplars answer -> the trace ids the exemplars carry (OTLP ingest
    labels them `trace_id`, Tempo's metrics-generator `traceID`), newest first."""
    if payload.get("status") != "success":
        return []
    found: list[tuple[float, str]] = []
    for series in payload.get("data") or []:
        for exemplar in series.get("exemplars", []):
            labels = exemplar.get("labels", {})
            trace_id = labels.get("trace_id") or labels.get("traceID")
            if trace_id:
                found.append((float(exemplar.get("timestamp", 0)), _hex_trace_id(str(trace_id))))
    return [trace_id for _, trace_id in sorted(found, reverse=True)]


def rule_group_problems(expected: set[str], payload: Mapping[str, Any]) -> list[str]:
    """Prometheus's /api/v1/rules answer against the groups the rule files define."""
    if payload.get("status") != "success":
        return [f"rules API answered {payload.get('status')!r}"]
    groups = {group["name"]: group for group in (payload.get("data") or {}).get("groups", [])}
    problems = [f"rule group {name} is not loaded" for name in sorted(expected - set(groups))]
    for name in sorted(expected & set(groups)):
        rules = groups[name].get("rules", [])
        if not rules:
            problems.append(f"rule group {name} has no rules")
        for rule in rules:
            if rule.get("health") == "err":
                problems.append(f"rule {rule.get('name')} in {name}: {rule.get('lastError', 'error')}")
    return problems


def external_label(payload: Mapping[str, Any], name: str) -> str | None:
    """Prometheus's /api/v1/status/config answer -> one external label of the loaded config
    (the YAML Prometheus returns is the loaded config, environment variables already expanded)."""
    if payload.get("status") != "success":
        return None
    loaded = yaml.safe_load((payload.get("data") or {}).get("yaml", "")) or {}
    value = ((loaded.get("global") or {}).get("external_labels") or {}).get(name)
    return None if value is None else str(value)


def has_permission(payload: Mapping[str, Any], action: str) -> bool:
    """Grafana's GET /api/access-control/user/permissions (action -> scopes) holds `action`."""
    return action in payload


def datasource_health_problem(uid: str, status: int, payload: Mapping[str, Any]) -> str | None:
    """Grafana's GET /api/datasources/uid/<uid>/health -> None when the datasource is healthy."""
    if status == 200 and str(payload.get("status", "")).upper() == "OK":
        return None
    return f"datasource {uid}: HTTP {status}, {payload.get('status')}: {payload.get('message', '')}"


def expected_rule_groups(rules_dir: Path = RULES_DIR) -> set[str]:
    """The group names of every rule file Prometheus loads."""
    names: set[str] = set()
    for path in sorted(rules_dir.glob("*.yml")):
        names |= {group["name"] for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]}
    return names


def provisioned_datasource_uids(path: Path = DATASOURCES) -> list[str]:
    return [source["uid"] for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]]


def base_urls(project_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Where each published port is, as compose resolves it (shell over .env over default)."""
    settings = {**compose_mode.read_env_file(Path(project_dir) / compose_mode.ENV_FILE), **environ}
    return {
        name: f"http://127.0.0.1:{settings.get(var) or default}" for name, (var, default) in PORTS.items()
    }


# --- talking to the stack -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def get_json(url: str, auth: tuple[str, str] | None = None, timeout: float = 10.0) -> Answer:
    """GET a JSON API; connection errors and non-JSON bodies come back as status 0 / empty body."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback URLs)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return Answer(0, {})
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    return Answer(status, body if isinstance(body, dict) else {"data": body})


def wait_for(check: Callable[[], str | None], timeout_s: float = CHECK_TIMEOUT_S) -> str | None:
    """Run check until it returns None (passed) or the deadline; the last problem comes back."""
    deadline = time.monotonic() + timeout_s
    problem = check()
    while problem is not None and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
        problem = check()
    return problem


def _query(base: str, path: str, **params: str) -> str:
    return f"{base}{path}?{urllib.parse.urlencode(params)}"


def run_checks(urls: Mapping[str, str], password: str, out: TextIO) -> list[str]:
    """Place orders, then check each backend through its own API. Returns the failures."""
    trace_ids: list[str] = []
    for _ in range(ORDERS):
        result = place_order(
            urls["checkout"],
            str(uuid.uuid4()),
            region="eu-west",
            tier="pro",
            email="smoke.test@example.com",
            sku="SKU-MUG",
            quantity=1,
            card_token="tok_visa",
        )
        trace_id = result.trace_id or result.body.get("trace_id")
        print(f"  order: HTTP {result.status}, trace {trace_id}", file=out)
        if result.status == 201 and trace_id:
            trace_ids.append(str(trace_id))
    if not trace_ids:
        return ["no order was placed with a trace id"]
    trace_id = trace_ids[0]
    now = time.time()

    def tempo_has(wanted: str, services: set[str]) -> Callable[[], str | None]:
        def check() -> str | None:
            answer = get_json(f"{urls['tempo']}/api/traces/{wanted}")
            seen = trace_spans_by_service(answer.body) if answer.status == 200 else {}
            missing = services - set(seen)
            return (
                None if seen and not missing else f"Tempo trace {wanted}: HTTP {answer.status}, spans {seen}"
            )

        return check

    def loki_has() -> str | None:
        query = f'{{service_name=~".+"}} | trace_id = "{trace_id}"'
        url = _query(
            urls["loki"],
            "/loki/api/v1/query_range",
            query=query,
            start=str(int((now - 900) * 1e9)),
            end=str(int((time.time() + 60) * 1e9)),
            limit="100",
        )
        lines = loki_lines(get_json(url).body)
        return None if lines else f"Loki has no log line with trace_id {trace_id}"

    def checkout_metric() -> str | None:
        url = _query(
            urls["prometheus"], "/api/v1/query", query="sum(checkout_request_duration_seconds_count)"
        )
        values = vector_values(get_json(url).body)
        return (
            None if values and values[0] > 0 else "Prometheus has no checkout_request_duration_seconds_count"
        )

    exemplar: dict[str, str] = {}

    def exemplar_resolves() -> str | None:
        url = _query(
            urls["prometheus"],
            "/api/v1/query_exemplars",
            query="checkout_request_duration_seconds_bucket",
            start=str(now - 900),
            end=str(time.time() + 60),
        )
        ids = exemplar_trace_ids(get_json(url).body)
        if not ids:
            return "Prometheus has no exemplar on checkout_request_duration_seconds_bucket"
        for candidate in ids[:10]:
            if tempo_has(candidate, set())() is None:
                exemplar["trace_id"] = candidate
                return None
        return f"none of the newest exemplars' traces is in Tempo: {ids[:10]}"

    def rules_loaded() -> str | None:
        problems = rule_group_problems(
            expected_rule_groups(), get_json(f"{urls['prometheus']}/api/v1/rules").body
        )
        return "; ".join(problems) or None

    def alert_links_follow_grafana() -> str | None:
        answer = get_json(f"{urls['prometheus']}/api/v1/status/config")
        label = external_label(answer.body, "grafana_url")
        wanted = urls["grafana"]
        return None if label == wanted else f"external label grafana_url is {label!r}, not {wanted!r}"

    def anonymous_can_explore() -> str | None:
        answer = get_json(f"{urls['grafana']}/api/access-control/user/permissions")
        if answer.status == 200 and has_permission(answer.body, "datasources:explore"):
            return None
        return (
            f"the anonymous user lacks datasources:explore (HTTP {answer.status}): Explore links are hidden"
        )

    def datasources_healthy() -> str | None:
        problems = []
        for uid in provisioned_datasource_uids():
            answer = get_json(f"{urls['grafana']}/api/datasources/uid/{uid}/health", auth=("admin", password))
            problem = datasource_health_problem(uid, answer.status, answer.body)
            if problem:
                problems.append(problem)
        return "; ".join(problems) or None

    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("Tempo: the order's trace by id", tempo_has(trace_id, SERVICES_IN_A_CHECKOUT)),
        ("Loki: the order's logs by trace id", loki_has),
        ("Prometheus: the checkout metric", checkout_metric),
        ("Prometheus: an exemplar whose trace Tempo has", exemplar_resolves),
        ("Prometheus: every rule group loaded and healthy", rules_loaded),
        ("Prometheus: alerts' dashboard_url starts at the published Grafana", alert_links_follow_grafana),
        ("Grafana: every datasource healthy", datasources_healthy),
        ("Grafana: the anonymous visitor may open Explore (every link)", anonymous_can_explore),
    ]
    failures = []
    for name, check in checks:
        problem = wait_for(check)
        print(
            f"  {'ok  ' if problem is None else 'FAIL'} {name}" + (f": {problem}" if problem else ""),
            file=out,
        )
        if problem is not None:
            failures.append(f"{name}: {problem}")
    return failures


def admin_password(project_dir: Path, environ: Mapping[str, str]) -> tuple[str, bool]:
    """The Grafana admin password compose will use, or a fresh random one (not written anywhere).
    The bool says whether it was generated (then it must be passed to compose in the environment)."""
    configured = environ.get("GRAFANA_ADMIN_PASSWORD") or compose_mode.read_env_file(
        Path(project_dir) / compose_mode.ENV_FILE
    ).get("GRAFANA_ADMIN_PASSWORD")
    if configured:
        return configured, False
    return secrets.token_urlsafe(18), True


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="stack-smoke", description="Start the compose stack, place orders, check every backend, stop it."
    )
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    args = parser.parse_args(argv)
    if not compose_mode.engine_available():
        print(
            "stack-smoke: skipped: no Docker engine answers `docker info` (this check needs one).", file=out
        )
        return 0
    password, generated = admin_password(args.project_dir, os.environ)
    if generated:
        os.environ["GRAFANA_ADMIN_PASSWORD"] = password  # inherited by `docker compose`
    print("stack-smoke: starting the compose stack", file=out)
    failures: list[str] = []
    try:
        code = compose_mode.up(args.project_dir, out=out)
        if code != 0:
            failures.append(f"docker compose up --wait exited {code}")
        else:
            failures = run_checks(base_urls(args.project_dir, os.environ), password, out)
        if failures:
            # What a CI log needs to explain a failure, before the containers are gone.
            compose_mode.run_command(compose_mode.compose_command(args.project_dir, "ps", "--all"))
            compose_mode.run_command(compose_mode.compose_command(args.project_dir, "logs", "--tail", "80"))
    finally:
        if not args.keep:
            print("stack-smoke: stopping the stack", file=out)
            compose_mode.down(args.project_dir)
    if failures:
        print(f"stack-smoke: {len(failures)} check(s) failed", file=out)
        return 1
    print("stack-smoke: every check passed", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
