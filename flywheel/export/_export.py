"""`export_dataset`: gather eligible records, rebuild, validate, scrub PII, drop duplicates,
write atomically with a dataset card — or write nothing and say why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from flywheel import __version__
from flywheel.config import ExportConfig
from flywheel.datasets import Role, current_version, list_cases
from flywheel.embeddings import Embedder
from flywheel.errors import UserError
from flywheel.export._card import write_card
from flywheel.export._chat import Unrebuildable, chat_from_trace, request_message
from flywheel.export._dedupe import keep_distinct
from flywheel.export._formats import (
    EXPORT_SCHEMA_VERSION,
    ChatMessage,
    EvalRecord,
    PreferenceRecord,
    SFTRecord,
    dump_record,
)
from flywheel.export._pii import Scrubber
from flywheel.export._sources import Item, aware, positive_traces, validated_cases
from flywheel.export._write import write_jsonl
from flywheel.store import Store


class ExportKind(StrEnum):
    sft = "sft"
    preference = "preference"
    eval = "eval"


class NothingToExport(UserError):
    """No record is eligible: nothing was written."""


class ExportReport(BaseModel):
    kind: ExportKind
    out: str
    card: str
    records: int
    sources: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict)
    filtered: dict[str, int] = Field(default_factory=dict)
    pii_redactions: dict[str, int] = Field(default_factory=dict)
    exact_duplicates: int = 0
    near_duplicates: int = 0
    date_range: tuple[str | None, str | None] = (None, None)


class _Built(BaseModel):
    record: dict[str, Any]
    source: str
    key: str
    timestamp: datetime | None = None


def export_dataset(
    store: Store,
    kind: ExportKind | str,
    *,
    out: Path,
    config: ExportConfig | None = None,
    since: datetime | None = None,
    min_confidence: float | None = None,
    roles: Sequence[Role | str] = (),
    embedder: Embedder | None = None,
    reader: str = "export",
) -> ExportReport:
    """Export ``kind`` (sft | preference | eval) to ``out``. Raises `NothingToExport` when no
    record is eligible (no file written). ``min_confidence`` (default from config) applies to
    production traces; validated cases passed the gate and a human. ``embedder`` (None: exact
    duplicates only) finds near-duplicates; ``roles`` limits an eval export."""
    try:
        kind = ExportKind(kind)
    except ValueError:
        valid = ", ".join(k.value for k in ExportKind)
        raise UserError(f"unknown export format '{kind}'; valid: {valid}") from None
    config = config or ExportConfig()
    confidence = config.min_confidence if min_confidence is None else min_confidence
    if not 0 <= confidence <= 1:
        raise UserError(f"--min-confidence must be between 0 and 1, got {confidence}")
    since = aware(since)
    skipped: Counter[str] = Counter()
    filtered: Counter[str] = Counter()
    scrubber = Scrubber(config)
    builders: dict[ExportKind, Callable[[], Iterable[_Built | None]]] = {
        ExportKind.sft: lambda: _sft(store, scrubber, confidence, reader, skipped),
        ExportKind.preference: lambda: _preference(store, scrubber, skipped),
        ExportKind.eval: lambda: _eval(store, scrubber, roles),
    }
    built: list[_Built] = []
    for item in builders[kind]():
        if item is None:
            continue
        if since is not None and (item.timestamp is None or item.timestamp < since):
            filtered["before --since" if item.timestamp else "no timestamp (--since)"] += 1
            continue
        built.append(item)
    threshold = config.near_duplicate_threshold if kind is not ExportKind.eval else 1.0
    kept, exact, near = keep_distinct(
        [b.key for b in built], threshold=threshold, embedder=embedder
    )
    records = [built[i] for i in kept]
    if not records:
        raise NothingToExport(_why_nothing(kind, confidence, since, skipped, filtered))
    write_jsonl(out, (r.record for r in records))
    stamps = sorted(r.timestamp for r in records if r.timestamp is not None)
    report = ExportReport(
        kind=kind,
        out=str(out),
        card="",
        records=len(records),
        sources=dict(Counter(r.source for r in records)),
        skipped=dict(skipped),
        filtered=dict(filtered),
        pii_redactions=dict(scrubber.counts),
        exact_duplicates=exact,
        near_duplicates=near,
        date_range=(stamps[0].isoformat(), stamps[-1].isoformat()) if stamps else (None, None),
    )
    card = write_card(out, _card_facts(report, config, since, confidence, threshold))
    return report.model_copy(update={"card": str(card)})


def _why_nothing(
    kind: ExportKind,
    confidence: float,
    since: datetime | None,
    skipped: Counter[str],
    filtered: Counter[str],
) -> str:
    wanted = {
        ExportKind.sft: "promoted cases with a validated output or production traces with "
        f"positive feedback >= {confidence:g}",
        ExportKind.preference: "promoted cases with both a validated output and the original "
        "failing output",
        ExportKind.eval: "eval cases (add some with `flywheel datasets add` or `sync`)",
    }[kind]
    parts = [f"nothing to export as {kind}: no {wanted}"]
    if since is not None:
        parts.append(f"since {since.date().isoformat()}")
    lost = {**skipped, **filtered}
    if lost:
        parts.append("(" + ", ".join(f"{n} {why}" for why, n in sorted(lost.items())) + ")")
    return " ".join(parts) + "; nothing was written"


def _validated(
    model: type[BaseModel], payload: dict[str, Any], skipped: Counter[str]
) -> dict[str, Any] | None:
    try:
        return dump_record(model.model_validate(payload))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        skipped[f"invalid {model.__name__}: {first['msg']}"] += 1
        return None


def _sft(
    store: Store, scrubber: Scrubber, confidence: float, reader: str, skipped: Counter[str]
) -> Iterable[_Built | None]:
    items: list[Item] = list(validated_cases(store))
    items += positive_traces(store, min_confidence=confidence, reader=reader)
    for item in items:
        try:
            if item.answer_trace is not None:  # the validated run: its tool calls and answer
                messages = chat_from_trace(item.answer_trace, answer=item.answer)
                messages[0] = request_message(item.trace)
            elif item.answer is not None:  # the answer alone: the failing run's calls are wrong
                messages = [
                    request_message(item.trace),
                    ChatMessage(role="assistant", content=item.answer),
                ]
            else:
                messages = chat_from_trace(item.trace)
        except (Unrebuildable, ValidationError) as exc:
            reason = exc.reason if isinstance(exc, Unrebuildable) else "invalid message"
            skipped[f"unrebuildable: {reason}"] += 1
            continue
        names = scrubber.names_of([item.trace, item.answer_trace])
        payload = {
            "messages": scrubber.scrub([m.model_dump(exclude_none=True) for m in messages], names),
            "provenance": item.provenance.model_dump(),
        }
        record = _validated(SFTRecord, payload, skipped)
        if record is not None:
            key = "\n".join(m.get("content") or "" for m in record["messages"])
            yield _Built(record=record, source=item.source, key=key, timestamp=item.timestamp)


def _preference(store: Store, scrubber: Scrubber, skipped: Counter[str]) -> Iterable[_Built]:
    for item in validated_cases(store):
        if not item.rejected:
            skipped["no original failing output"] += 1
            continue
        try:
            prompt = request_message(item.trace)
        except Unrebuildable as exc:
            skipped[f"unrebuildable: {exc.reason}"] += 1
            continue
        names = scrubber.names_of([item.trace, item.answer_trace])
        payload = scrubber.scrub(
            {
                "prompt": [prompt.model_dump(exclude_none=True)],
                "chosen": [{"role": "assistant", "content": item.answer}],
                "rejected": [{"role": "assistant", "content": item.rejected}],
            },
            names,
        )
        payload["provenance"] = item.provenance.model_dump()
        record = _validated(PreferenceRecord, payload, skipped)
        if record is not None:
            key = f"{record['prompt'][-1]['content']}\n{record['chosen'][0]['content']}"
            yield _Built(record=record, source=item.source, key=key, timestamp=item.timestamp)


def _eval(store: Store, scrubber: Scrubber, roles: Sequence[Role | str]) -> Iterable[_Built]:
    wanted = {Role(r) for r in roles}
    if Role.holdout in wanted:
        raise UserError("the holdout is never exported; it is read only through HoldoutGuard")
    hashes = {
        role: (v.content_hash if (v := current_version(store, role)) else None) for role in Role
    }
    for case in list_cases(store):
        if wanted and case.role not in wanted:
            continue
        expected = case.expected.model_dump(mode="json", exclude={"reference_trace"})
        payload = scrubber.scrub(
            {
                "case_id": case.case_id,
                "role": case.role.value,
                "tags": [t.value for t in case.tags],
                "input": case.inputs,
                "expected": expected,
                "origin": case.origin.model_dump(mode="json"),
                "added_by": case.added_by,
                "added_at": case.added_at.isoformat(),
            },
            [],
        )
        payload["set_version"] = hashes[case.role]
        payload["provenance"] = case.provenance.model_dump()
        record = dump_record(EvalRecord.model_validate(payload))
        yield _Built(
            record=record,
            source=case.role.value,
            key=case.case_id,
            timestamp=aware(case.origin.timestamp),
        )


def _card_facts(
    report: ExportReport,
    config: ExportConfig,
    since: datetime | None,
    confidence: float,
    threshold: float,
) -> dict[str, Any]:
    return {
        "pretty_name": Path(report.out).stem,
        "license": config.licence,
        "format": report.kind.value,
        "schema_version": EXPORT_SCHEMA_VERSION,
        "records": report.records,
        "sources": report.sources,
        "filters": {
            "since": since.isoformat() if since else None,
            "min_confidence": confidence if report.kind is ExportKind.sft else None,
            "near_duplicate_threshold": threshold,
            "holdout": "excluded",
        },
        "date_range": list(report.date_range),
        "pii_redactions": report.pii_redactions,
        "duplicates_removed": {"exact": report.exact_duplicates, "near": report.near_duplicates},
        "skipped": {**report.skipped, **report.filtered},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_by": f"flywheel {__version__}",
    }
