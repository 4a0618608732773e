"""`python -m checkout_api serve|migrate`."""

import sys

from wayfinder_common.runner import run_cli

from checkout_api.main import migrate, serve

sys.exit(run_cli({"serve": serve, "migrate": migrate}))
