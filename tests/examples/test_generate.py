"""Generated traffic: deterministic, labelled, realistic rates, and it responds to fixes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from statistics import mean

import pytest

from examples.acme_assistant import DEFAULT_CONFIG_DIR, FAILURE_MODES, generate
from examples.acme_assistant.generate import generate_traffic
from examples.acme_assistant.runtime import simulation
from flywheel.trace import Trace
from tests.helpers.files import edit

TAXONOMY = {
    "prompt_instruction",
    "routing_decision",
    "retrieval_ranking",
    "context_construction",
    "tool_arguments",
    "missing_capability",
    "model_limitation",
    "memory_multiturn",
    "data_freshness",
    "latency_infra",
    "evaluation_scorer",
}


def _modes(config: Path, n: int, seed: int = 7) -> tuple[Counter[str], list[Trace], set[str]]:
    """Failure counts, traces and failing trace ids of ``n`` generated traces."""
    items = list(generate_traffic(simulation(config), n, seed))
    failing = {i.trace.trace_id for i in items if i.failure_mode}
    return (
        Counter(i.failure_mode for i in items if i.failure_mode),
        [i.trace for i in items],
        failing,
    )


def test_same_seed_and_config_give_identical_bytes(tmp_path: Path) -> None:
    first = generate(300, 5, None, tmp_path / "a" / "traces.jsonl")
    second = generate(300, 5, DEFAULT_CONFIG_DIR, tmp_path / "b" / "traces.jsonl")
    assert first.out.read_bytes() == second.out.read_bytes()
    assert first.labels.read_bytes() == second.labels.read_bytes()
    other = generate(300, 6, None, tmp_path / "c" / "traces.jsonl")
    assert other.out.read_bytes() != first.out.read_bytes()


def test_labels_cover_exactly_the_failing_traces(tmp_path: Path) -> None:
    summary = generate(400, 3, None, tmp_path / "traces.jsonl")
    traces = [Trace.model_validate_json(line) for line in summary.out.read_bytes().splitlines()]
    labels = json.loads(summary.labels.read_text())
    assert summary.labels == tmp_path / "labels.json"
    assert len(traces) == summary.traces == 400
    _, _, failing = _modes(DEFAULT_CONFIG_DIR, 400, seed=3)
    assert set(labels) == failing
    assert len(labels) == summary.failing
    for label in labels.values():
        assert set(label) == {"failure_mode", "root_cause"}
        assert FAILURE_MODES[label["failure_mode"]] == label["root_cause"] in TAXONOMY
    # the truth stays out of the traces
    assert all("failure" not in line for line in summary.out.read_text().splitlines())


def test_traces_look_like_production(tmp_path: Path) -> None:
    summary = generate(400, 11, None, tmp_path / "traces.jsonl")
    traces = [Trace.model_validate_json(line) for line in summary.out.read_bytes().splitlines()]
    sessions = Counter(t.session_id for t in traces)
    assert summary.sessions == len(sessions) < len(traces)
    assert max(sessions.values()) > 1  # multi-turn sessions
    assert any("history" in t.input for t in traces if isinstance(t.input, dict))
    with_feedback = [t for t in traces if t.feedback]
    assert 0 < len(with_feedback) < len(traces) * 0.3  # sparse
    assert all(t.route in {"search", "tool", "direct", "clarify"} for t in traces)
    assert all({s.name for s in t.scores} == {"groundedness", "helpfulness"} for t in traces)
    assert all(t.latency_ms and t.cost_usd is not None and t.timestamp for t in traces)
    days = {t.timestamp.date() for t in traces if t.timestamp}
    assert min(days).isoformat() == "2026-11-16"
    assert len(days) >= 5
    assert all(t.metadata["app_version"] and t.metadata["intent"] for t in traces)


@pytest.mark.slow
def test_failure_rates_are_realistic_and_every_mode_appears() -> None:
    counts, traces, failing = _modes(DEFAULT_CONFIG_DIR, 2000)
    rate = len(failing) / len(traces)
    assert 0.20 <= rate <= 0.35, rate
    assert set(counts) == set(FAILURE_MODES)
    total = sum(counts.values())
    for mode in FAILURE_MODES:
        assert counts[mode] / total >= 0.03, (mode, counts[mode], total)


@pytest.mark.slow
def test_routing_fix_lowers_answered_from_memory(config_copy: Callable[[str], Path]) -> None:
    fixed = config_copy("routing-fix")
    edit(
        fixed / "routing.yaml",
        "  - name: news\n",
        (
            "  - name: accounts\n"
            '    pattern: "\\\\b(account|product|complain\\\\w*|unhappy|problem|'
            'relationship)\\\\b"\n'
            "    route: search\n"
            "  - name: news\n"
        ),
    )
    base, _, _ = _modes(DEFAULT_CONFIG_DIR, 2000)
    after, _, _ = _modes(fixed, 2000)
    assert after["answered_from_memory"] < base["answered_from_memory"] * 0.4
    assert after["answered_from_memory"] > 0  # a residual remains: statistics still matter
    # unfixable modes are untouched by configuration
    assert after["unsupported_capability"] >= base["unsupported_capability"] * 0.8


@pytest.mark.slow
def test_removing_the_clarify_rule_fixes_needless_clarification(
    config_copy: Callable[[str], Path],
) -> None:
    fixed = config_copy("clarify-fix")
    edit(
        fixed / "routing.yaml",
        '  - name: vague-reference\n    pattern: "\\\\b(it|them)\\\\b"\n    route: clarify\n',
        "",
    )
    base, _, _ = _modes(DEFAULT_CONFIG_DIR, 2000)
    after, _, _ = _modes(fixed, 2000)
    assert after["needless_clarification"] < base["needless_clarification"] * 0.2


@pytest.mark.slow
def test_always_search_fixes_its_target_but_regresses_chitchat(
    config_copy: Callable[[str], Path],
) -> None:
    always = config_copy("always-search")
    edit(
        always / "routing.yaml",
        "rules:\n",
        'rules:\n  - name: always-search\n    pattern: "."\n    route: search\n',
    )
    base, base_traces, base_failing = _modes(DEFAULT_CONFIG_DIR, 2000)
    after, traces, failing = _modes(always, 2000)
    assert after["answered_from_memory"] < base["answered_from_memory"] * 0.5

    def chitchat(items: list[Trace], fails: set[str]) -> tuple[float, float, float]:
        chat = [t for t in items if t.metadata["intent"] == "chitchat"]
        return (
            mean(t.latency_ms or 0 for t in chat),
            mean(t.tool_calls for t in chat),
            sum(t.trace_id in fails for t in chat) / len(chat),
        )

    base_latency, base_tools, base_fail = chitchat(base_traces, base_failing)
    latency, tools, fail = chitchat(traces, failing)
    assert latency > base_latency * 1.3
    assert tools > base_tools + 0.5
    assert fail > base_fail * 1.5
    assert after["irrelevant_retrieval"] > base["irrelevant_retrieval"] * 1.5


PROMPT_FIXES = {
    "omitted_draft": (
        "When the user asks for an email draft, always write out the complete email.",
        "Whenever someone wants a message composed, hand them the finished message text.",
    ),
    "wrong_format": (
        "If the user asks for bullet points or a formal tone, use exactly that format.",
        "Honour whatever structure and tone the person requests for the reply.",
    ),
    "hallucinated_recipient": (
        "Only address emails to people named in the request or found in the documents.",
        "Never make up who a message should be sent to.",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(PROMPT_FIXES))
def test_prompt_instruction_fixes_by_meaning(mode: str, config_copy: Callable[[str], Path]) -> None:
    original, paraphrase = PROMPT_FIXES[mode]
    results = {}
    for name, sentence in (
        ("original", original),
        ("paraphrase", paraphrase),
        ("unrelated", "Keep a cheerful attitude in every conversation."),
    ):
        cfg = config_copy(name)
        with (cfg / "prompts" / "system.md").open("a") as handle:
            handle.write(sentence + "\n")
        results[name] = _modes(cfg, 1500)[0][mode]
    base = _modes(DEFAULT_CONFIG_DIR, 1500)[0][mode]
    assert results["original"] < base * 0.35
    assert results["paraphrase"] < base * 0.35
    assert results["unrelated"] > base * 0.7


@pytest.mark.slow
def test_tool_description_fixes_bad_dates(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("tools-fix")
    edit(
        cfg / "tools.yaml",
        "description: Start of the period.",
        "description: Convert relative dates such as last week into a YYYY-MM-DD date.",
    )
    base = _modes(DEFAULT_CONFIG_DIR, 2000)[0]["bad_tool_arguments"]
    assert _modes(cfg, 2000)[0]["bad_tool_arguments"] < base * 0.3


@pytest.mark.slow
def test_search_first_prompt_makes_the_model_search(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("search-first")
    with (cfg / "prompts" / "system.md").open("a") as handle:
        handle.write("Look up our internal notes before you answer anything about a client.\n")
    base = _modes(DEFAULT_CONFIG_DIR, 1500)[0]["answered_from_memory"]
    assert _modes(cfg, 1500)[0]["answered_from_memory"] < base * 0.5


@pytest.mark.slow
def test_fewshot_draft_example_reduces_omitted_drafts(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("fewshot-draft")
    (cfg / "fewshot" / "drafts.yaml").write_text(
        "examples:\n"
        "  - request: Draft an email to Marco Ruiz at Globex about the invoice exports.\n"
        "    response: |\n"
        "      Subject: Invoice exports\n\n"
        "      Hi Marco,\n\n"
        "      We are fixing the late invoice exports this week.\n\n"
        "      Best regards,\n"
        "      Acme team\n"
    )
    base = _modes(DEFAULT_CONFIG_DIR, 1500)[0]["omitted_draft"]
    assert _modes(cfg, 1500)[0]["omitted_draft"] < base * 0.6
