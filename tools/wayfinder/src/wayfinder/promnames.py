"""OTel metric names as Prometheus stores them, and the metric and label names a PromQL query reads.

Two halves, used together by the stack tests to prove that every dashboard panel and alert rule
queries a series the services really emit:

* ``series_names(...)`` re-implements the translation Prometheus applies to OTLP metrics with the
  default ``translation_strategy: UnderscoreEscapingWithSuffixes`` (prometheus/otlptranslator):
  the name is split on every character that is not ``[a-zA-Z0-9:]`` and re-joined with ``_``,
  the unit becomes a suffix (``s`` -> ``_seconds``, ``By`` -> ``_bytes``, ``{request}`` -> nothing),
  monotonic sums end in ``_total``, gauges with unit ``1`` in ``_ratio``, and histograms become
  ``_bucket``/``_sum``/``_count`` series.
* ``references(expr)`` pulls metric names and label names out of a PromQL expression with a small
  tokenizer (no full parser): it skips strings, numbers, durations, ``[range]`` selectors, Grafana
  template variables (``$__rate_interval``, ``${region}``, ``$$__tags``), functions, aggregation
  operators and keywords, and reads ``by (...)``/``on (...)`` label lists and ``{label="..."}``
  matchers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# --- OTel -> Prometheus names ------------------------------------------------------------------

# prometheus/otlptranslator unit tables (the subset the UCUM units of OTel metrics use).
UNIT_WORDS: Mapping[str, str] = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}
PER_UNIT_WORDS: Mapping[str, str] = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}
KINDS = ("histogram", "sum", "gauge")

_NOT_NAME_CHAR = re.compile(r"[^a-zA-Z0-9:]+")


@dataclass(frozen=True)
class OtelMetric:
    """One metric as the OTel SDK exports it (the fields of telemetry/captured/metrics.json)."""

    name: str
    kind: str
    unit: str
    monotonic: bool | None = None
    attributes: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


def _unit_tokens(unit: str) -> tuple[str, str]:
    """The main-unit and per-unit suffix words for a UCUM unit; annotations like {req} vanish."""
    main, _, per = unit.partition("/")
    main, per = main.strip(), per.strip()
    main_word = ""
    if main and "{" not in main and "}" not in main:
        main_word = UNIT_WORDS.get(main, main)
    per_word = ""
    if per and "{" not in per and "}" not in per:
        per_word = PER_UNIT_WORDS.get(per, per)

    def clean(word: str) -> str:
        return _NOT_NAME_CHAR.sub("_", word).strip("_")

    return clean(main_word), clean(per_word)


def base_name(name: str, unit: str, kind: str, monotonic: bool | None) -> str:
    """The Prometheus metric name (without histogram series suffixes) for one OTel metric."""
    if kind not in KINDS:
        raise ValueError(f"unknown metric kind {kind!r}; expected one of {KINDS}")
    tokens = [t for t in _NOT_NAME_CHAR.split(name) if t]
    main_word, per_word = _unit_tokens(unit)
    if main_word and main_word not in tokens:
        tokens.append(main_word)
    if per_word and not ("per" in tokens and per_word in tokens):
        tokens.extend(["per", per_word])
    if kind == "sum" and monotonic:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    joined = "_".join(tokens)
    if joined[:1].isdigit():
        joined = "_" + joined
    return joined


def series_names(name: str, unit: str, kind: str, monotonic: bool | None = None) -> tuple[str, ...]:
    """Every Prometheus series name one OTel metric produces (three for a classic histogram)."""
    base = base_name(name, unit, kind, monotonic)
    if kind == "histogram":
        return (f"{base}_bucket", f"{base}_sum", f"{base}_count")
    return (base,)


def label_name(attribute: str) -> str:
    """An OTel attribute key as a Prometheus label name (dots and other characters -> ``_``).

    prometheus/otlptranslator's LabelNamer: a leading digit gets ``key_``, a single leading
    underscore gets ``key`` (``__reserved`` names stay as they are).
    """
    label = re.sub(r"[^a-zA-Z0-9_]", "_", attribute)
    if label[:1].isdigit():
        return "key_" + label
    if label.startswith("_") and not label.startswith("__"):
        return "key" + label
    return label


# --- the captured metrics file -----------------------------------------------------------------


def load_captured(path: Path) -> list[OtelMetric]:
    """Read telemetry/captured/metrics.json, failing loudly on anything off-format."""
    document = json.loads(path.read_text(encoding="utf-8"))
    problems = captured_format_problems(document)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return [
        OtelMetric(
            name=entry["name"],
            kind=entry["kind"],
            unit=entry["unit"],
            monotonic=entry["monotonic"],
            attributes=tuple(entry["attributes"]),
            services=tuple(entry["services"]),
        )
        for entry in document["metrics"]
    ]


def captured_format_problems(document: object) -> list[str]:
    """What is wrong with a parsed metrics.json, as sentences (empty when it is well-formed)."""
    if not isinstance(document, dict) or set(document) != {"metrics"}:
        return ['top level must be an object with exactly the key "metrics"']
    entries = document["metrics"]
    if not isinstance(entries, list):
        return ['"metrics" must be a list']
    problems: list[str] = []
    keys = {"name", "kind", "unit", "monotonic", "attributes", "services"}
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"metrics[{index}]"
        if not isinstance(entry, dict) or set(entry) != keys:
            problems.append(f"{where} must have exactly the keys {sorted(keys)}")
            continue
        where = f"metrics[{index}] ({entry['name']})"
        if entry["name"] in seen:
            problems.append(f"{where} appears twice")
        seen.add(entry["name"])
        if entry["kind"] not in KINDS:
            problems.append(f"{where}: kind must be one of {KINDS}")
        if not isinstance(entry["unit"], str):
            problems.append(f"{where}: unit must be a string")
        if entry["kind"] == "sum" and not isinstance(entry["monotonic"], bool):
            problems.append(f"{where}: a sum needs monotonic true or false")
        if entry["kind"] != "sum" and entry["monotonic"] is not None:
            problems.append(f"{where}: monotonic must be null unless kind is sum")
        for list_key in ("attributes", "services"):
            values = entry[list_key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                problems.append(f"{where}: {list_key} must be a list of strings")
            elif values != sorted(values):
                problems.append(f"{where}: {list_key} must be sorted")
    return problems


@dataclass
class SeriesCatalog:
    """Prometheus series names that exist, each with the label names it carries (None: unknown)."""

    labels: dict[str, frozenset[str] | None] = field(default_factory=dict)

    def add(self, series: str, labels: Iterable[str] | None) -> None:
        self.labels[series] = None if labels is None else frozenset(labels)

    def __contains__(self, series: object) -> bool:
        return series in self.labels


def catalog_from_captured(metrics: Iterable[OtelMetric], resource_labels: Iterable[str]) -> SeriesCatalog:
    """The series the captured OTel metrics become, with attribute and promoted resource labels."""
    catalog = SeriesCatalog()
    common = set(resource_labels)
    for metric in metrics:
        labels = common | {label_name(a) for a in metric.attributes}
        for series in series_names(metric.name, metric.unit, metric.kind, metric.monotonic):
            catalog.add(series, labels | {"le"} if series.endswith("_bucket") else labels)
    return catalog


# --- PromQL references -------------------------------------------------------------------------

AGGREGATIONS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ]
)
GROUPING = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right"])
KEYWORDS = frozenset(["and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "start", "end"])

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<var>\$\$?(?:\{[^}]*\}|\w+))
  | (?P<range>\[[^\]]*\])
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z0-9_]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<matchop>=~|!~|!=)
  | (?P<op>==|>=|<=|[-+*/%^<>=@,(){}])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class References:
    """Metric names and label names one PromQL expression refers to."""

    metrics: frozenset[str]
    labels: frozenset[str]


def _tokens(expr: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read PromQL at {expr[position : position + 20]!r} in {expr!r}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind not in {"space", "comment"}:
            yield kind, match.group()


def references(expr: str) -> References:
    """The metric names and label names a PromQL expression (Grafana variables allowed) reads."""
    tokens = list(_tokens(expr))
    metrics: set[str] = set()
    labels: set[str] = set()
    in_matchers = False
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if kind == "op" and text == "{":
            in_matchers = True
        elif kind == "op" and text == "}":
            in_matchers = False
        elif kind == "ident" and in_matchers:
            if following[0] in {"matchop", "op"} and following[1] in {"=", "!=", "=~", "!~"}:
                value = tokens[index + 2] if index + 2 < len(tokens) else ("", "")
                if text == "__name__":
                    if following[1] != "=" or value[0] != "string":
                        raise ValueError(f"__name__ must be matched exactly in {expr!r}")
                    metrics.add(value[1][1:-1])
                else:
                    labels.add(text)
        elif kind == "ident" and text.lower() in GROUPING:
            if following == ("op", "("):
                index += 2
                while index < len(tokens) and tokens[index] != ("op", ")"):
                    if tokens[index][0] == "ident":
                        labels.add(tokens[index][1])
                    index += 1
        elif kind == "ident":
            is_call = following == ("op", "(")
            is_keyword = text.lower() in AGGREGATIONS or text.lower() in KEYWORDS
            if not is_call and not is_keyword:
                metrics.add(text)
        index += 1
    return References(frozenset(metrics), frozenset(labels))


@dataclass(frozen=True)
class Finding:
    """One name a query uses that no known series has."""

    source: str
    expr: str
    problem: str


def check_queries(
    queries: Iterable[tuple[str, str]], catalog: SeriesCatalog, always_labels: Iterable[str] = ()
) -> list[Finding]:
    """Unknown metric names, and label names none of the query's metrics carries, per query.

    ``queries`` are ``(where it comes from, PromQL)`` pairs. A label passes when at least one
    metric of the same query carries it, or it is one of ``always_labels`` (labels Prometheus adds
    to every series, like ``job``). A query reading an unknown metric, or a metric whose labels
    cannot be known, gets no label findings: the metric finding (or the unknown) says it all.
    """
    findings: list[Finding] = []
    extra = frozenset(always_labels)
    for source, expr in queries:
        try:
            refs = references(expr)
        except ValueError as error:
            findings.append(Finding(source, expr, str(error)))
            continue
        unknown = sorted(m for m in refs.metrics if m not in catalog)
        findings.extend(Finding(source, expr, f"unknown metric {m!r}") for m in unknown)
        if unknown or not refs.metrics:
            continue  # labels cannot be judged against a metric that does not exist
        label_sets = [catalog.labels[m] for m in refs.metrics]
        if all(labels is not None for labels in label_sets):
            known_labels = set(extra).union(*label_sets)  # type: ignore[arg-type]
            for label in sorted(refs.labels - known_labels):
                findings.append(Finding(source, expr, f"label {label!r} is on none of its metrics"))
    return findings
