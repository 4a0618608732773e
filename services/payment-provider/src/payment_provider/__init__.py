"""payment-provider."""
