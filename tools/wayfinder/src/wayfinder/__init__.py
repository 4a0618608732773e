"""The Wayfinder CLI and local tooling."""
