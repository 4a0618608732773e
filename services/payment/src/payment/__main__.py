"""`python -m payment serve|migrate`."""

import sys

from wayfinder_common.runner import run_cli

from payment.main import migrate, serve

sys.exit(run_cli({"serve": serve, "migrate": migrate}))
