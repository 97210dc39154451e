"""Triage: a root cause, owner, severity, priority and fixability for every failure cluster.

- The taxonomy is data (`Taxonomy`, `RootCause`, `TriageConfig` from ``triage.toml``).
- `triage_clusters` runs the triage agent (a LangGraph graph: gather evidence, classify,
  assess severity, recommend, write a rationale) on the store's active clusters and saves a
  `TriageRecord` per cluster; `TriageAgent` runs it on plain lists of traces.
- A record is `fixable` only when the optimizers can plausibly remove the cluster
  (`assess_fixability`: a cause they change, confidence above review, config-shaped
  evidence); otherwise it names the owner and a one-line reason. Records under the review
  threshold carry their reasons and go on the "needs a human" list. Each record has a name a
  reviewer understands (`cluster_name`: shared symptom, failing step, request pattern).
- `label_cluster` records a reviewer's answer (the nearest-neighbour memory learns from it);
  `calibrate` measures agent-human agreement (Cohen's kappa, per-category precision and
  recall, confusion matrix, per week).
- `failing_step` names the step where a failing trace first went wrong (and its agent), with
  the evidence; `step_pattern` is what a cluster's traces share (stored with the record).
- `run_triage_benchmark` scores all this against labelled traces; `run_step_benchmark` scores
  the failing step against AgentRx's root-cause steps.
"""

from triage._agent import (
    HumanLabel,
    build_agent,
    calibration_pairs,
    human_labels,
    label_cluster,
    neighbour_memory,
    stored_records,
    triage_clusters,
)
from triage._bench import run_triage_benchmark
from triage._calibration import CalibrationPair, CalibrationReport, calibrate
from triage._classify import (
    Classification,
    Classifier,
    LabelledExample,
    NeighbourMemory,
    RuleClassifier,
)
from triage._evidence import ClusterEvidence, EvidenceItem, MemberTrace, gather_evidence
from triage._facts import Baseline
from triage._fixability import Fixability, assess_fixability
from triage._graph import TriageAgent
from triage._naming import cluster_name
from triage._priority import Priority, prioritise
from triage._record import SOURCES, EvidenceRef, TriageRecord
from triage._step import FailingStep, StepRule, failing_step, step_pattern
from triage._step_bench import run_step_benchmark
from triage._taxonomy import (
    BUILTIN_ROOT_CAUSES,
    SEVERITIES,
    RootCause,
    Severity,
    Taxonomy,
    TriageConfig,
    load_triage_config,
)

__all__ = [
    "BUILTIN_ROOT_CAUSES",
    "SEVERITIES",
    "SOURCES",
    "Baseline",
    "CalibrationPair",
    "CalibrationReport",
    "Classification",
    "Classifier",
    "ClusterEvidence",
    "EvidenceItem",
    "EvidenceRef",
    "FailingStep",
    "Fixability",
    "HumanLabel",
    "LabelledExample",
    "MemberTrace",
    "NeighbourMemory",
    "Priority",
    "RootCause",
    "RuleClassifier",
    "Severity",
    "StepRule",
    "Taxonomy",
    "TriageAgent",
    "TriageConfig",
    "TriageRecord",
    "assess_fixability",
    "build_agent",
    "calibrate",
    "calibration_pairs",
    "cluster_name",
    "failing_step",
    "gather_evidence",
    "human_labels",
    "label_cluster",
    "load_triage_config",
    "neighbour_memory",
    "prioritise",
    "run_step_benchmark",
    "run_triage_benchmark",
    "step_pattern",
    "stored_records",
    "triage_clusters",
]
