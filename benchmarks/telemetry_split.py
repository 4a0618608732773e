"""Where the telemetry's CPU goes, split in two: making spans, or everything else.

`uv run python -m benchmarks.telemetry_split` runs the concurrency benchmark's load (8 clients,
fresh Idempotency-Keys, three regions) against three set-ups, rotated over ROUNDS rounds so the
machine's noise hits each alike, and prints CPU per checkout for each:

- off: telemetry never set up (as `make bench`'s "off");
- no spans: everything set up and patched as shipped, but the sampler is `always_off`, so every
  instrumented call still runs its wrapper and records its metrics and logs, and no span is
  recorded, encoded or exported;
- on: the shipped defaults, every span kept (as `make bench`'s "on").

on - no spans is what the spans cost; no spans - off is what the instrumentation wrappers,
metrics and logs cost. Not part of `make bench`: it is a measurement for docs/performance.md.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import concurrency

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


@contextmanager
def sampler(name: str | None) -> Iterator[None]:
    """Every shop process started meanwhile gets OTEL_TRACES_SAMPLER=name (None: as shipped)."""
    if name is None:
        yield
        return
    with concurrency.shop_env(lambda env: {**env, "OTEL_TRACES_SAMPLER": name}):
        yield


SETUPS: dict[str, tuple[bool, str | None]] = {
    "off": (False, None),
    "no spans": (True, "always_off"),
    "on": (True, None),
}


def main(say: Callable[[str], None] = print) -> None:
    cpu: dict[str, list[float]] = {name: [] for name in SETUPS}
    rate: dict[str, list[float]] = {name: [] for name in SETUPS}
    names = list(SETUPS)
    say(f"telemetry split: {concurrency.CLIENTS} clients, {concurrency.PHASE_S:g} s phases, {ROUNDS} rounds")
    with tempfile.TemporaryDirectory() as tmp, concurrency.null_endpoint() as null:
        for round_number in range(ROUNDS):
            order = names[round_number % len(names) :] + names[: round_number % len(names)]
            for name in order:
                telemetry, chosen = SETUPS[name]
                with sampler(chosen):
                    phase = concurrency.run_phase(
                        f"{name} #{round_number + 1}", telemetry, null, Path(tmp), say
                    )
                cpu[name].append(phase.cpu_ms_per_checkout)
                rate[name].append(phase.per_s)
    mean = {name: statistics.mean(values) for name, values in cpu.items()}
    for name in names:
        say(f"  {name:<9} cpu {mean[name]:5.1f} ms/checkout  {statistics.mean(rate[name]):5.1f} checkouts/s")
    say(f"  the spans cost                         {mean['on'] - mean['no spans']:5.1f} ms per checkout")
    say(f"  wrappers, metrics and logs cost        {mean['no spans'] - mean['off']:5.1f} ms per checkout")


if __name__ == "__main__":
    main()
