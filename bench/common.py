"""Shared helpers for the benchmarks: Django set-up, timing, percentiles, reporting.

Benchmarks print their figures; they never assert. ``record()`` also appends each figure to
``var/bench-results.json`` so that ``run_all.py`` can print a summary table.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("KAPULA_BENCH_RESULTS", str(ROOT / "var" / "bench-results.json")))


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapula.settings")
    import django

    django.setup()


def percentile(samples: list[float], p: float) -> float:
    data = sorted(samples)
    if not data:
        return float("nan")
    k = (len(data) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def timed(fn: Callable[[], Any], iterations: int, warmup: int = 3) -> list[float]:
    """Milliseconds per call of ``fn``."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def record(name: str, samples: list[float] | None = None, *, target: str = "",
           value: float | None = None, unit: str = "ms", ok: bool | None = None,
           note: str = "") -> dict[str, Any]:
    """Print one figure (latency percentiles or a rate) and keep it for the summary."""
    row: dict[str, Any] = {"name": name, "unit": unit, "target": target, "note": note}
    if samples is not None:
        row.update(n=len(samples), p50=round(percentile(samples, 50), 2),
                   p95=round(percentile(samples, 95), 2), max=round(max(samples), 2),
                   mean=round(statistics.fmean(samples), 2))
        line = (f"{name:<58} n={len(samples):<4} p50={row['p50']:>8.2f}  p95={row['p95']:>8.2f}"
                f"  max={row['max']:>8.2f} {unit}")
    else:
        row["value"] = round(value or 0.0, 2)
        line = f"{name:<58} {row['value']:>10.2f} {unit}"
    if ok is not None:
        row["ok"] = ok
        line += f"   target {target}: {'OK' if ok else 'MISSED'}"
    if note:
        line += f"   ({note})"
    print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    existing.append(row)
    RESULTS.write_text(json.dumps(existing, indent=1, ensure_ascii=False))
    return row


def iterations(default: int = 60) -> int:
    return int(os.environ.get("KAPULA_BENCH_ITERATIONS", str(default)))
