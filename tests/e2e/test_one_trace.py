"""One checkout = one trace across every service, the async hop included, with the contract's
names, attributes, resources, metrics (with exemplars) and correlated logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import CARD_TOKEN, EMAIL, Shop
from tests.support import poll_until

ALL_SERVICES = {"checkout-api", "inventory", "payment", "payment-provider", "outbox-relay", "invoice-worker"}
BUSINESS_SPANS = {
    "checkout.place_order",
    "inventory.reserve",
    "payment.authorize",
    "provider.authorize",
    "outbox.publish",
    "invoice.worker.process",
    "invoice.create",
}


def _placed(shop: Shop) -> tuple[dict[str, Any], list[Any]]:
    response = shop.checkout(region="eu-west", account="acct-0002")
    assert response.status_code == 201, response.text
    spans = shop.spans_until(
        shop.trace_of(response), BUSINESS_SPANS | {"apply_async/invoice.create", "run/invoice.create"}
    )
    return response.json(), spans


def test_a_checkout_is_one_trace_through_every_service_and_the_worker(shop: Shop) -> None:
    order, spans = _placed(shop)
    by_name = {s.name: s for s in spans}
    assert {s.service_name for s in spans} == ALL_SERVICES
    assert len({s.trace_id for s in spans}) == 1
    roots = [s for s in spans if s.parent_span_id is None]
    assert [(r.name, r.service_name, r.kind) for r in roots] == [("POST /checkout", "checkout-api", "SERVER")]

    def parent(span: Any) -> Any:
        return next(s for s in spans if s.span_id == span.parent_span_id)

    # The causal chain the article's walkthrough navigates, link by link.
    assert parent(by_name["checkout.place_order"]).name == "POST /checkout"
    assert parent(by_name["outbox.publish"]) is by_name["checkout.place_order"]
    assert parent(by_name["apply_async/invoice.create"]) is by_name["outbox.publish"]
    assert parent(by_name["run/invoice.create"]) is by_name["apply_async/invoice.create"]
    assert parent(by_name["invoice.worker.process"]) is by_name["run/invoice.create"]
    assert parent(by_name["invoice.create"]) is by_name["invoice.worker.process"]
    assert parent(parent(by_name["provider.authorize"])).service_name == "payment"
    assert parent(by_name["inventory.reserve"]).name == "POST /reservations"
    assert by_name["run/invoice.create"].kind == "CONSUMER"
    assert by_name["apply_async/invoice.create"].kind == "PRODUCER"


def test_business_spans_carry_the_domain_vocabulary(shop: Shop) -> None:
    order, spans = _placed(shop)
    by_name = {s.name: s for s in spans}
    place = by_name["checkout.place_order"].attributes
    assert place["order.id"] == order["order_id"]
    assert place["account.id"] == "acct-0002"
    assert place["account.tier"] == "enterprise"
    assert place["region"] == "eu-west"
    assert place["checkout.outcome"] == "success"
    assert by_name["payment.authorize"].attributes["payment.outcome"] == "authorized"
    assert by_name["provider.authorize"].attributes["provider.decision"] == "approved"
    assert by_name["outbox.publish"].attributes["queue.name"] == "invoice-events"
    worker = by_name["invoice.worker.process"].attributes
    assert worker["job.type"] == "invoice.create"
    assert worker["order.id"] == order["order_id"]
    assert worker["retry.attempt"] == 0
    invoice = by_name["invoice.create"].attributes
    assert invoice["invoice.status"] == "issued"
    assert invoice["account.tier"] == "enterprise"  # a tier-wide invoice failure shows here
    assert invoice["invoice.id"].startswith("inv-")
    provider_calls = [
        s
        for s in spans
        if s.kind == "CLIENT"
        and s.service_name == "payment"
        and s.attributes.get("server.port") == shop.config.provider_port
    ]
    assert [c.attributes["retry.attempt"] for c in provider_calls] == [0]
    assert by_name["POST /checkout"].attributes["http.route"] == "/checkout"


def test_each_products_row_lock_is_a_span_naming_its_sku(shop: Shop) -> None:
    # Where a hot SKU shows: the lock wait of each catalogue SKU, inside inventory.reserve.
    items = [{"sku": "SKU-MUG", "quantity": 1}, {"sku": "SKU-LAMP", "quantity": 2}]
    response = shop.checkout(region="us-east", items=items)
    assert response.status_code == 201, response.text
    spans = shop.spans_until(shop.trace_of(response), {"inventory.reserve", "inventory.lock_stock"})
    reserve = next(s for s in spans if s.name == "inventory.reserve")

    def two_locks() -> list[Any] | None:
        every = shop.store.spans(trace_id=reserve.trace_id)
        locks = [s for s in every if s.name == "inventory.lock_stock"]
        return locks if len(locks) == 2 else None

    locks = poll_until(two_locks, "both row-lock spans")
    assert {lock.parent_span_id for lock in locks} == {reserve.span_id}
    assert sorted(lock.attributes["product.sku"] for lock in locks) == ["SKU-LAMP", "SKU-MUG"]
    every = shop.store.spans(trace_id=reserve.trace_id)
    for lock in locks:
        queries = [s for s in every if s.parent_span_id == lock.span_id]
        assert [q.attributes.get("db.system.name") for q in queries] == ["postgresql"]


def test_an_unknown_sku_never_becomes_an_attribute(shop: Shop) -> None:
    response = shop.checkout(items=[{"sku": "SKU-NOT-SOLD-HERE", "quantity": 1}])
    assert response.status_code == 404, response.text
    locks = shop.spans_until(shop.trace_of(response), {"inventory.lock_stock"})
    lock = next(s for s in locks if s.name == "inventory.lock_stock")
    assert "product.sku" not in lock.attributes


def test_every_process_declares_service_version_and_environment(shop: Shop) -> None:
    _, spans = _placed(shop)
    for span in spans:
        assert span.resource["service.name"] == span.service_name
        assert span.resource["service.version"] == "0.1.0"
        assert span.resource["deployment.environment.name"] == "test"


def test_checkout_latency_metric_has_exemplars_pointing_at_real_traces(shop: Shop) -> None:
    _placed(shop)

    def exemplar_trace_ids() -> set[str] | None:
        points = shop.store.metric_points(name="checkout.request.duration")
        ids = {e.trace_id for p in points for e in p.exemplars if e.trace_id}
        return ids or None

    ids = poll_until(exemplar_trace_ids, "an exemplar on checkout.request.duration")
    assert any(shop.store.spans(trace_id=t) for t in ids)
    point = next(
        p
        for p in shop.store.metric_points(name="checkout.request.duration")
        if p.attributes.get("http.route") == "/checkout" and p.attributes.get("checkout.outcome") == "success"
    )
    assert point.kind == "histogram" and point.unit == "s"
    assert point.attributes["region"] in {"us-east", "eu-west", "ap-south"}
    assert 0.005 in point.bucket_bounds and 10.0 in point.bucket_bounds


def test_the_articles_metrics_are_exported(shop: Shop) -> None:
    _placed(shop)
    wanted = {
        "checkout.request.duration",
        "payment.authorizations",
        "payment.provider.request.duration",
        "invoice.create.duration",
        "invoice.job.lag",
        "invoice.jobs.in_flight",
        "outbox.pending",
    }
    poll_until(lambda: wanted <= set(shop.store.metric_names()), f"metrics {sorted(wanted)}")
    lag = shop.store.metric_points(name="invoice.job.lag")[-1]
    assert lag.attributes == {"queue.name": "invoice-events"} and (lag.count or 0) >= 1


def test_logs_carry_the_trace_id_of_the_span_they_explain(shop: Shop) -> None:
    order, spans = _placed(shop)
    trace_id = spans[0].trace_id

    def logs() -> list[Any] | None:
        found = shop.store.logs(trace_id=trace_id)
        services = {log.service_name for log in found}
        return found if {"checkout-api", "payment", "invoice-worker"} <= services else None

    found = poll_until(logs, f"logs of trace {trace_id} from checkout-api, payment and invoice-worker")
    span_ids = {s.span_id for s in spans}
    assert all(log.span_id in span_ids for log in found)
    confirmed = next(log for log in found if log.body == "order confirmed")
    assert confirmed.attributes["order.id"] == order["order_id"]


def test_no_email_or_card_token_anywhere_in_telemetry(shop: Shop) -> None:
    _placed(shop)
    decline = shop.checkout(card_token="tok_decline")
    assert decline.status_code == 402
    invalid = shop.checkout(email="not-an-email")
    assert invalid.status_code == 422
    shop.spans_until(shop.trace_of(decline), {"payment.authorize"})
    secrets = (EMAIL, CARD_TOKEN, "tok_decline", "not-an-email")
    leaks = [where for where, text in _everything(shop) if any(secret in text for secret in secrets)]
    assert leaks == []


def test_no_email_or_card_token_in_the_json_logs_on_stdout(shop: Shop) -> None:
    """What the processes print (what `docker logs` or a log shipper would pick up) is scanned
    too, with the contract's own detectors, not only what reached the telemetry store."""
    from wayfinder.contract.patterns import card_numbers, card_tokens, emails

    order, _ = _placed(shop)
    assert shop.checkout(card_token="tok_decline").status_code == 402
    assert shop.checkout(email="not-an-email").status_code == 422

    def printed() -> dict[str, str] | None:
        outputs = {path.stem: path.read_text(errors="replace") for path in _stdout_logs(shop)}
        # Not vacuous: the order's own lines from the shop's services must be there to scan.
        mentioned = {name for name, text in outputs.items() if order["order_id"] in text}
        return outputs if {"checkout-api", "invoice-worker"} <= mentioned else None

    outputs = poll_until(printed, f"stdout lines about order {order['order_id']}")
    assert {"checkout-api", "inventory", "payment", "outbox-relay", "invoice-worker"} <= set(outputs)
    secrets = (EMAIL, CARD_TOKEN, "tok_decline", "not-an-email")
    leaks = [
        f"{name}:{number}: {line[:120]}"
        for name, text in outputs.items()
        for number, line in enumerate(text.splitlines(), 1)
        if any(secret in line for secret in secrets)
        or emails(line)
        or card_numbers(line)
        or card_tokens(line)
    ]
    assert leaks == []


def _stdout_logs(shop: Shop) -> list[Path]:
    """Each shop process's captured stdout/stderr (local mode's process table writes one file
    each). Not what tests earlier in the session may have left in the same folder: the load
    generator's and a drill runner's (clients know their customer's email) or the local
    Prometheus's (its build banner names the Debian packager's address)."""
    from wayfinder.local.prometheus import NAME as PROMETHEUS

    table = shop.stack.processes
    shop_processes = [name for name in table.names() if name != PROMETHEUS]
    return sorted(path for name in shop_processes if (path := table.log_file(name)).exists())


def test_broker_chatter_never_shows_up_as_root_spans(shop: Shop) -> None:
    _placed(shop)
    # Orders whose context another test dropped on purpose (the lost-context fault) are left out.
    roots = [
        s
        for s in shop.store.spans()
        if s.parent_span_id is None and s.attributes.get("order.id") not in shop.deliberately_broken_orders
    ]
    assert roots, "expected at least the checkout roots"
    # Requests are roots; so is the sweeper's settling of an abandoned checkout (a background
    # job). Nothing from the relay or the worker, and no poll or broker chatter, ever is.
    assert {(r.kind, r.name) for r in roots if r.kind != "SERVER"} <= {("INTERNAL", "checkout.abandon")}
    assert not [r for r in roots if r.service_name in {"outbox-relay", "invoice-worker"}]


def _everything(shop: Shop) -> list[tuple[str, str]]:
    """Every string a backend would index: names, attributes, events, resources, log bodies."""
    found: list[tuple[str, str]] = []
    for span in shop.store.spans():
        where = f"span {span.service_name}/{span.name}"
        found.append((where, f"{span.name} {span.status_message} {span.attributes} {span.resource}"))
        found.extend((f"{where} event", f"{e.name} {e.attributes}") for e in span.events)
    for log in shop.store.logs():
        found.append((f"log {log.service_name}", f"{log.body} {log.attributes} {log.resource}"))
    for point in shop.store.metric_points():
        found.append((f"metric {point.name}", f"{point.attributes} {point.resource}"))
    return found
