"""The chat transcript format: OpenAI message lists, fine-tuning JSONL, multi-agent step lists."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from flywheel.formats import Parsed, Rejected, TraceSource, detect_format, get_format
from flywheel.formats.chat import ChatFormat
from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.trace import StepType, Trace

DATA = Path(__file__).parent / "data"


def read(path: Path) -> list[Parsed | Rejected]:
    return list(ChatFormat().read(TraceSource(path)))


def traces(path: Path) -> dict[str, Trace]:
    return {r.trace.trace_id: r.trace for r in read(path) if isinstance(r, Parsed)}


def test_tool_calls_are_paired_with_their_results_by_call_id() -> None:
    trace = traces(DATA / "chat_openai.jsonl")["conv-1"]

    assert trace.input == "What is the weather in Paris and Rome?"
    assert trace.output == "Paris: rain, 14C. Rome: sunny, 25C."
    llm = next(s for s in trace.steps if s.type is StepType.llm)
    tools = [s for s in trace.steps if s.type is StepType.tool]
    assert [(t.id, t.parent_id, t.name, t.input, t.output) for t in tools] == [
        ("3.1", "3", "get_weather", {"city": "Paris"}, "rain, 14C"),
        ("3.2", "3", "get_weather", {"city": "Rome"}, "sunny, 25C"),
    ]
    assert llm.id == "3"
    # The results came back in the other order; each names the message that carried it.
    assert [t.metadata["result_message"] for t in tools] == [5, 4]
    assert trace.tool_calls == 2
    # Tool messages are folded into their calls, not repeated as steps of their own.
    assert [s.id for s in trace.steps] == ["1", "2", "3", "3.1", "3.2", "6"]
    assert trace.metadata == {
        "tenant": "acme",
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    }


def test_bad_lines_are_rejected_with_line_and_field_and_the_good_ones_survive() -> None:
    records = read(DATA / "chat_openai.jsonl")

    assert [(r.trace.trace_id, r.line) for r in records if isinstance(r, Parsed)] == [
        ("conv-1", 1),
        ("chat_openai-2", 2),  # no id: the file stem and the line
        ("conv-9", 9),
    ]
    rejected = [(r.line, r.field) for r in records if isinstance(r, Rejected)]
    assert rejected == [
        (3, "messages.1.role"),  # a message without a role
        (4, "messages.0.content"),  # content of the wrong type
        (5, None),  # truncated JSON
        (6, None),  # a single message where a conversation belongs
        (7, "id"),  # an id that is neither a string nor an integer
        (8, "messages.1.tool_calls.0.function.name"),  # a tool call without a name
    ]
    reasons = {r.line: r.reason for r in records if isinstance(r, Rejected)}
    assert "Field required" in reasons[3]
    assert "must be a string" in reasons[4]
    assert reasons[5].startswith("invalid JSON")
    assert "a single message, not a conversation" in reasons[6]


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ({"messages": []}, "messages", "no messages"),
        ({"messages": "hello"}, "messages", "must be a list"),
        ({"messages": [{"role": 3, "content": "x"}]}, "messages.0.role", "valid string"),
        ({"messages": [{"role": "user", "content": "x"}, "oops"]}, "messages.1", "dictionary"),
        ([{"role": "assistant", "tool_calls": "call"}], "0.tool_calls", "valid list"),
        (
            [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": 1}}]}],
            "0.tool_calls.0.function.arguments",
            "JSON string or an object",
        ),
    ],
)
def test_wrong_types_name_the_field(tmp_path: Path, line: object, field: str, reason: str) -> None:
    path = tmp_path / "chats.jsonl"
    good = {"messages": [{"role": "user", "content": "fine"}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(line) + "\n")

    first, second = read(path)

    assert isinstance(first, Parsed)
    assert isinstance(second, Rejected)
    assert (second.line, second.field) == (2, field)
    assert reason in second.reason


def test_magentic_one_roles_become_agent_steps() -> None:
    trace = traces(DATA / "chat_magentic.json")["chat_magentic"]  # one conversation: the stem

    assert trace.input_text.startswith("How many studio albums")
    assert trace.output == "FINAL ANSWER: 3"
    assert trace.metadata == {"agents": ["Orchestrator", "WebSurfer"]}
    summary = [(s.id, s.type, s.name, s.metadata) for s in trace.steps]
    assert summary == [
        ("1", StepType.other, "human", {"role": "human"}),
        (
            "2",
            StepType.agent,
            "Orchestrator",
            {"role": "Orchestrator (thought)", "kind": "thought", "agent": "Orchestrator"},
        ),
        (
            "3",
            StepType.agent,
            "Orchestrator",
            {
                "role": "Orchestrator (-> WebSurfer)",
                "handoff_to": "WebSurfer",
                "agent": "Orchestrator",
            },
        ),
        ("4", StepType.agent, "WebSurfer", {"role": "WebSurfer", "agent": "WebSurfer"}),
        (
            "5",
            StepType.agent,
            "Orchestrator",
            {
                "role": "Orchestrator (termination condition)",
                "kind": "termination condition",
                "agent": "Orchestrator",
            },
        ),
        (
            "6",
            StepType.agent,
            "Orchestrator",
            {
                "role": "Orchestrator (final answer)",
                "kind": "final answer",
                "agent": "Orchestrator",
            },
        ),
    ]


def test_named_autogen_agents_and_unusual_tool_traffic() -> None:
    trace = traces(DATA / "chat_autogen.json")["chat_autogen"]

    assert [(s.id, s.type, s.name) for s in trace.steps] == [
        ("1", StepType.other, "admin"),
        ("2", StepType.agent, "coder"),
        ("2.1", StepType.tool, "run_python"),
        ("4", StepType.tool, "run_python"),
        ("5", StepType.agent, "critic"),
    ]
    call, orphan = trace.steps[2], trace.steps[3]
    # Arguments that are not JSON are kept as sent, and flagged.
    assert (call.input, call.output, call.metadata["arguments_not_json"]) == (
        "print(1",
        "SyntaxError",
        True,
    )
    # A result for a call nobody made is kept as a tool step of its own.
    assert orphan.output == "late result"
    assert orphan.metadata["unmatched"] is True
    assert trace.metadata["agents"] == ["coder", "critic"]


def test_a_truncated_message_list_is_rejected_at_the_cut(tmp_path: Path) -> None:
    records = read(DATA / "chat_truncated.json")

    assert len(records) == 1
    rejected = records[0]
    assert isinstance(rejected, Rejected)
    assert rejected.line == 4
    assert rejected.reason.startswith("the conversation is cut short: invalid JSON")


def test_a_document_of_several_conversations(tmp_path: Path) -> None:
    path = tmp_path / "dialogs.json"
    path.write_text(
        "[\n"
        '{"id": 17, "messages": [{"role": "user", "content": "a"}]},\n'
        '[{"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]\n'
        "]\n"
    )

    found = traces(path)

    assert sorted(found) == ["17", "dialogs-3"]
    assert (found["dialogs-3"].input, found["dialogs-3"].output) == ("b", "c")


def test_an_empty_document_is_rejected_not_silently_skipped(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]\n")

    (rejected,) = read(path)

    assert isinstance(rejected, Rejected)
    assert rejected.reason.startswith("the document is empty")


def test_a_transcript_without_a_user_message_starts_from_its_first_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "partial.json"
    path.write_text(json.dumps([{"role": "assistant", "content": "Welcome back."}]))

    (trace,) = traces(path).values()

    assert (trace.input, trace.output) == ("Welcome back.", "Welcome back.")


def test_gzipped_jsonl_with_a_first_line_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl.gz"
    long_line = {"messages": [{"role": "user", "content": "x" * 100_000}]}
    short_line = {"messages": [{"role": "user", "content": "y"}]}
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(long_line) + "\n" + json.dumps(short_line) + "\n")
    source = TraceSource(path)

    fmt = detect_format(source)

    assert fmt is not None
    assert fmt.name == "chat"
    assert sorted(traces(path)) == ["long-1", "long-2"]


def test_detection_leaves_native_and_tau_bench_files_alone() -> None:
    chat = ChatFormat()
    for name in ("chat_native_lookalike.jsonl", "tau_runs.json", "tau_single.json"):
        source = TraceSource(DATA / name)
        assert not chat.sniff(source, source.head()), name
    native = detect_format(TraceSource(DATA / "chat_native_lookalike.jsonl"))
    assert native is not None
    assert native.name == "native"
    for name in ("chat_openai.jsonl", "chat_magentic.json", "chat_autogen.json"):
        fmt = detect_format(TraceSource(DATA / name))
        assert fmt is not None
        assert fmt.name == "chat", name


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ({"08cae58d-4084": 129, "0a3cd321-3e76": 67}, 1),  # steps_by_id.json: id -> step count
        ([{"trajectory_id": "5f98", "failures": [{"failure_id": 1, "step_number": 13}]}], 2),
    ],
    ids=["steps_by_id", "ground_truth"],
)
def test_label_files_are_not_claimed_and_forcing_them_says_why(
    tmp_path: Path, content: object, line: int
) -> None:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(content, indent=2))
    source = TraceSource(path)

    assert detect_format(source) is None
    (rejected,) = get_format("chat").read(source)

    assert isinstance(rejected, Rejected)
    assert rejected.line == line  # where the first record starts
    assert "expected a conversation" in rejected.reason
    assert "is this a trace file?" in rejected.reason


def test_ingest_counts_add_up_and_a_second_ingest_stores_nothing(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        first = ingest_paths(store, [DATA / "chat_openai.jsonl"])
        second = ingest_paths(store, [DATA / "chat_openai.jsonl"])
        stored = store.get_trace("conv-1", source="chat").trace
    finally:
        store.close()

    assert (first.read, first.stored, first.quarantined) == (9, 3, 6)
    assert (second.stored, second.updated, second.duplicates) == (0, 0, 3)
    assert stored.steps[3].output == "rain, 14C"
