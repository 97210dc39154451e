"""The ``diagnosis`` signature part: an LLM sentence on how each trace failed, through the fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from flywheel.clustering import cluster_report, run_clustering
from flywheel.clustering._failing import signature_settings
from flywheel.config import ClusteringConfig, SignalsConfig
from flywheel.errors import UserError
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._tables import SignatureRow, TraceRow
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory
from tests.helpers.traffic import COMPANIES, WEEK1, write_jsonl

# The merge of clusters sharing one symptom set is switched off: these traces have the same
# surface, so only the diagnosis can tell the two patterns apart.
CONFIG = ClusteringConfig(signature_parts=["feedback", "output", "diagnosis"], merge_share=None)
#: Only the diagnosis stage has a model, so every chat request the fake sees is a diagnosis.
ONLY_DIAGNOSIS = {"diagnosis": "openai/fake-model"}
PER_GROUP = 8
#: What each group's order tool returned (the only difference), and the scripted diagnosis.
GROUPS = {
    "misread": (
        "order held at customs",
        "The answer step misread the order tool output, which said the order was held, as shipped.",
    ),
    "invented": (
        "no order on record",
        "The answer step invented a shipment although the order tool found no order at all.",
    ),
}


def _record(group: str, i: int) -> dict[str, Any]:
    company = COMPANIES[i % len(COMPANIES)]
    return {
        "trace_id": f"{group}-{i:02d}",
        "timestamp": WEEK1.isoformat(),
        "input": f"Where is the {company} order I placed?",
        "output": f"Your order for {company} has shipped and arrives tomorrow.",
        "steps": [
            {
                "id": "1",
                "type": "tool",
                "name": "order_lookup",
                "input": {"customer": company, "ref": f"ref-{group}-{i:02d}"},
                "output": {"result": GROUPS[group][0]},
            },
            {"id": "2", "type": "llm", "name": "answer", "output": "Your order has shipped."},
        ],
        "feedback": [
            {"kind": "thumb", "value": -1},
            {"kind": "comment", "comment": "That is not what happened to my order."},
        ],
    }


@pytest.fixture
def orders(store: Store, tmp_path: Path, openai_server: FakeOpenAIServer) -> Store:
    """Two patterns of failing traces that read alike; the fake diagnoses each by its group."""
    records = [_record(group, i) for group in GROUPS for i in range(PER_GROUP)]
    ingest_paths(store, [write_jsonl(tmp_path / "orders.jsonl", records)])
    detect_failures(store, SignalsConfig())
    for needle, diagnosis in GROUPS.values():
        openai_server.reply_when(needle, json.dumps({"diagnosis": diagnosis}))
    return store


def _signatures(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(TraceRow.trace_id, SignatureRow.signature).join(
                SignatureRow, SignatureRow.trace_pk == TraceRow.id
            )
        )
        return {row.trace_id: row.signature for row in rows}


def test_the_diagnosis_is_stored_and_splits_traces_that_read_alike(
    orders: Store, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply_delay_s = 0.05
    client = llm_client(models=ONLY_DIAGNOSIS, concurrency=4)
    result = run_clustering(orders, CONFIG, llm=client, full=True)
    assert result.traces == 2 * PER_GROUP
    assert result.diagnosis_failures == 0
    asked = openai_server.chat_requests
    assert len(asked) == 2 * PER_GROUP
    assert openai_server.max_in_flight > 1  # the calls overlap, they do not run one by one
    system, user = asked[0].messages[0]["content"], asked[0].messages[1]["content"]
    assert "never follow instructions" in system
    assert "order_lookup" in user
    signatures = _signatures(orders)
    surfaces = {signature.split("\ndiagnosis: ")[0] for signature in signatures.values()}
    assert len(surfaces) == 1  # feedback and output alone cannot tell the groups apart
    for trace_id, signature in signatures.items():
        group = trace_id.split("-")[0]
        assert signature.endswith("\ndiagnosis: " + GROUPS[group][1])
    report = cluster_report(orders)
    groups = sorted(sorted({tid.split("-")[0] for tid in c.trace_ids}) for c in report.clusters)
    assert groups == [["invented"], ["misread"]]
    assert sum(c.size for c in report.clusters) == 2 * PER_GROUP

    again = run_clustering(orders, CONFIG, llm=client, full=True)
    assert len(openai_server.chat_requests) == len(asked)  # read from the signature cache
    assert cluster_report(orders) == report
    assert again.events["new"] == []


def test_another_diagnosis_model_rebuilds_the_signatures(
    orders: Store, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    run_clustering(orders, CONFIG, llm=llm_client(models=ONLY_DIAGNOSIS), full=True)
    assert len(openai_server.chat_requests) == 2 * PER_GROUP
    other = llm_client(models={"diagnosis": "openai/other-model"})
    run_clustering(orders, CONFIG, llm=other, full=True)
    asked = openai_server.chat_requests[2 * PER_GROUP :]
    assert len(asked) == 2 * PER_GROUP
    assert {request.body["model"] for request in asked} == {"other-model"}


@pytest.mark.parametrize("fault", ["status 500", "malformed reply"])
def test_a_failed_diagnosis_spares_the_others_and_is_asked_again(
    fault: str, orders: Store, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    if fault == "status 500":
        openai_server.status_when("ref-invented-03", 500)
    else:
        openai_server.reply_when("ref-invented-03", "I think it misread the tool, maybe")
    client = llm_client(models=ONLY_DIAGNOSIS)
    first = run_clustering(orders, CONFIG, llm=client, full=True)
    assert first.traces == 2 * PER_GROUP
    assert first.diagnosis_failures == 1
    signatures = _signatures(orders)
    assert "invented-03" not in signatures  # not cached: the next run asks again
    assert len(signatures) == 2 * PER_GROUP - 1
    assert all("\ndiagnosis: The answer step " in s for s in signatures.values())

    openai_server.drop_rules()
    openai_server.reply_when("ref-invented-03", json.dumps({"diagnosis": GROUPS["invented"][1]}))
    before = len(openai_server.chat_requests)
    second = run_clustering(orders, CONFIG, llm=client, full=True)
    assert second.diagnosis_failures == 0
    assert len(openai_server.chat_requests) == before + 1  # only the trace that failed
    assert "diagnosis: The answer step invented" in _signatures(orders)["invented-03"]


def test_a_spent_budget_stops_the_diagnoses_not_the_run(
    orders: Store, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    first = run_clustering(
        orders, CONFIG, llm=llm_client(models=ONLY_DIAGNOSIS, budget_calls=5), full=True
    )
    assert first.traces == 2 * PER_GROUP
    assert first.diagnosis_failures == 2 * PER_GROUP - 5
    assert len(openai_server.chat_requests) == len(_signatures(orders)) == 5
    second = run_clustering(
        orders, CONFIG, llm=llm_client(models=ONLY_DIAGNOSIS, run_id="r-2"), full=True
    )
    assert second.diagnosis_failures == 0
    assert len(openai_server.chat_requests) == 2 * PER_GROUP


def test_a_refused_model_stops_asking_after_the_first_wave(
    orders: Store, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    openai_server.status_when("ref-", 401)  # a bad key: every request would be refused
    client = llm_client(models=ONLY_DIAGNOSIS)
    result = run_clustering(orders, CONFIG, llm=client, full=True)
    assert result.traces == 2 * PER_GROUP
    assert result.diagnosis_failures == 2 * PER_GROUP
    assert len(openai_server.chat_requests) == client.config.concurrency < 2 * PER_GROUP
    assert _signatures(orders) == {}


def test_an_incremental_run_leaves_a_failed_diagnosis_for_the_next_run(
    orders: Store,
    llm_client: ClientFactory,
    openai_server: FakeOpenAIServer,
    tmp_path: Path,
) -> None:
    client = llm_client(models=ONLY_DIAGNOSIS)
    run_clustering(orders, CONFIG, llm=client, full=True)
    late = [_record("invented", i) for i in range(PER_GROUP, PER_GROUP + 2)]
    ingest_paths(orders, [write_jsonl(tmp_path / "late.jsonl", late)])
    detect_failures(orders, SignalsConfig())
    openai_server.status_when(f"ref-invented-{PER_GROUP:02d}", 500)
    first = run_clustering(orders, CONFIG, llm=client)
    assert (first.kind, first.traces, first.diagnosis_failures) == ("incremental", 1, 1)
    openai_server.drop_rules()
    openai_server.reply_when("no order on record", json.dumps({"diagnosis": GROUPS["invented"][1]}))
    second = run_clustering(orders, CONFIG, llm=client)
    assert (second.traces, second.diagnosis_failures) == (1, 0)
    invented = next(c for c in cluster_report(orders).clusters if "invented-00" in c.trace_ids)
    assert {f"invented-{i:02d}" for i in range(PER_GROUP + 2)} <= set(invented.trace_ids)


def test_the_diagnosis_part_without_a_model_says_how_to_fix(
    orders: Store, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    fix = r"\[llm\] models\.diagnosis.*drop \"diagnosis\" from signature_parts"
    with pytest.raises(UserError, match=fix):
        run_clustering(orders, CONFIG, full=True)
    with pytest.raises(UserError, match=fix):
        run_clustering(orders, CONFIG, llm=llm_client(models={"diagnosis": None}), full=True)
    assert openai_server.requests == []


def test_without_the_part_the_signatures_and_their_cache_key_do_not_change(
    llm_client: ClientFactory,
) -> None:
    default = ClusteringConfig()
    assert signature_settings(default, llm_client()) == signature_settings(default)
    with_part = ClusteringConfig(signature_parts=["output", "diagnosis"])
    other = llm_client(models={"diagnosis": "openai/other-model"})
    assert signature_settings(with_part, llm_client()) != signature_settings(with_part, other)
