"""A whole JSON document read by orjson (the fast way) gives exactly what Python's json gives:
the value, the line, the raw bytes, and the same rejection where orjson cannot say (integers
past 64 bits, NaN, lone surrogates, a byte order mark, text after the value)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.formats import TraceSource
from flywheel.formats._source import _iter_document

_SPAN = '{"traceId": "5B8E", "spanId": "EEE1", "name": "s", "kind": 2}'
_DOCUMENTS = {
    "plain": '{"resourceSpans": [' + _SPAN + "]}",
    "indented": '\n\n  {\n  "a": [1, 2.5, -0.0, true, null, "x\\u00e9"]\n}\r\n\t \n',
    "nanos, 19 digits": '{"startTimeUnixNano": 1544712660000000000}',
    "past 64 bits": '{"n": 123456789012345678901234}',
    "below -2**63": '{"n": -9223372036854775809}',
    "long float": '{"n": 0.12345678901234567890123}',
    "NaN": '{"n": NaN, "m": Infinity}',
    "overflowing float": '{"n": 1E400}',
    "lone surrogate": '{"s": "\\ud800x"}',
    "byte order mark": '\ufeff{"a": 1}',
    "trailing text": '{"a": 1}\n garbage',
    "two objects": '{"a": 1} {"b": 2}',
    "cut short": '{"a": [1, 2',
    "an array": '[{"a": 1},\n {"b": 2}]',
    "a string": '"just text"',
}


@pytest.mark.parametrize("name", sorted(_DOCUMENTS))
def test_a_document_reads_as_pythons_json_reads_it(tmp_path: Path, name: str) -> None:
    text = _DOCUMENTS[name]
    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    read = list(TraceSource(path).json_records())
    assert read == list(_iter_document(str(path), text))
    assert read  # a value or a rejection, never nothing
