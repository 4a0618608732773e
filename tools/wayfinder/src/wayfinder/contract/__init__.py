"""The telemetry contract: the registry (telemetry/registry/) as a typed model, and its checker.

`run_checks` tests captured spans, logs and metric points against the registry and the
article's review checklist; `wayfinder telemetry check|docs` are the command-line faces.
"""
