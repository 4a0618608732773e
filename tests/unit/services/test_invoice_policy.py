"""The invoice pipeline's bounds agree with each other, and the test hook parks exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

from invoice_worker.settings import Settings as WorkerSettings
from outbox_relay.settings import Settings as RelaySettings
from wayfinder_common.holds import HoldSettings, hold
from wayfinder_common.jobs import RetryPolicy

from tests.support import poll_until


def test_retry_attempt_takes_exactly_the_six_values_its_budget_allows() -> None:
    policy = WorkerSettings().retry_policy
    assert policy.attempts == 6  # retry.attempt 0..5: the registry's cardinality budget is 6
    assert [policy.delay_cap_s(retry) for retry in range(policy.max_retries)] == [1, 2, 4, 8, 16]


def test_republication_waits_longer_than_the_workers_longest_retry_schedule() -> None:
    policy, relay = WorkerSettings().retry_policy, RelaySettings()
    assert policy.longest_schedule_s() == 31 + 6 * 15
    assert relay.republish_after_s > policy.longest_schedule_s()
    # The liveness check: a live job touches its row at least this often.
    assert relay.republish_after_s > policy.attempt_timeout_s + policy.cap_s


def test_the_longest_schedule_caps_each_wait() -> None:
    policy = RetryPolicy(max_retries=5, base_s=10, cap_s=30, attempt_timeout_s=1)
    assert policy.longest_schedule_s() == 10 + 20 + 30 + 30 + 30 + 6


def test_a_hold_point_parks_one_process_once_until_released(tmp_path: Path) -> None:
    settings = HoldSettings(hold_dir=str(tmp_path), hold_s=30)
    hold(settings, "p")  # not armed: returns at once
    (tmp_path / "p.arm").touch()
    parked = threading.Thread(target=hold, args=(settings, "p"))
    parked.start()
    held = tmp_path / "p.held"
    poll_until(held.exists, "the thread to take the hold point", timeout_s=5)
    assert parked.is_alive() and not (tmp_path / "p.arm").exists()
    hold(settings, "p")  # a second process is not parked: the arm was taken
    held.unlink()
    parked.join(timeout=5)
    assert not parked.is_alive()


def test_hold_points_are_off_without_a_folder() -> None:
    hold(HoldSettings(), "anything")


def test_wayfinder_stop_start_and_redrive_are_commands() -> None:
    from wayfinder.cli import build_parser
    from wayfinder.local import components, invoices

    parser = build_parser()
    stop = parser.parse_args(["stop", "--kill", "invoice-worker"])
    assert (stop.handler, stop.component, stop.kill) == (components.cmd_stop, "invoice-worker", True)
    assert parser.parse_args(["start", "postgres"]).handler == components.cmd_start
    assert parser.parse_args(["invoices", "redrive"]).handler == invoices.cmd_redrive
    assert set(components.COMPONENTS) >= {
        "postgres",
        "redis",
        "invoice-worker",
        "outbox-relay",
        "checkout-api",
    }
