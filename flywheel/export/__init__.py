"""Post-training export: validated behaviour as training data, with provenance.

`export_dataset(store, "sft" | "preference" | "eval", out=...)` gathers eligible records,
rebuilds chats from stored traces, validates each against its format (`SFTRecord`,
`PreferenceRecord`, `EvalRecord`), scrubs PII (`Scrubber`), drops near-duplicates, writes the
JSONL atomically with a dataset card beside it, and returns an `ExportReport` — or raises
`NothingToExport` and writes nothing.
"""

from flywheel.export._card import card_path
from flywheel.export._chat import Unrebuildable, chat_from_trace
from flywheel.export._export import ExportKind, ExportReport, NothingToExport, export_dataset
from flywheel.export._formats import (
    EXPORT_SCHEMA_VERSION,
    ChatMessage,
    EvalRecord,
    PreferenceRecord,
    SFTRecord,
)
from flywheel.export._pii import Scrubber
from flywheel.export._write import write_atomic, write_jsonl

__all__ = [
    "EXPORT_SCHEMA_VERSION",
    "ChatMessage",
    "EvalRecord",
    "ExportKind",
    "ExportReport",
    "NothingToExport",
    "PreferenceRecord",
    "SFTRecord",
    "Scrubber",
    "Unrebuildable",
    "card_path",
    "chat_from_trace",
    "export_dataset",
    "write_atomic",
    "write_jsonl",
]
