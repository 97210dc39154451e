"""Input files for the per-reader ingest speed: real exports of each format, replicated.

No exporter writes the other formats from the demo world, so each reader is measured on the
real files the corpus tests hold (``tests/fixtures/real``, ``tests/formats/data``), copied
until the input reaches a given size. Every copy gets its own trace ids (each id the reader
stored from the original is replaced in the copy's bytes), so every copy is stored as a new
trace, as in the native measurement, rather than counted as a duplicate. JSONL samples are
concatenated into one file; JSON documents (one trace, or one page, per file, as the tools
write them) become one file per copy in a folder, so the per-file cost of detection is part
of the figure.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select

#: Where the corpus lives in a source checkout.
REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIRS = (REPO / "tests" / "fixtures" / "real", REPO / "tests" / "formats" / "data")
#: Sample files that exist to test a failure, not to be read: left out of the speed figures.
_BROKEN = ("truncated", "lookalike")
#: Ids shorter than this are not replaced in a copy's bytes (they would match elsewhere).
_MIN_ID_CHARS = 6
_SUFFIXES = frozenset({".json", ".jsonl", ".traj"})


@dataclass(frozen=True)
class Sample:
    """A real file of one format and the trace ids its reader stores from it."""

    path: Path
    format: str
    trace_ids: tuple[str, ...]

    @property
    def jsonl(self) -> bool:
        return self.path.suffix == ".jsonl"


@dataclass(frozen=True)
class ReaderInput:
    """A benchmark input for one reader: a file or a folder, its bytes and traces."""

    #: The format, and the shape when a format is measured in two (``langsmith (files)``).
    name: str
    format: str
    path: Path
    bytes: int
    traces: int
    files: int
    samples: tuple[str, ...]


def find_samples(dirs: Iterable[Path] = SAMPLE_DIRS) -> dict[str, list[Sample]]:
    """The sample files under ``dirs`` by detected format, each with the ids it stores."""
    from flywheel.formats import TraceSource, detect
    from flywheel.ingest import ingest_paths
    from flywheel.store import Store
    from flywheel.store._tables import TraceRow

    found: dict[str, list[Sample]] = {}
    paths = sorted(
        path
        for folder in dirs
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.suffix in _SUFFIXES and not any(word in path.name for word in _BROKEN)
    )
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/samples.db") as store:
        for i, path in enumerate(paths):
            detection = detect(TraceSource(path))
            if detection is None:
                continue
            source = f"sample-{i}"
            counts = ingest_paths(store, [path], format=detection.format.name, source=source)
            if counts.stored == 0 or counts.quarantined:
                continue
            with store.engine.connect() as conn:
                ids = conn.execute(select(TraceRow.trace_id).where(TraceRow.source == source))
                found.setdefault(detection.format.name, []).append(
                    Sample(path, detection.format.name, tuple(ids.scalars()))
                )
    return found


def reader_inputs(
    samples: dict[str, list[Sample]], folder: Path, target_bytes: int
) -> list[ReaderInput]:
    """One input per format and shape: its JSONL samples concatenated into one file, and its
    JSON documents as a folder of files, each about ``target_bytes``."""
    inputs: list[ReaderInput] = []
    for fmt, found in sorted(samples.items()):
        groups = {
            "JSONL": [s for s in found if s.jsonl],
            "files": [s for s in found if not s.jsonl],
        }
        both = all(groups.values())
        for shape, group in groups.items():
            if not group:
                continue
            name = f"{fmt} ({shape})" if both else fmt
            made = write_reader_input(group, folder / f"{fmt}-{shape}", target_bytes)
            inputs.append(replace(made, name=name))
    return inputs


def write_reader_input(samples: list[Sample], out: Path, target_bytes: int) -> ReaderInput:
    """Copies of ``samples`` (in turn) until ``target_bytes``, each copy with fresh trace ids."""
    samples = [s for s in samples if _copies_are_new(s)] or samples
    jsonl = samples[0].jsonl
    folder = out.with_suffix("")
    if jsonl:
        handle = out.with_suffix(".jsonl").open("wb")
    else:
        folder.mkdir(parents=True, exist_ok=True)
    written = traces = files = copy = 0
    originals = [(sample, sample.path.read_bytes()) for sample in samples]
    try:
        while written < target_bytes:
            sample, data = originals[copy % len(originals)]
            body = _with_fresh_ids(data, sample.trace_ids, copy)
            if jsonl:
                handle.write(body if body.endswith(b"\n") else body + b"\n")
            else:
                name = f"{copy:06d}-{sample.path.stem}{sample.path.suffix}"
                (folder / name).write_bytes(body)
                files += 1
            written += len(body)
            traces += len(sample.trace_ids)
            copy += 1
    finally:
        if jsonl:
            handle.close()
    return ReaderInput(
        name=samples[0].format,
        format=samples[0].format,
        path=out.with_suffix(".jsonl") if jsonl else folder,
        bytes=written,
        traces=traces,
        files=1 if jsonl else files,
        samples=tuple(sorted({str(s.path.relative_to(REPO)) for s in samples})),
    )


#: tau-bench's trace id is made from the run's numeric ``task_id``: copies shift it.
_TASK_ID = re.compile(rb'("task_id"\s*:\s*)(\d+)')


def _with_fresh_ids(data: bytes, ids: tuple[str, ...], copy: int) -> bytes:
    """``data`` with every trace id of its reader replaced by a copy-specific one.

    An id built from parts (Inspect's ``task-run-sample-epoch``) has its long parts replaced
    instead. Only whole ids are replaced (``run-1`` inside ``run-10`` is not). An id made from
    the file's name needs no replacing: each copy has its own name.
    """
    shift = copy * 10**6
    data = _TASK_ID.sub(lambda found: found[1] + b"%d" % (int(found[2]) + shift), data)
    names = sorted(_id_parts(data, ids), key=len, reverse=True)
    if not names:
        return data
    pattern = re.compile(
        rb"(?<![\w.-])(" + b"|".join(re.escape(name.encode()) for name in names) + rb")(?![\w.-])"
    )
    suffix = f"-c{copy}".encode()
    return pattern.sub(lambda match: match.group(1) + suffix, data)


def _id_parts(data: bytes, ids: tuple[str, ...]) -> set[str]:
    """The ids found whole in ``data``, and the long dash-separated parts of the others."""
    names: set[str] = set()
    for trace_id in ids:
        if len(trace_id) >= _MIN_ID_CHARS and trace_id.encode() in data:
            names.add(trace_id)
        else:
            names.update(
                part
                for part in trace_id.split("-")
                if len(part) >= _MIN_ID_CHARS and part.encode() in data
            )
    return names


def _copies_are_new(sample: Sample) -> bool:
    """Whether copies of ``sample`` get new trace ids: each id is in its bytes (whole or by
    its long parts) or is made from the file's name, which each copy changes."""
    data = sample.path.read_bytes()
    if _TASK_ID.search(data):
        return True
    return all(
        _id_parts(data, (trace_id,)) or sample.path.stem in trace_id
        for trace_id in sample.trace_ids
    )
