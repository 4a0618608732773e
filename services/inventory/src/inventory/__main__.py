"""`python -m inventory serve|migrate`."""

import sys

from wayfinder_common.runner import run_cli

from inventory.main import migrate, serve

sys.exit(run_cli({"serve": serve, "migrate": migrate}))
