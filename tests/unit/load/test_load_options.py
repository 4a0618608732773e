"""`wayfinder load`'s arguments: durations, counts, traffic mixes, the target, the Locust command line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from wayfinder.cli import build_parser
from wayfinder.load.cli import target
from wayfinder.load.options import LoadPlan, parse_duration

from loadtest.traffic_mix import ACCOUNTS_BY_TIER, canonical_mix, parse_mix


def _parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["load", *argv])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60", 60), ("60s", 60), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("1h30m", 5400), (" 10s ", 10)],
)
def test_durations_are_whole_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "-5s", "1.5s", "10x", "s", "m1", "25h", "1m 30s"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_defaults_are_a_steady_minute_of_four_users_with_the_journeys_own_mixes() -> None:
    args = _parse()
    assert (args.users, args.duration, args.rate, args.steps) == (4, 60, None, 1)
    assert args.region_mix is None and args.tier_mix is None and not args.json


def test_region_mix_is_checked_and_normalized_by_the_journeys_parser() -> None:
    args = _parse("--region-mix", "eu-west=3,ap-south=1", "--tier-mix", "enterprise=1")
    assert args.region_mix == "us-east=0,eu-west=0.75,ap-south=0.25"
    assert args.tier_mix == "free=0,pro=0,enterprise=1"


@pytest.mark.parametrize(
    ("mix", "complaint"),
    [
        ("eu-north=1", "unknown name 'eu-north'"),
        ("us-east=1,us-east=2", "'us-east' is given twice"),
        ("us-east", "is not NAME=WEIGHT"),
        ("us-east=lots", "is not a number"),
        ("us-east=-1", "must be a number >= 0"),
        ("us-east=0,eu-west=0", "at least one weight must be above 0"),
        ("us-east=nan", "must be a number >= 0"),
    ],
)
def test_bad_region_mixes_are_refused_with_the_reason(
    mix: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parse("--region-mix", mix)
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"), [("--users", "0"), ("--users", "two"), ("--rate", "0"), ("--steps", "0")]
)
def test_counts_and_rates_must_be_positive(flag: str, value: str) -> None:
    with pytest.raises(SystemExit):
        _parse(flag, value)


def test_mix_weights_are_shares_and_left_out_names_get_none() -> None:
    assert parse_mix("us-east=50, eu-west=30,ap-south=20", ("us-east", "eu-west", "ap-south")) == {
        "us-east": 0.5,
        "eu-west": 0.3,
        "ap-south": 0.2,
    }
    assert canonical_mix("pro=1", ("free", "pro", "enterprise")) == "free=0,pro=1,enterprise=0"


def test_each_tier_has_its_ten_seeded_accounts() -> None:
    assert ACCOUNTS_BY_TIER["pro"][:2] == ("acct-0001", "acct-0004")
    assert ACCOUNTS_BY_TIER["enterprise"][0] == "acct-0002" and ACCOUNTS_BY_TIER["free"][0] == "acct-0003"
    assert sorted(a for accounts in ACCOUNTS_BY_TIER.values() for a in accounts) == [
        f"acct-{n:04d}" for n in range(1, 31)
    ]


def test_a_steady_plan_runs_the_journeys_only() -> None:
    plan = LoadPlan(host="http://127.0.0.1:8080", users=3, duration_s=90, rate=1.5)
    assert [p.name for p in plan.locustfiles(Path("loadtest"))] == ["locustfile.py"]
    args = plan.locust_args()
    assert args[:6] == ["--host", "http://127.0.0.1:8080", "--users", "3", "--run-time", "90s"]
    assert args[args.index("--rate") + 1] == "1.5" and "--steps" not in args and "--region-mix" not in args


def test_a_stepped_plan_adds_the_shape_and_splits_the_run_into_equal_steps() -> None:
    plan = LoadPlan(host="http://h", users=4, duration_s=90, steps=3, region_mix="us-east=1")
    assert [p.name for p in plan.locustfiles(Path("loadtest"))] == ["locustfile.py", "stepped.py"]
    args = plan.locust_args()
    assert args[args.index("--steps") + 1] == "3" and args[args.index("--step-seconds") + 1] == "30.0"
    assert args[args.index("--region-mix") + 1] == "us-east=1" and "--rate" not in args


def test_the_target_is_the_mode_that_is_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYFINDER_HOME", str(tmp_path))
    monkeypatch.setenv("WAYFINDER_CHECKOUT_PORT", "18080")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert target(None) == ("http://127.0.0.1:18080", "local")
    (tmp_path / "mode").write_text("compose\n")
    assert target(None) == ("http://127.0.0.1:8080", "compose")
    assert target("http://shop.example:9000/") == ("http://shop.example:9000", "given")
