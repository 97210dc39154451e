"""Cluster names a reviewer understands, offline, unique within a run, keywords kept; shown
first by `flywheel clusters` and `flywheel triage`."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.clustering import cluster_report
from flywheel.project import Project
from flywheel.store import Store
from flywheel.store._tables import ClusterRow
from flywheel.trace import FailureSignal, SignalKind, Trace
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces, make_trace
from triage import Baseline, MemberTrace, TriageAgent, triage_clusters
from triage._naming import error_gist, request_subject, unique_names

LOW = FailureSignal(kind=SignalKind.low_score, strength=0.6, evidence="low judge score")
runner = CliRunner()


def name_of(kind: str, n: int = 6) -> str:
    base = Baseline.from_traces(Trace.model_validate(r) for r in healthy(40))
    members = [MemberTrace(Trace.model_validate(r), [LOW]) for r in kind_traces(kind, n)]
    return TriageAgent(baseline=base).triage("C-1", members).name


def test_names_say_what_went_wrong_where_and_on_which_requests() -> None:
    assert name_of("direct") == "Renewal terms requests answered from memory, no search"
    assert name_of("tool_args") == (
        "`ticket_search` call rejected: since=… is not an ISO date (YYYY-MM-DD)"
    )
    assert name_of("timeout") == "`status_lookup` timed out"
    assert name_of("stale") == "Refund policy requests answered from an outdated document"
    assert name_of("unsupported").endswith("requests refused: no tool or permission for them")


def test_the_request_pattern_needs_most_requests_to_share_it() -> None:
    assert request_subject(["Cancel order 1 please", "cancel order 7", "Where is my parcel?"]) == (
        "cancel order"
    )
    assert request_subject(["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]) is None
    assert request_subject([]) is None
    # A field name every request carries (a structured input) is not what they are about.
    structured = [
        "channel: webchat message: my router keeps dropping",
        "channel: webchat message: router dropping again since Monday",
        "channel: webchat message: the router drops every hour",
    ]
    healthy = {"channel": 1.0, "webchat": 0.5, "channel webchat": 0.5, "webchat message": 0.5}
    assert request_subject(structured) == "webchat message"  # field names, without a baseline
    assert request_subject(structured, healthy) == "router"


def test_an_error_gist_drops_the_exception_class_values_and_numbers() -> None:
    assert error_gist("ValueError: priority='urgent!!' is not one of P1..P4") == (
        "priority=… is not one of P1..P4"
    )
    assert error_gist("HTTP 422: field 12 invalid\nTraceback ...") == "HTTP N: field N invalid"
    assert error_gist("") == "an error"


def test_duplicate_names_are_told_apart_by_requests_then_keywords_then_id() -> None:
    same = "`crm` timed out"
    by_requests = unique_names({"C-1": same, "C-2": same}, {"C-1": "refund", "C-2": "move"}, {})
    assert by_requests == {"C-1": f"{same} · refund requests", "C-2": f"{same} · move requests"}
    by_keywords = unique_names({"C-1": same, "C-2": same}, {}, {"C-1": ["vpn"], "C-2": ["sso"]})
    assert by_keywords == {"C-1": f"{same} · vpn", "C-2": f"{same} · sso"}
    by_id = unique_names({"C-1": same, "C-2": same}, {}, {"C-1": ["crm"], "C-2": []})
    assert by_id == {"C-1": f"{same} · C-1", "C-2": f"{same} · C-2"}
    kept = unique_names({"C-9": "A"}, {}, {}, taken={"C-1": "A", "C-9": "old"})
    assert kept == {"C-9": "A · C-9"}


def test_cli_shows_the_new_name_first_and_the_keywords_second(
    project: Project, tmp_path: Path
) -> None:
    store = project.open_store()
    try:
        twins = [make_trace("direct", i) for i in range(100, 106)]
        ingest(store, tmp_path, healthy(20) + kind_traces("direct", 6) + twins)
        add_cluster(store, "C-0001", [r["trace_id"] for r in kind_traces("direct", 6)])
        add_cluster(store, "C-0002", [r["trace_id"] for r in twins])
        with store.engine.begin() as conn:
            for cid, words in (("C-0001", ["memory", "globex"]), ("C-0002", ["renewal", "acct"])):
                conn.execute(
                    update(ClusterRow)
                    .where(ClusterRow.id == cid)
                    .values(label=" / ".join(words), keywords={"words": words})
                )
    finally:
        store.close()

    triaged = runner.invoke(app, ["triage", "--json"])
    assert triaged.exit_code == 0, triaged.output
    names = {c["cluster_id"]: c["name"] for c in json.loads(triaged.stdout)["clusters"]}
    base = "Renewal terms requests answered from memory, no search"
    # "memory" is in the name already: the first keyword that tells them apart is used.
    assert names == {"C-0001": f"{base} · globex", "C-0002": f"{base} · acct"}

    listed = runner.invoke(app, ["clusters", "--json"])
    labels = {c["id"]: (c["label"], c["keywords"]) for c in json.loads(listed.stdout)["clusters"]}
    assert labels["C-0001"] == (names["C-0001"], ["memory", "globex"])
    table = runner.invoke(app, ["clusters"]).stdout
    assert table.index("Renewal terms") < table.index("memory /") < table.index("renewal / acct")


def test_a_cluster_an_llm_named_keeps_its_name(store: Store, tmp_path: Path) -> None:
    ingest(store, tmp_path, healthy(20) + kind_traces("timeout", 6) + kind_traces("stale", 6))
    add_cluster(store, "C-0001", [r["trace_id"] for r in kind_traces("timeout", 6)])
    add_cluster(store, "C-0002", [r["trace_id"] for r in kind_traces("stale", 6)])
    with store.engine.begin() as conn:
        conn.execute(
            update(ClusterRow)
            .where(ClusterRow.id == "C-0001")
            .values(label="Status checks time out", description="The status tool times out.")
        )
    records = {r.cluster_id: r for r in triage_clusters(store)}
    assert records["C-0001"].name == "`status_lookup` timed out"  # triage's own, on its record
    labels = {c.id: c.label for c in cluster_report(store).clusters}
    assert labels == {
        "C-0001": "Status checks time out",
        "C-0002": "Refund policy requests answered from an outdated document",
    }
