"""`python -m invoice_worker worker|migrate|healthcheck`."""

import sys

from wayfinder_common.runner import run_cli

from invoice_worker.main import healthcheck, migrate, worker

sys.exit(run_cli({"worker": worker, "migrate": migrate, "healthcheck": healthcheck}))
