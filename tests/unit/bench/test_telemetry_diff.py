"""telemetry_diff's sorting of py-spy samples into categories, on lines in py-spy's raw format."""

from __future__ import annotations

import pytest

from benchmarks import telemetry_diff as parts
from benchmarks.telemetry_diff import group, split

VENV = "/work/main/.venv/lib/python3.11/site-packages"
STDLIB = "/root/.pyenv/versions/3.11.7/lib/python3.11"
SRC = "/work/main/libs/wayfinder-common/src"
PROCESS = 'process 18076:"/work/main/.venv/bin/python -m payment serve"'
WORKER = f"BatchProcessor.worker ({VENV}/opentelemetry/sdk/_shared_internal/__init__.py:160)"
EXPORT = (
    f"OTLPSpanExporter.export ({VENV}/opentelemetry/exporter/otlp/proto/http/trace_exporter/__init__.py:178)"
)
FOLDED = "\n".join(
    [
        # An export thread encoding, then posting: counted as the export's steps.
        f"{PROCESS};{WORKER};{EXPORT};_encode_span ({VENV}/opentelemetry/exporter/otlp/proto/common/"
        "_internal/trace_encoder/__init__.py:102) 30",
        f"{PROCESS};{WORKER};{EXPORT};"
        f"KeepAliveTransport.request ({SRC}/wayfinder_common/otlp_transport.py:80);"
        f"HTTPConnection.getresponse ({STDLIB}/http/client.py:1390) 10",
        # A request thread: the SDK's span creation, the shop's SQLAlchemy, the standard library.
        f"{PROCESS};Tracer.start_span ({VENV}/opentelemetry/sdk/trace/__init__.py:1200) 20",
        f"{PROCESS};Connection._execute_context ({VENV}/sqlalchemy/engine/base.py:1843) 30",
        f"{PROCESS};BaseEventLoop._run_once ({STDLIB}/asyncio/base_events.py:1922) 10",
        # A thread in a timed wait: not CPU, left out.
        f"{PROCESS};{WORKER};Condition.wait ({STDLIB}/threading.py:331) 500",
    ]
)


def test_samples_split_the_processes_cpu_by_category() -> None:
    by_category = split(FOLDED, cpu_ms=10.0)
    assert by_category == {
        "export: span encoding": pytest.approx(3.0),
        "export: HTTP POST": pytest.approx(1.0),
        "otel: sdk/trace": pytest.approx(2.0),
        "sqlalchemy": pytest.approx(3.0),
        "asyncio": pytest.approx(1.0),
    }


def test_a_profile_without_samples_splits_nothing() -> None:
    assert split("", cpu_ms=10.0) == {}


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("export: HTTP POST", parts.EXPORT),
        ("export: span encoding", parts.EXPORT),
        ("export: metrics (collect, encode, POST)", parts.EXPORT),
        ("otel: sdk/trace", parts.SDK),
        ("otel: attributes/__init__", parts.SDK),
        ("otel: context/contextvars_context", parts.SDK),
        ("otel: util/_decorator", parts.SDK),  # the API's start_as_current_span
        ("otel: instrumentation/asgi", parts.WRAPPERS),
        ("otel: instrumentation/_semconv", parts.WRAPPERS),
        ("otel: util/http", parts.WRAPPERS),
        ("sqlalchemy", parts.SHOP),
        ("<string>", parts.SHOP),
    ],
)
def test_each_category_falls_in_one_part(name: str, part: str) -> None:
    assert group(name) == part
