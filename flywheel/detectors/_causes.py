"""Root causes recognised from the way real systems record them, whatever the field names.

- ``resource_exhausted``: a failed step whose error is a platform's own words for running
  out of capacity or losing the machine (OOMKilled / exit 137, ImagePullBackOff, evicted,
  preempted, node drained, pool saturated, no worker or runner available, queued for long,
  health check failed, quota exhausted). The step errors detector knows timeouts, 5xx and
  rate limits; these words otherwise read as the tool refusing the call.
- ``stale_snapshot``: a tool or retriever output that states how old its data is (a
  ``synced_at`` / ``snapshot`` / ``as_of`` / ``last_updated`` / ``indexed_at`` value) with a
  date weeks before the trace: the data source is behind, not the model.
- ``deprecated_ranked_first``: the top hit of a search is marked as a dead copy by its own
  path or title (``legacy/``, ``deprecated``, ``archive``, ``vendor/``, ``backup``, ``old``,
  ``one-off``, ``v1compat``...) while an unmarked hit is ranked below it: the ranking put
  the wrong source first.

All three are evidence for a root cause only; none is a clustering feature (they describe
the cause, and the step errors, retrieval and answer detectors already describe the failure).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from flywheel.detectors._registry import Finding, Symptom, detector
from flywheel.detectors._view import TraceView
from flywheel.trace import StepType

#: A platform saying it ran out of capacity or lost the machine the step ran on.
CAPACITY = re.compile(
    r"(?i)\bOOM(?:Killed)?\b|out of memory|exit(?:ed)?(?: code| status)? 137\b|"
    r"memory limit|ImagePullBackOff|ErrImagePull|CrashLoopBackOff|\bevicted\b|preempt|"
    r"spot (?:instance )?(?:reclaim|interrupt)|node (?:was )?drained|"
    r"(?:sandbox|container|pod|node|worker|runner|instance|vm) (?:was )?(?:lost|unresponsive|"
    r"unavailable|crashed|terminated|not ready)|"
    r"wall[- ]?clock|\bkilled\b|health ?check(?:s)? fail|failed health ?check|"
    r"(?:pool|queue|capacity)[^.\n]{0,30}(?:exhausted|saturated|full)|saturated|"
    r"\bqueued for\b|queue position|stuck in '?(?:created|pending|queued)|"
    r"no (?:online |available |free |idle )?(?:runner|worker|node|executor|host|slot|capacity)s?\b|"
    r"insufficient (?:capacity|resources|cpu|memory)|quota (?:exceeded|exhausted)|"
    r"resource(?:s)? exhausted|RESOURCE_EXHAUSTED|capacity"
)
#: Keys under which a data source states how fresh its data is.
AS_OF_KEY = re.compile(
    r"(?i)^(?:.*[_\-.])?(?:synced?|sync|snapshot|as[_\-]?of|asof|last[_\-]?(?:updated|synced|"
    r"refresh(?:ed)?|indexed|crawled|sync)|updated[_\-]?at|indexed[_\-]?at|crawled[_\-]?at|"
    r"refreshed[_\-]?at|fetched[_\-]?at|cached[_\-]?at|data[_\-]?(?:date|as[_\-]?of)|"
    r"index[_\-]?date|mirror[_\-]?(?:date|synced[_\-]?at))(?:[_\-]?(?:at|on|date|time))?$"
)
_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")
#: Data older than this at the time of the trace is stale.
STALE_SNAPSHOT_DAYS = 28
#: Path or title words marking a copy nobody maintains.
DEAD_COPY = re.compile(
    r"(?i)(?:^|[/_\-. ])(?:legacy|deprecated|_?deprecated|archived?|obsolete|outdated|"
    r"superseded|backup|bak|old|orig|copy|vendor(?:ed)?|third[_\-]?party|oneoff|one[_\-]off|"
    r"backfill|v\d+compat|compat|fixtures?|snapshot)(?:$|[/_\-. ])"
)
#: A file that holds credentials (templates such as ``.env.example`` do not).
SECRET_FILE = re.compile(
    r"(?i)(?:^|/)(?:\.env(?:\.(?!example|sample|template|dist)[\w.-]+)?|\.envrc|"
    r"\.?creds?(?:entials)?(?:\.[\w.-]+)?|\.?secrets?(?:\.[\w-]+)*\.(?:ya?ml|json|toml|env|txt)|"
    r"id_(?:rsa|dsa|ecdsa|ed25519)|[\w.-]+\.(?:pem|p12|pfx|key)|\.npmrc|\.pypirc|\.netrc|"
    r"service[_-]?account[\w.-]*\.json)$"
)
#: A secret scanner's finding.
SECRET_SCAN = re.compile(
    r"(?i)detect-secrets|gitleaks|trufflehog|high entropy string|secret[- ]?scan[^\n]{0,40}"
    r"(?:fail|found|detect|flag)|(?:leaked|exposed|committed) (?:credential|secret|api key|token)"
)
#: Output keys listing what a step wrote, committed, uploaded or shared.
_WRITTEN = re.compile(
    r"(?i)^(?:files?|paths?|committed|staged|added|uploaded|attachments?|written)$"
)
#: A request that policy says goes to a person: asked for one, a formal complaint, a
#: regulator, legal action, or a customer in a vulnerable situation.
ESCALATION = re.compile(
    r"(?i)\b(?:speak|talk|get|want|need|see|put me through|transfer me|connect me)(?: to| with)?"
    r" (?:a |an |the |your |some )?(?:real |actual |human |senior )?(?:manager|supervisor|human|"
    r"person|someone senior|team leader)\b|\b(?:real|actual) (?:person|human)\b|"
    r"\b(?:formal|official) complaint|\b(?:make|raise|file|lodge|register) (?:a |an |this as an? )?"
    r"(?:formal |official )?complaint|\b(?:logged|recorded|treated|registered|escalated) as "
    r"(?:a |an )?(?:formal |official )?complaint|\bi (?:want|wish|would like|'d like) to "
    r"complain|\bombudsman\b|\b(?:please )?escalate (?:this|it|my|me)\b|\b(?:like|want|need) "
    r"(?:this|it|my \w+) escalated|\blegal action|"
    r"\bsolicitor|\blawyer|\bbereave|\bpassed away|\b(?:died|deceased|death of)\b|"
    r"\blate (?:mother|father|mum|mom|dad|husband|wife|partner|son|daughter|brother|sister)\b|"
    r"\bvulnerab|\bdialysis|\blife[- ]support|\boxygen (?:concentrator|supply|machine)|"
    r"\b(?:medical|health) (?:device|equipment|machine|monitor|condition)|\bdisabilit|"
    r"\b(?:financial hardship|can'?t afford|cannot afford|struggling to pay)"
)
#: A step that hands the conversation to a person or opens a case for one.
HANDOFF = re.compile(r"(?i)hand_?off|handover|transfer|escalat|create_case|human|callback")
_HIT_LISTS = ("hits", "results", "matches", "documents", "docs", "items", "files")
_HIT_NAMES = ("path", "file", "title", "name", "id", "url", "source")


@detector(
    "causes",
    reads=("step errors", "tool and retriever outputs", "trace.timestamp"),
    emits={
        "resource_exhausted": Symptom("latency_infra", 0.9, feature=False),
        "stale_snapshot": Symptom("data_freshness", 0.9, feature=False),
        "deprecated_ranked_first": Symptom("retrieval_ranking", 0.75, feature=False),
        "secret_exposed": Symptom("prompt_instruction", 0.85, feature=False),
        "escalation_not_handed_off": Symptom("prompt_instruction", 0.8, feature=False),
    },
)
def detect_causes(view: TraceView) -> Iterator[Finding]:
    """A capacity or lost-machine error, a data source weeks behind, a dead copy ranked first."""
    yield from _capacity(view)
    yield from _stale(view)
    yield from _dead_copy(view)
    yield from _secrets(view)
    yield from _escalation(view)


def _capacity(view: TraceView) -> Iterator[Finding]:
    """The last such error (an earlier one may have been retried successfully)."""
    for step in reversed(view.trace.steps):
        if step.error and (found := CAPACITY.search(step.error[:4000])):
            name = step.name or step.type.value
            yield Finding("resource_exhausted", f"{name}: '{found.group(0)}' in its error", step.id)
            return


def _stale(view: TraceView) -> Iterator[Finding]:
    moment = view.trace.timestamp
    if moment is None:
        return
    today = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()
    for step in view.trace.steps:
        if step.type not in (StepType.tool, StepType.retriever) or step.error:
            continue
        for key, day in _as_of_values(step.output):
            age = (today - day).days
            if age > STALE_SNAPSHOT_DAYS:
                name = step.name or step.type.value
                yield Finding(
                    "stale_snapshot",
                    f"{name}: {key} {day} is {age} days before the trace",
                    step.id,
                    min(1.0, 0.6 + 0.4 * age / 180),
                )
                return


def _secrets(view: TraceView) -> Iterator[Finding]:
    """A credential file among the files a step committed, uploaded or shared, or a secret
    scanner's finding: the agent acted against a rule its instructions should carry."""
    for step in view.trace.steps:
        if step.type is not StepType.tool or not isinstance(step.output, dict):
            continue
        name = step.name or step.type.value
        for key, value in step.output.items():
            files = value if isinstance(value, list) else [value]
            if not _WRITTEN.match(str(key)):
                continue
            leaked = [f for f in files if isinstance(f, str) and SECRET_FILE.search(f.strip())]
            if leaked:
                yield Finding(
                    "secret_exposed", f"{name}: {key} include credentials file {leaked[0]}", step.id
                )
                return
    for step in view.trace.steps:
        text = step.error or (_text(step.output) if step.output is not None else "")
        if (found := SECRET_SCAN.search(text[:8000])) is not None:
            name = step.name or step.type.value
            yield Finding("secret_exposed", f"{name}: '{found.group(0)}'", step.id, 0.8)
            return


def _escalation(view: TraceView) -> Iterator[Finding]:
    """The request asks for a person (or is one policy escalates) and no step hands it off."""
    found = ESCALATION.search(view.request[:8000])
    if found is None:
        return
    for step in view.trace.steps:
        routes = step.type is StepType.router or "rout" in (step.name or "").lower()
        if (step.type in (StepType.tool, StepType.agent) and HANDOFF.search(step.name or "")) or (
            routes and HANDOFF.search(_text(step.output)[:2000])
        ):
            return
    yield Finding(
        "escalation_not_handed_off",
        f"the request says '{found.group(0)}' and no step hands it to a person",
        view.answer_id,
    )


def _as_of_values(value: Any, depth: int = 0) -> Iterator[tuple[str, date]]:
    """(key, date) of every as-of key in a step output (nested a few levels)."""
    if depth > 3:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and AS_OF_KEY.match(key) and (day := _day(item)):
                yield key, day
            elif isinstance(item, dict | list):
                yield from _as_of_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value[:50]:
            yield from _as_of_values(item, depth + 1)


def _day(value: Any) -> date | None:
    if isinstance(value, int | float) and 1e9 < value < 1e13:
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC).date()
    if not isinstance(value, str):
        return None
    found = _DATE.search(value[:40])
    if not found:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def _dead_copy(view: TraceView) -> Iterator[Finding]:
    """Only when the agent went on with the dead copy: a later step reads it and none reads
    the live hits (an agent that rejects a decoy hit is healthy)."""
    steps = view.trace.steps
    for index, step in enumerate(steps):
        if step.type not in (StepType.tool, StepType.retriever) or step.error:
            continue
        names = _hit_names(step.output)
        if len(names) < 2 or not DEAD_COPY.search(names[0]):
            continue
        live = [other for other in names[1:] if not DEAD_COPY.search(other)]
        if not live:
            continue
        later = [_text(s.input) for s in steps[index + 1 :] if s.input is not None]
        if not any(names[0] in text for text in later):
            continue
        if any(other in text for other in live[:3] for text in later):
            continue
        name = step.name or step.type.value
        yield Finding(
            "deprecated_ranked_first",
            f"{name}: top hit '{names[0][:80]}' is marked as a dead copy and was used; "
            f"'{live[0][:80]}' ranked below it",
            step.id,
        )
        return


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _hit_names(output: Any) -> list[str]:
    """The names (path, title, id...) of a search step's ranked hits, in rank order."""
    hits: Any = output
    if isinstance(output, dict):
        hits = next((output[k] for k in _HIT_LISTS if isinstance(output.get(k), list)), None)
    if not isinstance(hits, list):
        return []
    names = []
    for hit in hits[:20]:
        if isinstance(hit, dict):
            name = next((hit[k] for k in _HIT_NAMES if isinstance(hit.get(k), str)), None)
            if name:
                names.append(name)
    return names
