"""`python -m wayfinder.local.migrate MODULE...`: every service's own `migrate()`, in one process.

Each service's migrate command is most of a second of imports; one process that imports the
four services' commands shares sqlalchemy, alembic and pydantic between them (docs/local-mode.md).
"""

from __future__ import annotations

import importlib
import sys


def main(modules: list[str]) -> int:
    for module in modules:
        importlib.import_module(f"{module}.main").migrate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
