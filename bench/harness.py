"""What every benchmark module shares: a median with its spread, and one table format.

A benchmark compares a measured cost against a baseline measured in the same run (the
ratio), because absolute times on a shared machine are noise. Each area has its own module
(``python -m bench.<area>``); ``make bench`` runs them all. The scale comes from
``JIEDUI_BENCH_SCALE`` (``district`` by default; ``10x``, ``50x``, ``province``) and the
database from ``JIEDUI_BENCH_DATABASE_URL`` (a temporary SQLite file when unset).
"""
import os
import statistics
import time
from dataclasses import dataclass

ROUNDS = 30


@dataclass(frozen=True)
class Timing:
    median: float  # seconds
    spread: float  # seconds between the fastest and the slowest quarter (IQR)


@dataclass(frozen=True)
class Row:
    name: str
    baseline: Timing
    measured: Timing

    @property
    def ratio(self) -> float:
        return self.measured.median / self.baseline.median if self.baseline.median else 0.0


def timed(fn, rounds: int = ROUNDS, warmup: int = 1) -> Timing:
    """The median and interquartile spread of ``rounds`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    if len(samples) >= 4:
        quartiles = statistics.quantiles(samples, n=4)
        spread = quartiles[2] - quartiles[0]
    else:
        spread = max(samples) - min(samples)
    return Timing(statistics.median(samples), spread)


def scale() -> str:
    return os.environ.get("JIEDUI_BENCH_SCALE", "district")


def database_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def print_table(rows: list[Row], title: str = "", notes=()) -> None:
    """The one table every benchmark prints (medians in ms, ± the spread, and the ratio),
    then the notes: figures that are not ratios (sizes, CPU seconds, peak memory)."""
    if title:
        print(f"== {title} (scale {scale()})")
    print(f"{'benchmark':<64} {'baseline ms':>16} {'measured ms':>16} {'ratio':>7}")
    for row in rows:
        base = f"{row.baseline.median * 1000:.2f}±{row.baseline.spread * 1000:.2f}"
        meas = f"{row.measured.median * 1000:.2f}±{row.measured.spread * 1000:.2f}"
        print(f"{row.name:<64} {base:>16} {meas:>16} {row.ratio:>7.2f}")
    for note in notes:
        print(f"  {note}", flush=True)
