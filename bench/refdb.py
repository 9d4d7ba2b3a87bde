"""Benchmarks of the reference database: engine throughput and latency, the CLI, build and verify.

``python -m bench.refdb [--quick] [--json]``. Each figure is printed beside its target and a
reference measured in the same run (parsing alone for the engine, the engine in process for the
CLI, the unsigned in-memory build for ``build``, hashing the file for ``verify``); results go to
``bench/results/refdb-<UTC timestamp>.json`` and ``refdb-latest.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from reference_db import evaluate_json, verify_bundle
from reference_db.builder import DEFAULT_SOURCES, compile_sources
from reference_db.reader import load_rulebook
from reference_db.rulebook import RuleBook
from reference_db.signing import load_public_key
from sync.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
AS_OF = "2025-11-05T09:00:00Z"
TEN_MB = 10_000_000
RUNS = 3
PACKS = {  # jurisdiction: (required permits, additional insured, zoning notices held)
    "san_francisco": (
        ("shared_kitchen", "fire", "ventilation", "health_permit"),
        "City and County of San Francisco",
        {"neighborhood_notice_doc_id": "n-300ft"},
    ),
    "portland": (
        ("commissary", "fire", "ventilation", "health_permit"),
        "City of Portland and Multnomah County",
        {"community_notice_doc_id": "c-letter"},
    ),
    "seattle": (
        ("TFE", "commissary", "fire", "ventilation", "health_permit"),
        "City of Seattle and King County",
        {},
    ),
}
DEGRADATIONS = (
    "drop_permit",
    "liability",
    "aggregate",
    "insured",
    "quiet",
    "ada",
    "grease",
    "inspection",
    "maintenance",
    "short",
    "over_cap",
    "december",
    "fees",
)
WEEKDAYS = [date(2025, 11, d) for d in range(6, 29) if date(2025, 11, d).weekday() < 5]
Row = tuple[str, str, str, str]  # figure, value, target, reference


def scenario(rng: random.Random) -> dict[str, Any]:
    """A compliant SF/Portland/Seattle scenario with zero to three random degradations."""
    jurisdiction = rng.choice(sorted(PACKS))
    permits, insured, zoning = PACKS[jurisdiction]
    bad = set(rng.sample(DEGRADATIONS, k=rng.choice((0, 0, 1, 2, 3))))
    day = rng.choice(WEEKDAYS) + timedelta(days=28 if "december" in bad else 0)
    start = datetime(day.year, day.month, day.day, 21 if "quiet" in bad else 10)
    end = start + timedelta(hours=1 if "short" in bad else 4)
    dropped = rng.choice(permits) if "drop_permit" in bad else None
    site: dict[str, Any] = {
        "permits": [{"kind": k, "status": "active"} for k in permits if k != dropped],
        "zoning": zoning,
        "ada_accessible": "ada" not in bad,
        "grease": {"last_service_at": f"2025-{'04' if 'grease' in bad else '10'}-20T10:00:00"},
        "inspections": [
            {
                "kind": "health",
                "start": (start + timedelta(minutes=30)).isoformat(),
                "end": (start + timedelta(minutes=90)).isoformat(),
            }
        ]
        if "inspection" in bad
        else [],
        "maintenance": [
            {
                "start": (end + timedelta(minutes=10)).isoformat(),
                "end": (end + timedelta(hours=1)).isoformat(),
            }
        ]
        if "maintenance" in bad
        else [],
    }
    renter = {
        "insurance": {
            "general_liability_cents": 50_000_000 if "liability" in bad else 100_000_000,
            "aggregate_cents": 150_000_000 if "aggregate" in bad else 200_000_000,
            "additional_insured_text": "City of Oakland" if "insured" in bad else insured,
        },
        "requires_ada_access": "ada" in bad,
        "documents": [{"kind": "food_handler_card", "status": "approved"}],
    }
    booking: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "product_type": "outdoor_cooking" if "december" in bad else None,
        "fees_required": "fees" in bad,
        "base_cents": 19500,
    }
    midnight = datetime(day.year, day.month, day.day)
    others = [{"start": midnight.isoformat(), "end": (midnight + timedelta(hours=16)).isoformat()}]
    return {
        "jurisdiction": jurisdiction,
        "site": site,
        "renter": renter,
        "booking": booking,
        "same_day_bookings": others if "over_cap" in bad else [],
    }


def scenarios(count: int, seed: int = 20251105) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [scenario(rng) for _ in range(count)]


def per_call(
    func: Callable[[dict[str, Any]], object], items: list[dict[str, Any]]
) -> dict[str, float]:
    """Calls per second over ``items`` and the p50/p99 of one call, in microseconds."""
    times = []
    clock = time.perf_counter_ns
    began = clock()
    for item in items:
        t0 = clock()
        func(item)
        times.append(clock() - t0)
    elapsed = (clock() - began) / 1e9
    cuts = statistics.quantiles(times, n=100)
    return {"per_s": len(items) / elapsed, "p50_us": cuts[49] / 1e3, "p99_us": cuts[98] / 1e3}


def median_of_runs(
    func: Callable[[dict[str, Any]], object], items: list[dict[str, Any]]
) -> dict[str, float]:
    runs = [per_call(func, items) for _ in range(RUNS)]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def in_process(book: RuleBook, items: list[dict[str, Any]]) -> dict[str, float]:
    as_of = datetime.fromisoformat(AS_OF)
    engine = median_of_runs(lambda s: evaluate_json(s, book, as_of), items)
    parse = median_of_runs(Scenario.model_validate, items)
    return {**engine, "parse_only_per_s": parse["per_s"]}


def refdb(*args: str, stdout: Any = subprocess.DEVNULL) -> float:
    """Run ``prep-refdb ARGS`` as a fresh process; seconds of wall time."""
    env = {k: v for k, v in os.environ.items() if k != "PREP_REFDB_DB"}
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reference_db", *args],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        check=True,
    )
    return time.perf_counter() - began


def through_cli(items: list[dict[str, Any]], work: Path) -> dict[str, float]:
    """Evaluations per second of ``evaluate --jsonl`` over ``items``, process start included."""
    source, empty, out = work / "scenarios.jsonl", work / "empty.jsonl", work / "verdicts.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in items), encoding="utf-8")
    empty.write_text("", encoding="utf-8")
    with out.open("wb") as sink:
        wall = refdb("evaluate", "--jsonl", str(source), "--as-of", AS_OF, stdout=sink)
    lines = out.read_text(encoding="utf-8").splitlines()
    failed = [line for line in lines if '"error"' in line]
    if len(lines) != len(items) or failed:
        raise SystemExit(
            f"CLI gave {len(lines)} lines for {len(items)} scenarios, {len(failed)} errors"
        )
    startup = refdb("evaluate", "--jsonl", str(empty), "--as-of", AS_OF)
    return {"per_s": len(items) / wall, "wall_s": wall, "startup_s": startup}


def build_and_verify(work: Path) -> dict[str, float]:
    """Median wall time of ``build``; median in-process verify time of the bundle it made."""
    key, bundle = work / "refdb.key", work / "prep-reference.sqlite"
    refdb("keygen", "--out", str(key))
    build_s = statistics.median(
        refdb("build", "--out", str(bundle), "--key", str(key)) for _ in range(RUNS)
    )
    compile_s = statistics.median(
        timed(lambda: compile_sources(DEFAULT_SOURCES)) for _ in range(RUNS)
    )
    public, now = load_public_key(Path(f"{key}.pub")), datetime.fromisoformat(AS_OF)
    verify_s = statistics.median(
        timed(lambda: verify_bundle(bundle, public, now)) for _ in range(20)
    )
    data = bundle.read_bytes()
    hash_s = statistics.median(timed(lambda: hashlib.sha256(data).digest()) for _ in range(20))
    size = bundle.stat().st_size
    return {
        "build_s": build_s,
        "compile_in_memory_s": compile_s,
        "verify_ms": verify_s * 1e3,
        "bundle_bytes": size,
        "verify_ms_per_10mb": verify_s * 1e3 * TEN_MB / size,
        "sha256_ms": hash_s * 1e3,
    }


def timed(func: Callable[[], object]) -> float:
    began = time.perf_counter()
    func()
    return time.perf_counter() - began


def rows(f: dict[str, Any]) -> list[Row]:
    """The table: each figure, its target (with a mark) and the same-run reference."""
    e, c, b = f["engine"], f["cli"], f["bundle"]

    def mark(ok: bool, target: str) -> str:
        return f"{'ok  ' if ok else 'MISS'} {target}"

    return [
        (
            "engine evaluations/s",
            f"{e['per_s']:,.0f}",
            mark(e["per_s"] >= 10_000, ">= 10,000"),
            f"parse only {e['parse_only_per_s']:,.0f}/s "
            f"({e['per_s'] / e['parse_only_per_s']:.2f}x)",
        ),
        ("engine p50 per evaluation", f"{e['p50_us']:.0f} us", "", ""),
        (
            "engine p99 per evaluation",
            f"{e['p99_us']:.0f} us",
            mark(e["p99_us"] <= 1000, "<= 1,000 us"),
            "",
        ),
        (
            "CLI evaluations/s (with start)",
            f"{c['per_s']:,.0f}",
            "",
            f"in process {c['per_s'] / e['per_s']:.2f}x; start {c['startup_s']:.2f} s",
        ),
        (
            "build (subprocess)",
            f"{b['build_s']:.2f} s",
            mark(b["build_s"] <= 10, "<= 10 s"),
            f"in-memory compile {b['compile_in_memory_s']:.2f} s",
        ),
        (
            "verify (in process)",
            f"{b['verify_ms']:.2f} ms",
            "",
            f"bundle {b['bundle_bytes']:,} bytes",
        ),
        (
            "verify per 10 MB (scaled)",
            f"{b['verify_ms_per_10mb']:.1f} ms",
            mark(b["verify_ms_per_10mb"] <= 50, "<= 50 ms"),
            f"sha256 of the file {b['sha256_ms']:.2f} ms ({b['verify_ms'] / b['sha256_ms']:.1f}x)",
        ),
    ]


def render(table: list[Row]) -> str:
    header: Row = ("figure", "value", "target", "reference (same run)")
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *table]
    )


def save(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    path = RESULTS / f"refdb-{result['stamp']}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS / "refdb-latest.json").write_text(text, encoding="utf-8")
    return path


def run(count: int) -> dict[str, Any]:
    book = load_rulebook(compile_sources(DEFAULT_SOURCES))
    items = scenarios(count)
    with tempfile.TemporaryDirectory(prefix="prep-bench-") as tmp:
        figures = {
            "engine": in_process(book, items),
            "cli": through_cli(items, Path(tmp)),
            "bundle": build_and_verify(Path(tmp)),
        }
    return {
        "benchmark": "refdb",
        "stamp": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "scenarios": count,
        "runs": RUNS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        **figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.refdb", description="Benchmark the reference database."
    )
    parser.add_argument("--quick", action="store_true", help="2,000 scenarios instead of 20,000")
    parser.add_argument("--json", action="store_true", help="end with the results as one JSON line")
    args = parser.parse_args(argv)
    result = run(2_000 if args.quick else 20_000)
    print(f"reference bundle, {result['scenarios']:,} scenarios, median of {RUNS} runs\n")
    print(render(rows(result)))
    print(f"\nwrote {save(result).relative_to(ROOT)}")
    if args.json:
        print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
