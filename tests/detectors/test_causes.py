"""Root causes recognised from how platforms record them: capacity errors, a data source
weeks behind, a dead copy ranked first and used."""

from __future__ import annotations

from typing import Any

from flywheel.detectors import detect
from flywheel.trace import Trace


def _trace(steps: list[dict[str, Any]]) -> Trace:
    return Trace.model_validate(
        {
            "trace_id": "t1",
            "timestamp": "2026-11-20T10:00:00Z",
            "input": "bump urllib3 and ship it",
            "output": "done",
            "steps": steps,
        }
    )


def _detections(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {d.symptom: d for d in detect(_trace(steps)).detections}


def test_a_lost_or_exhausted_machine_is_infrastructure_not_a_rejected_call() -> None:
    for error in (
        "OOMKilled: test process exceeded 8Gi in sandbox sbx-1",
        "sandbox lost: node drained during exec (spot reclaim)",
        "job 'unit' queued for 62m; runner pool 'arm64' saturated (38/32 busy)",
        "pod evicted: the node was low on resource",
    ):
        found = _detections([{"id": "s1", "type": "tool", "name": "tests.run", "error": error}])
        assert "resource_exhausted" in found, error
        assert found["resource_exhausted"].cause == "latency_infra"
        assert found["resource_exhausted"].weight > found["tool_rejected_call"].weight


def test_an_argument_rejection_is_not_a_capacity_error() -> None:
    steps = [{"id": "s1", "type": "tool", "name": "deploy", "error": "env: 'prod' is not one of"}]
    assert "resource_exhausted" not in _detections(steps)


def test_a_data_source_that_says_it_is_months_behind_is_stale() -> None:
    out = {"package": "urllib3", "latest": "2.2.2", "mirror_synced_at": "2026-08-03T04:56:36Z"}
    found = _detections([{"id": "s1", "type": "tool", "name": "pkg.lookup", "output": out}])
    assert found["stale_snapshot"].cause == "data_freshness"
    assert "2026-08-03" in found["stale_snapshot"].evidence
    assert found["stale_snapshot"].step_id == "s1"


def test_a_fresh_snapshot_or_an_old_publication_date_is_not_stale() -> None:
    fresh = {"latest": "2.2.4", "snapshot": "2026-11-19"}
    published = {"title": "RFC 2616", "published": "1999-06-01"}
    for out in (fresh, published):
        steps = [{"id": "s1", "type": "tool", "name": "lookup", "output": out}]
        assert "stale_snapshot" not in _detections(steps)


def _search(top: str) -> dict[str, Any]:
    hits = [{"path": top, "score": 0.9}, {"path": "billing/cli/export.py", "score": 0.8}]
    return {"id": "s1", "type": "tool", "name": "code.search", "output": {"hits": hits}}


def test_a_dead_copy_ranked_first_and_edited_is_a_ranking_error() -> None:
    top = "legacy/billing/export_v1.py"
    edit = {"id": "s2", "type": "tool", "name": "edit", "input": {"path": top}}
    found = _detections([_search(top), edit])
    assert found["deprecated_ranked_first"].cause == "retrieval_ranking"
    assert found["deprecated_ranked_first"].step_id == "s1"


def test_a_dead_copy_the_agent_passed_over_is_healthy() -> None:
    top = "legacy/billing/export_v1.py"
    edit = {"id": "s2", "type": "tool", "name": "edit", "input": {"path": "billing/cli/export.py"}}
    assert "deprecated_ranked_first" not in _detections([_search(top), edit])


def test_a_credentials_file_among_the_pushed_files_is_an_exposed_secret() -> None:
    out = {"commit": "d25087", "files": ["app/settings.py", ".env.example", "scripts/.creds.json"]}
    found = _detections([{"id": "s1", "type": "tool", "name": "git.commit_push", "output": out}])
    assert found["secret_exposed"].cause == "prompt_instruction"
    assert ".creds.json" in found["secret_exposed"].evidence


def test_a_template_env_file_is_not_a_secret() -> None:
    out = {"commit": "d25087", "files": ["app/settings.py", ".env.example"]}
    steps = [{"id": "s1", "type": "tool", "name": "git.commit_push", "output": out}]
    assert "secret_exposed" not in _detections(steps)


def _support(request: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    trace = Trace.model_validate(
        {"trace_id": "t2", "input": request, "output": "Try restarting the hub.", "steps": steps}
    )
    return {d.symptom: d for d in detect(trace).detections}


def test_a_request_for_a_person_that_no_step_hands_off_breaks_the_instructions() -> None:
    answer = {"id": "a", "type": "llm", "name": "compose", "output": "Try restarting the hub."}
    found = _support("I want a real person, put me through to a supervisor.", [answer])
    assert found["escalation_not_handed_off"].cause == "prompt_instruction"
    handed = {"id": "h", "type": "tool", "name": "handoff.create_case", "output": {"case": "1"}}
    assert "escalation_not_handed_off" not in _support("Register a formal complaint", [handed])


def test_a_package_manager_is_not_a_request_for_a_manager() -> None:
    answer = {"id": "a", "type": "llm", "name": "compose", "output": "done"}
    assert "escalation_not_handed_off" not in _support(
        "Bump the package manager lockfile", [answer]
    )
