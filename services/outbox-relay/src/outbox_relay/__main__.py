"""`python -m outbox_relay run|redrive|healthcheck`."""

import sys

from wayfinder_common.runner import run_cli

from outbox_relay.main import healthcheck, redrive, run

sys.exit(run_cli({"run": run, "redrive": redrive, "healthcheck": healthcheck}))
