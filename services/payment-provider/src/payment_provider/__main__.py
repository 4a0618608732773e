"""`python -m payment_provider serve`."""

import sys

from wayfinder_common.runner import run_cli

from payment_provider.main import serve

sys.exit(run_cli({"serve": serve}))
