"""`python -m invoice_worker worker|celery-worker|migrate|healthcheck` (worker runs celery-worker)."""

import sys

from wayfinder_common.runner import run_cli

from invoice_worker.main import celery_worker, healthcheck, migrate, worker

sys.exit(
    run_cli(
        {"worker": worker, "celery-worker": celery_worker, "migrate": migrate, "healthcheck": healthcheck}
    )
)
