"""Benchmarks of Prep against the targets of BENCHMARKS.md; each writes JSON to bench/results/."""
