"""A scenario's load profile becomes `wayfinder load`'s Locust options, none of them on argv."""

from __future__ import annotations

import pytest
from wayfinder.scenarios import catalog
from wayfinder.scenarios.load import CHECKOUT_SHARE, command, locust_env
from wayfinder.scenarios.model import LoadProfile


def test_the_profile_maps_to_locust_options() -> None:
    profile = LoadProfile(
        rate_per_s=2.1,
        duration_s=600,
        region_mix={"us-east": 1, "eu-west": 2, "ap-south": 0},
        tier_mix={"free": 1, "pro": 1, "enterprise": 1},
        decline_ratio=0.1,
    )
    env = locust_env(profile, target_url="http://127.0.0.1:8080", duration_s=59.5)
    assert float(env["LOCUST_RATE"]) * CHECKOUT_SHARE == pytest.approx(2.1)
    assert env["LOCUST_RUN_TIME"] == "60s"
    assert env["LOCUST_HOST"] == "http://127.0.0.1:8080"
    # A region weighted 0 is left out: it gets no traffic.
    assert env["LOCUST_REGION_MIX"] == "us-east=1,eu-west=2"
    assert env["LOCUST_DECLINE_RATIO"] == "0.1"
    assert int(env["LOCUST_USERS"]) >= 4


def test_the_command_line_names_no_scenario_and_no_mix() -> None:
    argv = " ".join(command())
    assert "wayfinder.load.runner" in argv and argv.endswith("locustfile.py")
    for name in catalog.load_all():
        assert name not in argv
    assert "mix" not in argv and "rate" not in argv
