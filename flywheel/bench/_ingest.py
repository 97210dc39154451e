"""`flywheel bench ingest`: traces/s and peak RSS of ingestion, against a naive baseline.

Each measurement runs in a fresh child process whose memory is sampled from outside. The naive
baseline is what a first version would do: ``json.loads`` per line and one ORM insert
(``session.add`` + ``flush``) per row, committed at the end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flywheel.bench._tracegen import write_synthetic


def _measure_flywheel(path: Path, url: str) -> dict[str, Any]:
    from flywheel.ingest import ingest_paths
    from flywheel.store import Store

    store = Store.open(url)
    cpu, start = _cpu_seconds(), time.perf_counter()
    counts = ingest_paths(store, [path])
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cpu_seconds": _cpu_seconds() - cpu,
        "stored": counts.stored,
        "read": counts.read,
        "quarantined": counts.quarantined,
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the forked parsers): the figure
    that a loaded machine moves least."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _measure_naive(path: Path, url: str) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from flywheel.store import Store
    from flywheel.store._codec import encode_payload
    from flywheel.store._tables import TraceRow

    store = Store.open(url)
    cpu, start = _cpu_seconds(), time.perf_counter()
    stored = 0
    with Session(store.engine) as session, path.open("rb") as handle:
        for line in handle:
            data = json.loads(line)
            session.add(
                TraceRow(
                    source="native",
                    trace_id=data["trace_id"],
                    content_hash="",
                    session_id=data.get("session_id"),
                    input_preview=str(data["input"])[:300],
                    latency_ms=data.get("latency_ms"),
                    cost_usd=data.get("cost_usd"),
                    payload=encode_payload(line),
                )
            )
            session.flush()
            stored += 1
        session.commit()
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": _cpu_seconds() - cpu,
        "stored": stored,
        "read": stored,
    }


def worker(mode: str, path: str, url: str) -> None:
    """Child-process entry: run one measurement and print its result as JSON."""
    measure = _measure_flywheel if mode == "flywheel" else _measure_naive
    print(json.dumps(measure(Path(path), url)))


def _child(mode: str, path: Path, url: str) -> dict[str, Any]:
    """Run one measurement in a fresh process, sampling its memory every 20 ms.

    The peak is of the resident memory of the worker plus its forked parser, summed. (The
    kernel's ru_maxrss would not do: Linux carries a parent's peak across exec.)
    """
    import psutil

    command = [
        sys.executable,
        "-c",
        f"from flywheel.bench._ingest import worker; worker{(mode, str(path), url)!r}",
    ]
    peak = 0
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                family = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in family))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.02)
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child ({mode}) failed: {err.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["traces_per_s"] = result["read"] / result["seconds"]
    result["peak_rss_mb"] = peak / 2**20
    return result


def _fresh_postgres(base_url: str, name: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def run_ingest_benchmark(
    *,
    traces: int = 100_000,
    memory_lines: int = 1_000_000,
    repeats: int = 3,
    postgres_url: str | None = None,
    workdir: Path | None = None,
    readers: bool = True,
    reader_mb: float = 8.0,
    log: Any = print,
) -> dict[str, Any]:
    """Measure ingestion; returns medians per backend and ratios against the naive baseline.

    With ``readers``, also each reader's speed on about ``reader_mb`` MB of its format (real
    exports replicated, see `flywheel.bench._readers`), against native on a file of the same
    size measured in the same round.
    """
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmpdir = Path(tmp)
        data = tmpdir / "traces.jsonl"
        size = write_synthetic(data, traces)
        log(f"wrote {traces} traces ({size / traces:.0f} bytes each) to {data}")
        backends: dict[str, Any] = {}
        targets = {"sqlite": None, **({"postgresql": postgres_url} if postgres_url else {})}
        for backend, base in targets.items():
            runs: dict[str, list[dict[str, Any]]] = {"flywheel": [], "naive": []}
            for repeat in range(repeats):
                for mode in ("flywheel", "naive"):
                    name = f"fwbench_{mode}_{repeat}"
                    url = (
                        f"sqlite:///{tmpdir / name}.db"
                        if base is None
                        else _fresh_postgres(base, name)
                    )
                    result = _child(mode, data, url)
                    runs[mode].append(result)
                    log(
                        f"{backend} {mode} run {repeat + 1}: "
                        f"{result['traces_per_s']:.0f} traces/s, "
                        f"peak RSS {result['peak_rss_mb']:.0f} MB"
                    )
            backends[backend] = _summarise(runs)
        report: dict[str, Any] = {
            "traces": traces,
            "bytes_per_trace": round(size / traces),
            "repeats": repeats,
            "backends": backends,
        }
        if readers:
            fw = backends["sqlite"]["flywheel"]
            main_kb_per_s = fw["traces_per_s_median"] * size / traces / 1024
            report["readers"] = _reader_rounds(
                tmpdir, repeats, int(reader_mb * 2**20), main_kb_per_s, log
            )
        if memory_lines:
            big = tmpdir / "big.jsonl"
            write_synthetic(big, memory_lines, seed=1)
            data.unlink()
            result = _child("flywheel", big, f"sqlite:///{tmpdir / 'memory'}.db")
            log(
                f"memory: {memory_lines} lines at {result['traces_per_s']:.0f} traces/s, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB"
            )
            report["memory"] = {
                "lines": memory_lines,
                "peak_rss_mb": round(result["peak_rss_mb"], 1),
                "traces_per_s": round(result["traces_per_s"]),
            }
    return report


def _reader_rounds(
    tmpdir: Path, repeats: int, target_bytes: int, main_kb_per_s: float, log: Any
) -> dict[str, Any]:
    """traces/s and KB/s of every reader with a sample, and native's KB/s over each reader's:
    native on an input of the same size in the same round, and native's main figure (the
    large file, earlier in the run). The issue's goal: at most 3."""
    from flywheel.bench._readers import ReaderInput, find_samples, reader_inputs
    from flywheel.formats import format_names

    folder = tmpdir / "readers"
    folder.mkdir()
    native = folder / "native.jsonl"
    count = max(100, target_bytes // 1900)
    size = write_synthetic(native, count, seed=2)
    inputs = [
        ReaderInput("native", "native", native, size, count, 1, ("flywheel.bench._tracegen",))
    ]
    samples = find_samples()
    samples.pop("native", None)
    inputs += reader_inputs(samples, folder, target_bytes)
    for item in inputs:
        log(
            f"reader input {item.name}: {item.traces} traces, {item.bytes / 2**20:.1f} MB "
            f"in {item.files} file(s)"
        )
    runs: dict[str, list[dict[str, Any]]] = {item.name: [] for item in inputs}
    for repeat in range(repeats):
        for index, item in enumerate(inputs):
            url = f"sqlite:///{folder / f'run{repeat}-input{index}'}.db"
            result = _child("flywheel", item.path, url)
            result["kb_per_s"] = item.bytes / 1024 / result["seconds"]
            runs[item.name].append(result)
            log(
                f"reader {item.name} run {repeat + 1}: {result['traces_per_s']:.0f} traces/s, "
                f"{result['kb_per_s']:.0f} KB/s ({result['stored']} of {item.traces} stored)"
            )
    out: dict[str, Any] = {}
    for item in inputs:
        results = runs[item.name]
        ratios = [
            n["kb_per_s"] / r["kb_per_s"] for n, r in zip(runs["native"], results, strict=True)
        ]
        out[item.name] = {
            "format": item.format,
            "samples": list(item.samples),
            "traces": item.traces,
            "files": item.files,
            "mb": round(item.bytes / 2**20, 1),
            "kb_per_trace": round(item.bytes / 1024 / item.traces, 1),
            "stored_median": round(statistics.median(r["stored"] for r in results)),
            "traces_per_s_median": round(statistics.median(r["traces_per_s"] for r in results)),
            "kb_per_s_median": round(statistics.median(r["kb_per_s"] for r in results)),
            "cpu_us_per_kb_median": round(
                statistics.median(1e6 * r["cpu_seconds"] * 1024 / item.bytes for r in results)
            ),
            "native_per_kb_ratio_median": round(statistics.median(ratios), 2),
            "main_native_per_kb_ratio": round(
                main_kb_per_s / statistics.median(r["kb_per_s"] for r in results), 2
            ),
            "within_3x": statistics.median(ratios) <= 3,
        }
    missing = sorted(set(format_names()) - {item.format for item in inputs})
    if missing:
        out["_no_sample"] = missing
    return out


def _summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for mode, results in runs.items():
        summary[mode] = {
            "traces_per_s_median": round(statistics.median(r["traces_per_s"] for r in results)),
            "traces_per_s_runs": [round(r["traces_per_s"]) for r in results],
            "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in results), 1),
            "cpu_us_per_trace_median": round(
                statistics.median(1e6 * r["cpu_seconds"] / r["read"] for r in results)
            ),
        }
    # Ratio per repeat (each pair ran back to back), then the median: robust to a noisy machine.
    ratios = [
        f["traces_per_s"] / n["traces_per_s"]
        for f, n in zip(runs["flywheel"], runs["naive"], strict=True)
    ]
    summary["speedup_vs_naive_median"] = round(statistics.median(ratios), 2)
    return summary
