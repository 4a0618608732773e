"""Small helpers that build the WHERE clauses of the store's queries with bound parameters.

Column names come from the store's own code, never from callers; values are always bound.
"""

from __future__ import annotations

from typing import Any


class Where:
    """An AND of conditions; a filter given as None is simply left out."""

    def __init__(self) -> None:
        self._clauses: list[str] = []
        self.params: list[Any] = []

    def clause(self, sql: str, params: list[Any]) -> Where:
        self._clauses.append(sql)
        self.params.extend(params)
        return self

    def equals(self, column: str, value: Any) -> Where:
        return self if value is None else self.clause(f"{column} = ?", [value])

    def at_least(self, column: str, value: int | None) -> Where:
        return self if value is None else self.clause(f"{column} >= ?", [value])

    @property
    def sql(self) -> str:
        return f" WHERE {' AND '.join(self._clauses)}" if self._clauses else ""


def attribute_match(table: str, key: str, value: object) -> tuple[str, list[Any]]:
    """A condition true when the row's attributes hold `key` with exactly `value`.

    json_each rather than a JSON path: attribute keys contain dots ("order.id"), which a
    path would read as nesting. Only scalar values can be matched.
    """
    if not isinstance(value, str | int | float):
        raise TypeError(f"can only match str, int, float or bool values, not {type(value).__name__}")
    # json_each reports JSON true/false as 1/0, which is what sqlite3 binds a bool as.
    return (
        f"EXISTS (SELECT 1 FROM json_each({table}.attributes) AS a WHERE a.key = ? AND a.value = ?)",
        [key, value],
    )


def attribute_text_match(table: str, key: str, text: str) -> tuple[str, list[Any]]:
    """Like `attribute_match` for a value typed on a command line: `eu-west` matches the string,
    `3` the string or the number, `true` the string or JSON true."""
    candidates: list[Any] = [text]
    for number in (int, float):
        try:
            candidates.append(number(text))
            break
        except ValueError:
            continue
    if text in ("true", "false"):
        candidates.append(1 if text == "true" else 0)
    marks = ", ".join("?" for _ in candidates)
    return (
        f"EXISTS (SELECT 1 FROM json_each({table}.attributes) AS a WHERE a.key = ? AND a.value IN ({marks}))",
        [key, *candidates],
    )
