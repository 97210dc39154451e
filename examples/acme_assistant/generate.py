"""Production-like traffic with ground truth kept apart.

Sessions of 1-4 turns; after a failure the user often rephrases ("No, I meant: ..."),
otherwise asks something new or says thanks. Feedback is sparse and noisy like real users':
~15 % of failures get a thumbs down (some with a complaint), a few successes get a thumbs up,
and about 1 % of feedback points the wrong way. Judge scores come from the agent's trace.
Every random stream is seeded from sha256 of (seed, index), so output is byte-identical for
the same (n, seed, start, configuration content).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from examples.acme_assistant.agent import Simulation, prepare
from examples.acme_assistant.modes import FAILURE_MODES
from examples.acme_assistant.requests import Request, rephrase, sample_request, understand
from examples.acme_assistant.world import DEFAULT_START
from flywheel.trace import Feedback, Trace

COMPLAINTS: dict[str, tuple[str, ...]] = {
    "answered_from_memory": (
        "That's made up, did you even check the account notes?",
        "Wrong, this isn't what our notes say.",
    ),
    "irrelevant_retrieval": ("Why are you showing me account notes?", "Irrelevant answer."),
    "needless_clarification": (
        "Just do it, the request was clear.",
        "Why are you asking me questions?",
    ),
    "omitted_draft": ("I asked for a draft email, where is it?", "No draft. Useless."),
    "hallucinated_recipient": ("Who is that? Wrong recipient!", "That's not our contact."),
    "wrong_citation": ("The source you cite doesn't say that.", "Wrong reference."),
    "wrong_format": ("I asked for bullet points / a formal tone.", "Ignored my format."),
    "bad_tool_arguments": ("It couldn't even look up last week's tickets.", "Broken lookup."),
    "missed_key_document": ("That's not the right document.", "Missed the actual contract."),
    "stale_document": ("This is outdated information.", "Those are old numbers."),
    "tool_timeout": ("So slow, and then it failed.", "Timed out again."),
    "unsupported_capability": (
        "It said it did it, but nothing happened.",
        "Can't do basic things.",
    ),
}
_THANKS = ("Thanks, that was helpful!", "Great, thank you!")


@dataclass(frozen=True)
class GeneratedTrace:
    trace: Trace
    failure_mode: str | None


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def generate_traffic(
    sim: Simulation, n: int, seed: int, start: date | None = None
) -> Iterator[GeneratedTrace]:
    """Yield ``n`` traces (in session order) with their hidden failure mode."""
    origin = datetime.combine(start or DEFAULT_START, datetime.min.time(), tzinfo=UTC)
    index, session = 0, 0
    while index < n:
        rng = _rng(seed, "session", session)
        session_id = hashlib.sha256(f"{seed}:session:{session}".encode()).hexdigest()[:16]
        user_id = f"user-{rng.randrange(300):03d}"
        turns = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
        clock = origin + timedelta(seconds=rng.randrange(7 * 24 * 3600))
        history: list[str] = []
        request: Request = sample_request(rng)
        for _turn in range(turns):
            if index >= n:
                break
            trace_seed = int(hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:12], 16)
            state = sim.drive(
                prepare(
                    {
                        "input": request.text,
                        "history": list(history),
                        "seed": trace_seed,
                        "timestamp": clock.isoformat(),
                        "session_id": session_id,
                        "user_id": user_id,
                        "trace_id": hashlib.sha256(f"{seed}:trace:{index}".encode()).hexdigest()[
                            :32
                        ],
                    }
                )
            )
            failure = state.get("failure")
            trace = state["trace"]
            trace.feedback = _feedback(_rng(seed, "feedback", index), failure, trace)
            yield GeneratedTrace(trace, failure)
            index += 1
            history.append(request.text)
            clock += timedelta(milliseconds=trace.latency_ms or 0, seconds=rng.randrange(20, 240))
            if failure is not None and failure != "miscalibrated_judge" and rng.random() < 0.3:
                request = rephrase(request, rng)
            elif failure is None and rng.random() < 0.3:
                request = understand(rng.choice(_THANKS))
            else:
                request = sample_request(rng)
        session += 1


def _feedback(rng: random.Random, failure: str | None, trace: Trace) -> list[Feedback]:
    assert trace.timestamp is not None
    when = trace.timestamp + timedelta(
        milliseconds=trace.latency_ms or 0, seconds=rng.randrange(5, 90)
    )
    u, comment_u = rng.random(), rng.random()
    if failure is not None and failure != "miscalibrated_judge":
        if u < 0.15:
            items = [Feedback(kind="thumb", value=-1, timestamp=when)]
            if comment_u < 0.45:
                items.append(
                    Feedback(
                        kind="comment", timestamp=when, comment=rng.choice(COMPLAINTS[failure])
                    )
                )
            return items
        if u > 0.985:
            return [Feedback(kind="thumb", value=1, timestamp=when)]
        return []
    if u < 0.05:
        return [Feedback(kind="thumb", value=1, timestamp=when)]
    if u > 0.99:
        return [Feedback(kind="thumb", value=-1, timestamp=when)]
    return []


def label_of(mode: str) -> dict[str, str]:
    return {"failure_mode": mode, "root_cause": FAILURE_MODES[mode]}
