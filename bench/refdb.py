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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.scenario_mix import scenario_mix
from reference_db import evaluate, evaluate_json, verify_bundle
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
Row = tuple[str, str, str, str]  # figure, value, target, reference


def per_call(func: Callable[[Any], object], items: list[Any]) -> dict[str, float]:
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


def median_of_runs(func: Callable[[Any], object], items: list[Any]) -> dict[str, float]:
    """Each figure of ``per_call``, the median over ``RUNS`` runs."""
    runs = [per_call(func, items) for _ in range(RUNS)]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def median_time(func: Callable[[], object], runs: int) -> float:
    """Median wall seconds of ``runs`` calls of ``func``."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def in_process(book: RuleBook, items: list[dict[str, Any]]) -> dict[str, float]:
    """The engine on parsed scenarios, the engine with JSON parsing, and parsing alone."""
    as_of = datetime.fromisoformat(AS_OF)
    texts = [json.dumps(item) for item in items]  # what the CLI and the HTTP API receive
    parsed = [Scenario.model_validate_json(text) for text in texts]
    engine = median_of_runs(lambda s: evaluate(s, book, as_of), parsed)
    with_parse = median_of_runs(lambda text: evaluate_json(text, book, as_of), texts)
    parse = median_of_runs(Scenario.model_validate_json, texts)
    return {
        **engine,
        "with_parse_per_s": with_parse["per_s"],
        "with_parse_p99_us": with_parse["p99_us"],
        "parse_only_per_s": parse["per_s"],
    }


def refdb(*args: str, stdout: Any = subprocess.DEVNULL) -> None:
    """Run ``prep-refdb ARGS`` in a fresh interpreter, on the packaged sources."""
    command = [sys.executable, "-m", "reference_db", *args]
    env = {k: v for k, v in os.environ.items() if k != "PREP_REFDB_DB"}
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE)
    if done.returncode != 0:
        raise SystemExit(f"prep-refdb {args[0]}: exit {done.returncode}: {done.stderr.decode()}")


def through_cli(items: list[dict[str, Any]], work: Path) -> dict[str, float]:
    """Evaluations per second of ``evaluate --jsonl`` over ``items``, process start included."""
    source, empty, out = work / "scenarios.jsonl", work / "empty.jsonl", work / "verdicts.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in items), encoding="utf-8")
    empty.write_text("", encoding="utf-8")
    evaluate = ("evaluate", "--as-of", AS_OF, "--jsonl")
    with out.open("wb") as sink:
        wall = median_time(lambda: refdb(*evaluate, str(source), stdout=sink), runs=1)
    lines = out.read_text(encoding="utf-8").splitlines()
    errors = sum('"error"' in line for line in lines)
    if len(lines) != len(items) or errors:
        raise SystemExit(f"evaluate --jsonl: {len(lines)} lines for {len(items)}, {errors} errors")
    start = median_time(lambda: refdb(*evaluate, str(empty)), runs=1)
    return {"per_s": len(items) / wall, "wall_s": wall, "startup_s": start}


def build_and_verify(work: Path) -> dict[str, float]:
    """Median wall time of ``build``; median in-process verify time of the bundle it made."""
    key, bundle = work / "refdb.key", work / "prep-reference.sqlite"
    refdb("keygen", "--out", str(key))
    build = median_time(lambda: refdb("build", "--out", str(bundle), "--key", str(key)), RUNS)
    compiled = median_time(lambda: compile_sources(DEFAULT_SOURCES), RUNS)
    public, now = load_public_key(Path(f"{key}.pub")), datetime.fromisoformat(AS_OF)
    verify = median_time(lambda: verify_bundle(bundle, public, now), 20)
    data = bundle.read_bytes()
    hashed = median_time(lambda: hashlib.sha256(data).digest(), 20)
    scale = TEN_MB / len(data)
    return {
        "build_s": build,
        "compile_in_memory_s": compiled,
        "bundle_bytes": len(data),
        "verify_ms": verify * 1e3,
        "verify_ms_per_10mb": verify * 1e3 * scale,
        "verify_ms_per_10mb_hash_scaled": (verify + hashed * (scale - 1)) * 1e3,
        "sha256_ms": hashed * 1e3,
    }


def mark(ok: bool, target: str) -> str:
    return f"{'ok  ' if ok else 'MISS'} {target}"


def rows(result: dict[str, Any]) -> list[Row]:
    """The table: each figure, its target (with a mark) and the same-run reference."""
    e, c, b = result["engine"], result["cli"], result["bundle"]
    parse = f"parse only {e['parse_only_per_s']:,.0f}/s: {e['per_s'] / e['parse_only_per_s']:.2f}x"
    both, both_p99 = e["with_parse_per_s"], e["with_parse_p99_us"]
    cli = f"{c['per_s'] / e['per_s']:.2f}x in process; start {c['startup_s']:.2f} s"
    hashed = f"sha256 of the file {b['sha256_ms']:.2f} ms: {b['verify_ms'] / b['sha256_ms']:.1f}x"
    compiled = f"in-memory compile {b['compile_in_memory_s']:.2f} s"
    size = f"bundle {b['bundle_bytes']:,} bytes"
    rate, p99, build, scaled = e["per_s"], e["p99_us"], b["build_s"], b["verify_ms_per_10mb"]
    return [
        ("engine evaluations/s", f"{rate:,.0f}", mark(rate >= 10_000, ">= 10,000"), parse),
        (
            "engine + JSON parse evaluations/s",
            f"{both:,.0f}",
            mark(both >= 10_000, ">= 10,000"),
            "",
        ),
        (
            "engine + JSON parse p99",
            f"{both_p99:.0f} us",
            mark(both_p99 <= 1000, "<= 1,000 us"),
            "",
        ),
        ("engine p50 per evaluation", f"{e['p50_us']:.0f} us", "", ""),
        ("engine p99 per evaluation", f"{p99:.0f} us", mark(p99 <= 1000, "<= 1,000 us"), ""),
        ("CLI evaluations/s, start included", f"{c['per_s']:,.0f}", "", cli),
        ("build, subprocess", f"{build:.2f} s", mark(build <= 10, "<= 10 s"), compiled),
        ("verify, in process", f"{b['verify_ms']:.2f} ms", "", size),
        ("verify per 10 MB, linear", f"{scaled:.1f} ms", mark(scaled <= 50, "<= 50 ms"), hashed),
        ("verify per 10 MB, hash scaled", f"{b['verify_ms_per_10mb_hash_scaled']:.1f} ms", "", ""),
    ]


def render(table: list[Row]) -> str:
    lines = [("figure", "value", "target", "reference, same run"), *table]
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    cells = (zip(line, widths, strict=True) for line in lines)
    return "\n".join("  ".join(cell.ljust(w) for cell, w in row).rstrip() for row in cells)


def save(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    path = RESULTS / f"refdb-{result['stamp']}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS / "refdb-latest.json").write_text(text, encoding="utf-8")
    return path


def run(count: int) -> dict[str, Any]:
    book = load_rulebook(compile_sources(DEFAULT_SOURCES))
    items = scenario_mix(book, count)
    with tempfile.TemporaryDirectory(prefix="prep-bench-") as tmp:
        engine, cli = in_process(book, items), through_cli(items, Path(tmp))
        bundle = build_and_verify(Path(tmp))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    about = {"benchmark": "refdb", "stamp": stamp, "scenarios": count, "runs": RUNS}
    machine = {"python": platform.python_version(), "cpus": os.cpu_count()}
    return {**about, **machine, "engine": engine, "cli": cli, "bundle": bundle}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.refdb", description=__doc__)
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
