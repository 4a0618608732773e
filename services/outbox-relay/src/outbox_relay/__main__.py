"""`python -m outbox_relay run|healthcheck`."""

import sys

from wayfinder_common.runner import run_cli

from outbox_relay.main import healthcheck, run

sys.exit(run_cli({"run": run, "healthcheck": healthcheck}))
