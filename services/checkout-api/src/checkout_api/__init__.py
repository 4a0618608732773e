"""checkout-api."""
