"""Benchmarks behind `flywheel bench ...`: figures are measured, never asserted in unit tests."""

from flywheel.bench._ingest import run_ingest_benchmark

__all__ = ["run_ingest_benchmark"]
