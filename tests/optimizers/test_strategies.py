"""The offline strategies on small, hand-made evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from flywheel.trace import Trace
from optimizers import ConfigChange, OptimizationTask
from optimizers._evidence import scrub_pii
from optimizers.strategies import FewShotMining, InstructionRules, RevertChange, RoutingEdits
from tests.helpers.optimizers import FEWSHOT, ROUTING, SYSTEM_PROMPT, TOOLS, make_trace

FILES = {
    "prompts/system.md": SYSTEM_PROMPT,
    "routing.yaml": ROUTING,
    "tools.yaml": TOOLS,
    "fewshot/examples.yaml": FEWSHOT,
}


def _task(
    root_cause: str, failing: list[Trace], neighbours: list[Trace] | None = None
) -> OptimizationTask:
    return OptimizationTask(
        cluster_id="C-0009",
        root_cause=root_cause,
        fix_type="prompt_edit",
        failing=failing,
        neighbours=neighbours or [],
        config_files=FILES,
    )


def test_relative_dates_become_a_tool_parameter_description() -> None:
    failing = [
        make_trace(
            f"t{i}",
            "List tickets since last week",
            "Sorry",
            tool_input={"since": "last week"},
            error="ValueError: not an ISO date",
        )
        for i in range(4)
    ]
    proposals = InstructionRules().propose(_task("tool_arguments", failing), limit=2)
    assert proposals
    tools = yaml.safe_load(proposals[0].edits["tools.yaml"])
    description = tools["tools"][0]["parameters"]["since"]["description"]
    assert description.startswith("Start of the period.")
    assert "YYYY-MM-DD" in description


@pytest.mark.parametrize("param", ["since", "incident_date"])
def test_the_argument_a_tool_rejects_is_described_not_free_text_quoting_a_date(
    param: str,
) -> None:
    """Probe (a blind world): the request was copied into a ``description`` argument, so
    "last night" sat there too; the instruction named ``description`` and changed nothing, and
    a date parameter not named like the demo's (``since``) was never described."""
    failing = [
        make_trace(
            f"t{i}",
            f"I hit a deer {when}",
            "Sorry",
            tool_input={"description": f"I hit a deer {when}", param: when},
            error=f"422 Unprocessable Entity: field {param}: could not parse '{when}' as a date",
        )
        for i, when in enumerate(["last night", "on 30/10", "last night"])
    ]
    tools_yaml = TOOLS.replace("since:", f"{param}:").replace("type: date", "type: string")
    files = {**FILES, "tools.yaml": tools_yaml}
    task = _task("tool_arguments", failing).model_copy(update={"config_files": files})
    (sentence,) = _sentences(task, limit=1)
    assert f"{param} argument of ticket_search" in sentence
    assert "'last night' or 'on 30/10'" in sentence
    proposals = InstructionRules().propose(task, limit=1)
    tools = yaml.safe_load(proposals[0].edits["tools.yaml"])
    assert "YYYY-MM-DD" in tools["tools"][0]["parameters"][param]["description"]


def test_instructions_speak_in_the_clusters_own_words() -> None:
    """Slots are filled from the failing traces: the parameter and tool that got a relative
    date and the phrases they got; the formats users asked for; the artefact they wanted."""
    dates = [
        make_trace(f"d{i}", f"Tickets since {when}", "Sorry", tool_input={"since": when})
        for i, when in enumerate(["yesterday", "last month", "yesterday"])
    ]
    (sentence,) = _sentences(_task("tool_arguments", dates), limit=1)
    assert "since argument of ticket_search" in sentence
    assert "'yesterday' or 'last month'" in sentence
    formats = [
        make_trace(f"f{i}", f"Give me the renewal terms {how}", "The terms are fine.")
        for i, how in enumerate(["as a table", "as a table", "in a formal tone"])
    ]
    assert "a table or a formal tone" in _sentences(_task("prompt_instruction", formats))[0]
    memos = [
        make_trace(f"m{i}", f"Compose a memo to Ana Ruiz about {topic}", "Key points: ...")
        for i, topic in enumerate(["pricing", "renewal", "the outage"])
    ]
    sentences = _sentences(_task("prompt_instruction", memos), limit=3)
    assert "compose a memo" in sentences[0]
    assert all("memo" in s for s in sentences)
    assert sentences == _sentences(_task("prompt_instruction", list(reversed(memos))), limit=3)


def _sentences(task: OptimizationTask, limit: int = 2) -> list[str]:
    proposals = InstructionRules().propose(task, limit=limit)
    return [p.rationale.split('instruct it: "', 1)[1].rstrip('"') for p in proposals]


def test_unrelated_evidence_gets_no_instruction() -> None:
    failing = [make_trace(f"t{i}", "hello there", "Hi!") for i in range(4)]
    assert InstructionRules().propose(_task("prompt_instruction", failing), limit=3) == []


def test_over_broad_rule_is_narrowed_or_removed() -> None:
    failing = [
        make_trace(
            f"f{i}",
            f"Draft a reply to Bill and tell them about item {i}",
            "Could you clarify?",
            route="clarify",
            via="rule:vague",
            similarity=1.0,
        )
        for i in range(5)
    ]
    healthy = [
        make_trace(
            f"h{i}",
            f"Draft a reply to Ann about item {i}",
            "Subject: x",
            route="search",
            via="rule:drafts",
            similarity=1.0,
        )
        for i in range(5)
    ]
    task = _task("routing_decision", failing, healthy)
    proposals = RoutingEdits().propose(task, limit=3)
    actions = [p.detail["action"] for p in proposals]
    assert "remove_rule" in actions
    removed = yaml.safe_load(proposals[actions.index("remove_rule")].edits["routing.yaml"])
    assert [r["name"] for r in removed["rules"]] == ["tickets"]
    assert proposals[0].edits["routing.yaml"].startswith("# Router rules.")


def _as_api_input(trace: Trace) -> Trace:
    """The request as a team's own API records it: a message beside account fields."""
    return trace.model_copy(
        update={
            "input": {"message": trace.input_text, "customer_id": "cust_5958549", "channel": "app"}
        }
    )


@pytest.mark.parametrize("recorded", ["text", "api"])
def test_fallback_requests_get_exemplars_of_the_route_their_neighbours_took(recorded: str) -> None:
    """Probe (a blind world): inputs ``{"message", "customer_id", ...}`` were read as their
    JSON, so exemplars copied customer ids into routing.yaml and neighbours were matched by
    their keys."""
    failing = [
        make_trace(
            f"f{i}",
            f"What has Globex {i} been complaining about?",
            "As far as I remember",
            route="direct",
            via="fallback",
        )
        for i in range(5)
    ]
    healthy = [
        make_trace(
            f"h{i}",
            f"What has Initech {i} been complaining about recently?",
            "[TK-1]",
            route="search",
            via="exemplar",
            similarity=0.5,
        )
        for i in range(5)
    ]
    if recorded == "api":
        failing, healthy = [_as_api_input(t) for t in failing], [_as_api_input(t) for t in healthy]
    proposals = RoutingEdits().propose(_task("routing_decision", failing, healthy), limit=3)
    added = next(p for p in proposals if p.detail["action"] == "add_exemplars")
    exemplars = yaml.safe_load(added.edits["routing.yaml"])["exemplars"]["search"]
    assert not any("cust" in e or "channel" in e for e in exemplars)
    assert "who owns the account" in exemplars
    assert any("complaining" in e for e in exemplars)
    assert not any("globex" in e for e in exemplars)  # proper names are dropped


def test_fewshot_examples_are_similar_scrubbed_and_deduplicated() -> None:
    failing = [
        make_trace(f"f{i}", f"Draft an email to Dana about renewal {i}", "Key points")
        for i in range(3)
    ]
    healthy = [
        make_trace(
            "h1",
            "Draft an email to Sam about the renewal",
            "Subject: Renewal\n\nHi Sam, call me at +1 415 555 0100 or sam@acme.io",
            thumbs=1,
        ),
        make_trace("h2", "Draft an email to Sam about the renewal", "Subject: duplicate", thumbs=1),
        make_trace("h3", "What is the weather", "Sunny"),
    ]
    proposals = FewShotMining(sizes=(2,)).propose(
        _task("prompt_instruction", failing, healthy), limit=1
    )
    examples = yaml.safe_load(proposals[0].edits["fewshot/examples.yaml"])["examples"]
    assert examples[0] == {"request": "Hello", "response": "Hi! How can I help?"}
    new = examples[1:]
    assert new[0]["request"] == "Draft an email to Sam about the renewal"
    assert len({e["request"] for e in new}) == len(new)
    assert "[EMAIL]" in new[0]["response"]
    assert "[PHONE]" in new[0]["response"]
    assert "sam@acme.io" not in proposals[0].edits["fewshot/examples.yaml"]


def test_revert_undoes_the_hunk_of_the_change_before_the_cluster() -> None:
    before = SYSTEM_PROMPT
    after = SYSTEM_PROMPT + "Summarise drafts as key points.\n"
    files = {**FILES, "prompts/system.md": after}
    changed_at = datetime(2026, 11, 10, tzinfo=UTC)
    task = OptimizationTask(
        cluster_id="C-0009",
        root_cause="prompt_instruction",
        fix_type="revert",
        failing=[make_trace("f1", "Draft an email", "Key points: renewal")],
        config_files=files,
        first_seen=changed_at + timedelta(hours=5),
        recent_changes=[
            ConfigChange(
                commit="a" * 40,
                committed_at=changed_at,
                files={"prompts/system.md": (before, after)},
            )
        ],
    )
    proposals = RevertChange().propose(task, limit=2)
    assert proposals[0].edits == {"prompts/system.md": before}
    late = task.model_copy(update={"first_seen": changed_at + timedelta(days=30)})
    assert RevertChange().propose(late, limit=2) == []


def test_scrub_pii() -> None:
    text = scrub_pii("mail bob@x.org, call 020 7946 0958, password: hunter2")
    assert text == "mail [EMAIL], call [PHONE], password: [REDACTED]"
