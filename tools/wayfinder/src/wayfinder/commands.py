"""The list of areas that add sub-commands to `wayfinder`; each exposes `register(subparsers)`."""

from __future__ import annotations

from wayfinder.contract import cli as contract_cli
from wayfinder.load import cli as load_cli
from wayfinder.local import cli as local_cli
from wayfinder.local import components, invoices
from wayfinder.query import cli as query_cli
from wayfinder.scenarios import cli as scenario_cli
from wayfinder.scenarios import verify_cli, walk

REGISTRARS: list = [
    local_cli.register,
    contract_cli.register,
    load_cli.register,
    components.register,
    invoices.register,
    query_cli.register,
    scenario_cli.register,
    walk.register,
    verify_cli.register,
]
