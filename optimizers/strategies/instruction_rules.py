"""Instruction rules: a library of instruction templates keyed by root cause and behaviour.

Each rule names a behaviour that failing agents commonly get wrong (omitting a requested
draft, answering without searching, inventing recipients, citing the wrong source, ignoring
the requested format, passing relative dates to tools), a detector that reads that behaviour
off a failing trace, and several wordings. The rules whose evidence is strongest in the
cluster (detector hits over the optimisation split, plus the cluster's label, keywords and
user complaints) are filled with the cluster's evidence and inserted where instructions live:
the system prompt's rules section, or a tool's parameter description.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flywheel.trace import StepType, Trace
from optimizers._evidence import complaints, request_of, router_output, tokens
from optimizers._files import (
    contains_sentence,
    dump_yaml,
    insert_instruction,
    load_yaml_mapping,
    prompt_files,
)
from optimizers._sanitise import TracedText
from optimizers._task import OptimizationTask, Proposal
from optimizers.strategies._wording import date_arguments, fill_wording

_DRAFT_ASK = re.compile(r"(?i)\b(draft|write|compose|email|e-mail|reply|message|letter)\b")
_DRAFT_SHAPE = re.compile(r"(?im)^(subject:|dear\s|hi\s|hello\s)")
_GREETING = re.compile(r"(?m)^(?:Dear|Hi|Hello)\s+([A-Z][\w-]+)")
_CITATION = re.compile(r"\[([A-Za-z]{2,}[-_][\w.-]+)\]")
_FORMAT_ASK = re.compile(
    r"(?i)\b(bullet(?:s| points?| list)?|numbered list|table|formal|informal|tone|"
    r"one paragraph|in \d+ words|short|concise)\b"
)
_BULLET_LINE = re.compile(r"(?m)^\s*(?:[-*+•]|\d+[.)])\s+")
_RELATIVE_DATE = re.compile(
    r"(?i)\b(yesterday|today|tomorrow|last (?:week|month|year|quarter|monday|friday)|"
    r"this (?:week|month)|\d+ (?:days?|weeks?|months?) ago|since (?:monday|friday))\b"
)
_DATE_PARAM = re.compile(r"(?i)^(since|until|date|from|to|start|end|before|after)(_date)?$")
_MEMORY_TELL = re.compile(r"(?i)\b(as far as i (?:remember|know)|i believe|from memory)\b")

Target = Literal["prompt", "tools"]


def _asks_draft(trace: Trace) -> bool:
    return bool(_DRAFT_ASK.search(request_of(trace)))


def _missing_draft(trace: Trace) -> bool:
    return _asks_draft(trace) and not _DRAFT_SHAPE.search(trace.output_text)


def _retrieved(trace: Trace) -> bool:
    return any(step.type in (StepType.retriever, StepType.tool) for step in trace.steps)


def _missing_search(trace: Trace) -> bool:
    """A substantive request answered without any retrieval or tool call."""
    route = (router_output(trace) or {}).get("route")
    substantive = len(tokens(request_of(trace))) >= 3
    return (
        substantive
        and not _retrieved(trace)
        and (route in ("direct", "answer") or bool(_MEMORY_TELL.search(trace.output_text)))
    )


def _invented_recipient(trace: Trace) -> bool:
    greeting = _GREETING.search(trace.output_text)
    return bool(
        _asks_draft(trace)
        and greeting
        and greeting.group(1).lower() not in request_of(trace).lower()
    )


def _citation_problem(trace: Trace) -> bool:
    """Retrieved documents, but no citation, or not the best-ranked document cited."""
    if not _retrieved(trace):
        return False
    cited = _CITATION.findall(trace.output_text)
    ranked = _ranked_documents(trace)
    return not cited or (bool(ranked) and cited[0] != ranked[0])


def _ranked_documents(trace: Trace) -> list[str]:
    for step in trace.steps:
        output = step.output
        if step.type is StepType.retriever and isinstance(output, dict):
            docs = output.get("documents")
            if isinstance(docs, list):
                return [str(d.get("id")) if isinstance(d, dict) else str(d) for d in docs]
    return []


def _ignored_format(trace: Trace) -> bool:
    ask = _FORMAT_ASK.search(request_of(trace))
    if not ask:
        return False
    if re.search(r"(?i)bullet|list", ask.group(0)):
        return len(_BULLET_LINE.findall(trace.output_text)) < 2
    return True


#: A tool error about a date: "not a valid date", "incident_date", "must be ISO-8601".
_DATE_ERROR = re.compile(r"(?i)date|\biso[- ]?8601\b|YYYY-MM-DD")


def _relative_date_arg(trace: Trace) -> bool:
    for step in trace.steps:
        if step.type is StepType.tool and isinstance(step.input, dict):
            for value in step.input.values():
                if isinstance(value, str) and _RELATIVE_DATE.search(value):
                    return True
        if step.error and _DATE_ERROR.search(step.error):
            return True
    return False


@dataclass(frozen=True)
class Rule:
    behaviour: str
    root_causes: frozenset[str]
    detect: Callable[[Trace], bool]
    vocabulary: re.Pattern[str]
    wordings: tuple[str, ...]
    target: Target = "prompt"


RULES: tuple[Rule, ...] = (
    Rule(
        "include_draft",
        frozenset({"prompt_instruction"}),
        _missing_draft,
        re.compile(r"(?i)\b(draft|omit\w*|summary instead|no draft)\b"),
        (
            "When the user asks you to {verb} {artifact}, reply with the complete {noun} itself "
            "(subject, greeting, body and sign-off), not a summary of what it would say.",
            "A request to {verb} {artifact} gets the finished {noun} text, ready to send, "
            "never only its key points.",
            "Always write out in full the {noun} the user asked you to {verb}.",
        ),
    ),
    Rule(
        "search_first",
        frozenset({"prompt_instruction", "routing_decision"}),
        _missing_search,
        re.compile(r"(?i)\b(memory|made up|didn'?t check|search|notes|hallucinat\w*)\b"),
        (
            "Before you answer a question about {topic}, search the company's documents "
            "instead of relying on memory.",
            "Questions about {topic} need a knowledge-base lookup first; never answer them "
            "from memory.",
            "Look up the internal notes about {topic} before replying.",
        ),
    ),
    Rule(
        "known_recipients",
        frozenset({"prompt_instruction"}),
        _invented_recipient,
        re.compile(r"(?i)\b(recipient|wrong (?:person|contact)|who is that|addressed)\b"),
        (
            "Address {artifact} only to a person named in the request or in the retrieved "
            "documents; never make up the recipient's name.",
            "Do not greet anyone in {artifact} whose name does not appear in the request or "
            "the sources; invented recipients are not allowed.",
            "Never address {artifact} to a contact you cannot find in the request or the "
            "retrieved notes.",
        ),
    ),
    Rule(
        "cite_sources",
        frozenset({"prompt_instruction"}),
        _citation_problem,
        re.compile(r"(?i)\b(cit\w*|source|reference|doesn'?t say)\b"),
        (
            "Cite, after each statement, the id of the retrieved document that supports it, "
            "as in {example_id}.",
            "Every fact in an answer must carry the id of the exact source document it comes from.",
            "Give the supporting document id for each claim, and only cite a document that "
            "really says it.",
        ),
    ),
    Rule(
        "follow_format",
        frozenset({"prompt_instruction"}),
        _ignored_format,
        re.compile(r"(?i)\b(format|bullet\w*|tone|layout|style|table)\b"),
        (
            "Follow the format the user asks for: when they want {formats}, answer that way.",
            "Respect the requested layout and tone of the answer, such as {formats}.",
            "Match the formatting instructions in the user's request ({formats}) exactly.",
        ),
    ),
    Rule(
        "resolve_dates",
        frozenset({"tool_arguments", "prompt_instruction"}),
        _relative_date_arg,
        re.compile(r"(?i)\b(date|yesterday|last week|lookup|argument)\b"),
        (
            "The {param} argument of {tool} must be an absolute ISO date (YYYY-MM-DD): convert "
            "relative dates such as {phrases} into the actual calendar date first.",
            "Resolve relative dates like {phrases} into exact YYYY-MM-DD dates before passing "
            "them to {tool}.",
            "Never pass a phrase such as {phrases} as the {param} date of {tool}; compute the "
            "actual date.",
        ),
        target="tools",
    ),
)


def rule_evidence(rule: Rule, task: OptimizationTask) -> float:
    """How strongly the cluster points at this rule, in [0, 1]."""
    if not task.failing:
        return 0.0
    hits = sum(1 for trace in task.failing if rule.detect(trace)) / len(task.failing)
    words = " ".join(
        [task.label, *task.keywords, *(c for t in task.failing for c in complaints(t))]
    )
    vocabulary = 1.0 if rule.vocabulary.search(words) else 0.0
    cause = 1.0 if task.root_cause in rule.root_causes else 0.0
    return cause * (0.8 * hits + 0.2 * vocabulary)


class InstructionRules:
    """Fill instruction templates from the cluster's evidence; several wordings per rule."""

    name = "rules"

    def __init__(self, min_evidence: float = 0.25) -> None:
        self.min_evidence = min_evidence

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        scored = sorted(
            ((rule_evidence(rule, task), i, rule) for i, rule in enumerate(RULES)),
            key=lambda item: (-item[0], item[1]),
        )
        chosen = [(score, rule) for score, _, rule in scored if score >= self.min_evidence]
        proposals: list[Proposal] = []
        for score, rule in chosen:
            for wording in rule.wordings:
                sentence = fill_wording(wording, task)
                edits = self._edit(rule, sentence, task)
                if edits is None:
                    continue
                hits = sum(1 for trace in task.failing if rule.detect(trace))
                proposals.append(
                    Proposal(
                        edits=edits,
                        rationale=(
                            f"{hits} of {len(task.failing)} failing traces of {task.cluster_id} "
                            f"show '{rule.behaviour}' going wrong (evidence {score:.2f}); "
                            f'instruct it: "{sentence}"'
                        ),
                        detail={"behaviour": rule.behaviour, "evidence": round(score, 3)},
                    )
                )
                if len(proposals) >= limit:
                    return proposals
        return proposals

    def _edit(self, rule: Rule, sentence: str, task: OptimizationTask) -> dict[str, str] | None:
        files = task.config_files
        if rule.target == "tools" and "tools.yaml" in files:
            param, tool, _, _ = date_arguments(task.failing)
            edited = _describe_date_parameters(files["tools.yaml"], sentence, (tool, param))
            if edited is not None:
                return {"tools.yaml": edited}
        prompts = prompt_files(files)
        if not prompts:
            return None
        name = prompts[0]
        if contains_sentence(files[name], sentence):
            return None
        return {name: insert_instruction(files[name], sentence)}


def _describe_date_parameters(text: str, sentence: str, named: tuple[str, str]) -> str | None:
    """Append ``sentence`` to the description of every date parameter of ``tools.yaml``: typed
    as a date, named like one, or the ``(tool, parameter)`` the failing calls got wrong."""
    data = load_yaml_mapping("tools.yaml", text)
    changed = False

    def visit(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("parameters", "properties") and isinstance(value, dict):
                    for pname, param in value.items():
                        if isinstance(param, dict) and (
                            param.get("type") in ("date", "datetime")
                            or param.get("format") in ("date", "date-time")
                            or _DATE_PARAM.match(str(pname))
                            or (node.get("name"), pname) == named
                        ):
                            current = str(param.get("description", "")).strip()
                            if not contains_sentence(current, sentence):
                                described = f"{current} {sentence}".strip()
                                param["description"] = (
                                    TracedText(described, sentence.trace_ids)
                                    if isinstance(sentence, TracedText)
                                    else described
                                )
                                changed = True
                else:
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(data)
    return dump_yaml(text, data) if changed else None
