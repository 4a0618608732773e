"""Database span names that say something: `SELECT inventory.products`, not `SELECT wayfinder`.

SQLAlchemy's instrumentation names each statement's span "{first SQL word} {database}", and
every service shares the one database, so a trace shows twenty spans called `SELECT wayfinder`.
The semantic conventions name a database span "{db.operation.name} {db.collection.name}", with
the collection as the query text names it (schema included). Our statements are SQLAlchemy's
own, so their shape is known: the operation is the first word and the collection the first
table after FROM, INTO or UPDATE. A statement that does not fit keeps the instrumentation's name.

Renamed in a `before_cursor_execute` listener registered after the instrumentation's, which
has just started the statement's span (and keeps it on the execution context).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

# The first table: after FROM, INTO or UPDATE, optionally quoted, optionally schema-qualified.
_TABLE = r'"?([A-Za-z_][A-Za-z0-9_]*)"?(?:\."?([A-Za-z_][A-Za-z0-9_]*)"?)?'
_SHAPES = {
    "SELECT": re.compile(rf"^\s*SELECT\b.*?\bFROM\s+{_TABLE}", re.IGNORECASE | re.DOTALL),
    "DELETE": re.compile(rf"^\s*DELETE\s+FROM\s+{_TABLE}", re.IGNORECASE),
    "INSERT": re.compile(rf"^\s*INSERT\s+INTO\s+{_TABLE}", re.IGNORECASE),
    "UPDATE": re.compile(rf"^\s*UPDATE\s+{_TABLE}", re.IGNORECASE),
}


def operation_and_collection(statement: str) -> tuple[str, str] | None:
    """("SELECT", "inventory.products") for a statement of known shape, else None."""
    operation = statement.lstrip()[:6].upper()
    shape = _SHAPES.get(operation)
    match = shape.match(statement) if shape else None
    if match is None:
        return None
    first, second = match.groups()
    return operation, f"{first}.{second}" if second else first


def _rename(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, executemany: bool) -> None:
    span = getattr(context, "_otel_span", None)
    if span is None or not span.is_recording() or not isinstance(statement, str):
        return
    named = operation_and_collection(statement)
    if named is None:
        return
    operation, collection = named
    span.update_name(f"{operation} {collection}")
    span.set_attribute("db.operation.name", operation)
    span.set_attribute("db.collection.name", collection)


def name_statement_spans(engine: Any) -> None:
    """Call after the engine is instrumented: listeners run in the order they were added."""
    event.listen(engine, "before_cursor_execute", _rename)
