"""invoice-worker."""
