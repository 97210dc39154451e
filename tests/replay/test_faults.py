"""Every fault kind, from the agent to the gate: errors are counted, and the decision that
would have been "pass" becomes "inconclusive" — never "pass"."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from flywheel.trace import Trace
from replay import (
    AgentAdapter,
    Case,
    CaseSet,
    Check,
    ConfigRef,
    GateConfig,
    GateReport,
    HarnessOptions,
    HttpAdapter,
    LLMJudge,
    PythonAdapter,
    Scorer,
    Suite,
    evaluate_gate,
    pair_results,
    replay_sync,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory

GATE = GateConfig(bootstrap_resamples=200)
OPTIONS = HarnessOptions(concurrency=8, timeout_s=10)
VALIDATION = CaseSet(
    name="v",
    suite=Suite.validation,
    cluster_id="C",
    cases=tuple(Case(case_id=f"v{i}", inputs={"input": f"v{i}"}) for i in range(30)),
)
REGRESSION = CaseSet(
    name="r",
    suite=Suite.regression,
    cases=tuple(Case(case_id=f"r{i}", inputs={"input": f"r{i}"}) for i in range(20)),
)


class SaysPass:
    """The answer is the verdict: "pass" or "fail" (the world below decides which)."""

    name = "says_pass"

    async def score(self, case: Case, trace: Trace) -> Check:
        return Check(name=self.name, passed=trace.output_text == "pass")


def _answer(inputs: dict[str, Any], config_dir: str) -> Trace:
    """Baseline fails the validation slice, the candidate fixes it; other traffic passes."""
    fixed = Path(config_dir).name == "candidate" or inputs["input"].startswith("r")
    return Trace(
        trace_id=f"t-{inputs['input']}",
        input=inputs,
        output="pass" if fixed else "fail",
        latency_ms=10,
        cost_usd=0.001,
    )


def _faulty(inputs: dict[str, Any], config_dir: str) -> bool:
    """A third of the candidate's validation cases hit the fault."""
    name = inputs["input"]
    return Path(config_dir).name == "candidate" and name[0] == "v" and int(name[1:]) % 3 == 0


def _world(fault: str | None) -> Callable[[dict[str, Any], str], Awaitable[object]]:
    async def agent(inputs: dict[str, Any], config_dir: str) -> object:
        if fault is not None and _faulty(inputs, config_dir):
            if fault == "raises":
                raise RuntimeError("agent crashed")
            if fault == "hangs":
                await asyncio.sleep(3600)
            if fault == "invalid_trace":
                return {"not": "a trace"}
        return _answer(inputs, config_dir)

    return agent


@pytest.fixture
def configs(tmp_path: Path) -> tuple[ConfigRef, ConfigRef]:
    refs = []
    for name in ("baseline", "candidate"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "prompt.md").write_text(f"{name}\n")
        refs.append(ConfigRef(directory=tmp_path / name))
    return refs[0], refs[1]


def _gate(
    configs: tuple[ConfigRef, ConfigRef],
    candidate_agent: AgentAdapter,
    *,
    baseline_agent: AgentAdapter | None = None,
    scorers: Sequence[Scorer] = (SaysPass(),),
    timeout_s: float = 10,
) -> GateReport:
    baseline, candidate = configs
    options = OPTIONS.model_copy(update={"timeout_s": timeout_s})
    paired = {}
    for case_set in (VALIDATION, REGRESSION):
        base = replay_sync(
            case_set,
            baseline,
            baseline_agent or PythonAdapter(_world(None)),
            options=options,
            scorers=scorers,
        )
        cand = replay_sync(case_set, candidate, candidate_agent, options=options, scorers=scorers)
        paired[case_set.suite] = pair_results(case_set, base.results, cand.results)
    return evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=paired[Suite.validation],
        regression=paired[Suite.regression],
        blocking=None,
        config=GATE,
    )


def test_without_faults_the_same_world_passes(configs: tuple[ConfigRef, ConfigRef]) -> None:
    report = _gate(configs, PythonAdapter(_world(None)))
    assert report.decision == "pass", report.reasons
    assert (report.target.fixed, report.errors["validation"]["candidate"]) == (30, 0)


@pytest.mark.parametrize("fault", ["raises", "hangs", "invalid_trace"])
def test_a_faulty_agent_makes_the_gate_inconclusive(
    configs: tuple[ConfigRef, ConfigRef], fault: str
) -> None:
    report = _gate(configs, PythonAdapter(_world(fault)), timeout_s=0.3)
    kind = {"raises": "agent", "hangs": "timeout", "invalid_trace": "invalid_trace"}[fault]
    assert report.decision == "inconclusive", report.reasons
    assert report.errors["validation"] == {"baseline": 0, "candidate": 10, "runs": 30}
    assert report.reasons == [
        "validation: 10 of 30 candidate runs were infrastructure errors (33% > 5%) "
        f"{{'{kind}': 10}}"
    ]
    assert (report.target.cases, report.target.fixed) == (20, 20)  # errors are not verdicts


class _HttpWorld(BaseHTTPRequestHandler):
    """The same world behind HTTP, answering 500 or garbage on the faulty cases."""

    fault = "500"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        inputs, config_dir = body["inputs"], body["config"]["dir"]
        if _faulty(inputs, config_dir):
            status, payload = (500, b'{"error": "boom"}')
            if self.fault == "garbage":
                status, payload = (200, b"<html>oops</html>")
        else:
            status, payload = 200, _answer(inputs, config_dir).model_dump_json().encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_world() -> Iterator[Callable[[str], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(fault: str) -> str:
        handler = type("Handler", (_HttpWorld,), {"fault": fault})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/run"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("fault", "kind"), [("500", "agent"), ("garbage", "invalid_trace")])
def test_an_http_agent_answering_500_or_garbage_makes_the_gate_inconclusive(
    configs: tuple[ConfigRef, ConfigRef],
    http_world: Callable[[str], str],
    fault: str,
    kind: str,
) -> None:
    url = http_world(fault)
    report = _gate(configs, HttpAdapter(url), baseline_agent=HttpAdapter(url))
    assert report.decision == "inconclusive", report.reasons
    assert report.errors["validation"]["candidate"] == 10
    assert f"{{'{kind}': 10}}" in report.reasons[0]


@pytest.mark.slow  # ~70 calls through litellm's real client
def test_a_failing_llm_judge_makes_the_gate_inconclusive(
    configs: tuple[ConfigRef, ConfigRef],
    openai_server: FakeOpenAIServer,
    llm_client: ClientFactory,
) -> None:
    """The judge grades every baseline case, then 20 candidate cases; after that it only says
    "ok" (not the structured verdict, even after the repair turn): 10 scorer errors."""
    judge = LLMJudge(llm_client())
    verdict = {"score": 0.5, "reasoning": "graded"}
    for _ in VALIDATION.cases:
        openai_server.reply_json({**verdict, "passed": False})
    for _ in range(20):
        openai_server.reply_json({**verdict, "passed": True})
    baseline, candidate = configs
    agent = PythonAdapter(_world(None))
    base = replay_sync(VALIDATION, baseline, agent, scorers=[judge])
    cand = replay_sync(VALIDATION, candidate, agent, scorers=[judge])
    assert cand.errors_by_kind == {"scorer": 10}
    assert "scorer llm_judge: MalformedResponse" in next(
        r.error or "" for r in cand.results if r.error
    )
    regression = [
        replay_sync(REGRESSION, config, agent, scorers=[SaysPass()]).results
        for config in (baseline, candidate)
    ]
    report = evaluate_gate(
        candidate_id="x",
        cluster_id="C",
        validation=pair_results(VALIDATION, base.results, cand.results),
        regression=pair_results(REGRESSION, *regression),
        blocking=None,
        config=GATE,
    )
    assert report.decision == "inconclusive", report.reasons
    assert report.reasons == [
        "validation: 10 of 30 candidate runs were infrastructure errors (33% > 5%) {'scorer': 10}"
    ]
