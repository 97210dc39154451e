"""`flywheel.toml`, validated: typed sections, unknown keys rejected, environment overrides.

Precedence (highest first): ``FLYWHEEL_*`` environment variables (nested sections with a
double underscore, e.g. ``FLYWHEEL_SIGNALS__FAILING_THRESHOLD=0.6``), then `flywheel.toml`,
then the defaults below. pydantic-settings does the layering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from flywheel.errors import ConfigError
from flywheel.llm._config import LLMConfig

CONFIG_FILE = "flywheel.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestConfig(_Section):
    batch_size: int = Field(default=2000, ge=1)
    #: A record larger than this is quarantined instead of parsed.
    max_record_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    #: A trace timestamp more than this many hours after the ingest time is flagged: kept in
    #: the trace, but it counts in no week and never moves "this week" (`traces list --flagged`).
    max_future_hours: float = Field(default=24, ge=0, allow_inf_nan=False)
    #: Likewise for a timestamp more than this many days before the ingest time (a clock at 0).
    max_past_days: float = Field(default=3650, gt=0, le=36500, allow_inf_nan=False)
    #: A "running" ingest that has committed nothing for this long shows as abandoned (one on
    #: this host whose process is gone shows so at once).
    stale_run_minutes: float = Field(default=30, gt=0, allow_inf_nan=False)


class ScoreRule(_Section):
    """What one named score means: which direction is bad, and from where.

    ``{bad_below = 0.5}``: higher is better, a value under 0.5 is a failure signal (the
    default for scores not named: faithfulness, relevance, correctness...).
    ``{bad_above = 0.5}``: higher is worse (hallucination, toxicity, latency, cost...).
    ``{better = "lower"}`` (or ``"higher"``): the direction only, never judged on its own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bad_below: float | None = None
    bad_above: float | None = None
    better: Literal["higher", "lower"] | None = None

    @model_validator(mode="after")
    def _one_direction(self) -> ScoreRule:
        if self.bad_below is not None and self.bad_above is not None:
            raise ValueError("give bad_below (higher is better) or bad_above, not both")
        if self.bad_below is None and self.bad_above is None and self.better is None:
            raise ValueError('give bad_below, bad_above or better = "higher" | "lower"')
        implied = "higher" if self.bad_below is not None else "lower"
        given = (self.bad_below, self.bad_above) != (None, None)
        if self.better is not None and given and self.better != implied:
            raise ValueError(f"better = {self.better!r} contradicts the threshold given")
        return self

    @property
    def higher_is_better(self) -> bool:
        if self.bad_below is not None:
            return True
        if self.bad_above is not None:
            return False
        return self.better == "higher"

    @property
    def threshold(self) -> float | None:
        return self.bad_below if self.bad_below is not None else self.bad_above

    def is_bad(self, value: float) -> bool:
        """Whether ``value`` is on the bad side of the threshold (never, without one)."""
        if self.bad_below is not None:
            return value < self.bad_below
        if self.bad_above is not None:
            return value > self.bad_above
        return False

    def describe(self) -> str:
        if self.bad_below is not None:
            return f"bad below {self.bad_below:g}"
        if self.bad_above is not None:
            return f"bad above {self.bad_above:g}"
        return f"{self.better} is better"


class SignalsConfig(_Section):
    """Thresholds of failure detection. Strengths are in [0, 1]; combination is a noisy-OR."""

    #: A trace fails when its combined signal reaches this value.
    failing_threshold: float = Field(default=0.5, ge=0, le=1)
    #: What each named score means (`ScoreRule`), over the built-in defaults for well-known
    #: evaluator names (`flywheel.signals.score_rule`); ``default`` applies to names neither
    #: lists. In `flywheel.toml`: ``[signals.scores]`` ``hallucination = {bad_above = 0.3}``.
    scores: dict[str, ScoreRule] = Field(
        default_factory=lambda: {"default": ScoreRule(bad_below=0.5)}
    )
    #: A rating at or below this fraction of its scale is a low rating.
    low_rating_fraction: float = Field(default=0.4, ge=0, le=1)
    #: Robust z-score (median / MAD, per route) above which latency, cost, tool calls are odd.
    anomaly_z: float = Field(default=3.5, gt=0)
    #: Minimum traces on a route before anomalies are judged on it.
    anomaly_min_traces: int = Field(default=20, ge=3)
    #: Two requests in one session this close (token Jaccard) count as a rephrase / repeat.
    rephrase_similarity: float = Field(default=0.5, ge=0, le=1)
    repeat_similarity: float = Field(default=0.9, ge=0, le=1)
    #: Seconds within which a follow-up counts as a rephrase or repeat of the previous turn.
    session_window_s: float = Field(default=600, gt=0)
    #: Extra complaint phrases, added to the built-in list.
    complaint_phrases: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _legacy_thresholds(cls, data: Any) -> Any:
        """``low_score_thresholds = {name = 0.5}`` (the old key) means ``bad_below`` rules."""
        if not isinstance(data, dict) or "low_score_thresholds" not in data:
            return data
        data = dict(data)
        legacy = data.pop("low_score_thresholds")
        if not isinstance(legacy, dict):
            raise ValueError("low_score_thresholds must be a table of name = threshold")
        rules = dict(data.get("scores") or {})
        for name, threshold in legacy.items():
            rules.setdefault(name, {"bad_below": threshold})
        rules.setdefault("default", {"bad_below": 0.5})
        data["scores"] = rules
        return data


class ClusteringConfig(_Section):
    """Failure clustering: signature, embedding model, HDBSCAN parameters, identity."""

    #: Sentence-transformers model: the offline default, or a model name / local path; or
    #: ``"llm"``: the litellm embedding model of ``[llm] models.embedding``.
    embedding_model: str = "all-MiniLM-L6-v2"
    #: Parts of the failure signature, in order (valid: symptoms, signals, errors, path,
    #: feedback, scores, output, request, diagnosis). The default scored best on the labelled
    #: sets (see `flywheel bench cluster`); the request alone groups by topic, not by failure.
    #: ``diagnosis`` (off by default) is one sentence by the model of ``[llm] models.diagnosis``
    #: on which step went wrong and how, for categories only judgement separates: one LLM call
    #: per failing trace, once (cached with the signature; required model when listed).
    signature_parts: list[str] = Field(default_factory=lambda: ["errors", "feedback", "output"])
    #: Characters kept per step / per part, and in the whole signature (cut with a marker).
    max_part_chars: int = Field(default=300, ge=20)
    max_signature_chars: int = Field(default=1200, ge=100)
    #: Weight of the failure symptoms (`flywheel.detectors`: ignored format,
    #: citation mismatch, evaluators disagreeing...) next to the embedding; 0 clusters on the
    #: embedding alone. 0.5 scored best on the demo world (`flywheel bench cluster`).
    feature_weight: float = Field(default=0.5, ge=0)
    #: Clusters in which at least this share of the members shows the same (non-empty) set of
    #: symptoms are one pattern split by topic, and are merged; ``None`` keeps HDBSCAN's split.
    #: 0.7 scored best on the demo world (`flywheel bench cluster`, three seeds).
    merge_share: float | None = Field(default=0.7, gt=0, le=1)
    #: PCA dimensions before HDBSCAN (0 = none).
    reduce_dims: int = Field(default=16, ge=0)
    #: HDBSCAN parameters; ``None`` = the minimum cluster size is chosen per run by relative
    #: validity over the grid, minimum samples is 5 (or the size, if smaller).
    min_cluster_size: int | None = Field(default=None, ge=2)
    min_samples: int | None = Field(default=None, ge=1)
    #: Candidate minimum cluster sizes, as fractions of the traces clustered.
    size_grid: list[float] = Field(default_factory=lambda: [0.01, 0.02, 0.03, 0.05])
    #: No cluster is smaller than this.
    min_cluster_floor: int = Field(default=5, ge=2)
    #: A noise trace joins a cluster when its membership probability reaches this.
    soft_threshold: float = Field(default=0.5, ge=0, le=1)
    #: Centroid cosine similarity for a cluster to keep the id of a previous one.
    match_threshold: float = Field(default=0.8, ge=0, le=1)
    #: A full re-cluster runs when the last one is older than this (days).
    full_every_days: float = Field(default=7.0, gt=0)
    keywords: int = Field(default=8, ge=1)
    exemplars: int = Field(default=3, ge=1)
    #: Cluster each distinct (signature, symptoms) pair once, weighted by its traces: HDBSCAN's
    #: cost then grows with the distinct signatures, not the traces (docs/scale.md). Off by
    #: default until its one known difference is settled: on the two-week demo it found two
    #: small extra clusters in week 1 that week 2 merged back.
    distinct_signatures: bool = False


class HarnessOptions(_Section):
    """How a replay runs (the ``[replay]`` section of `flywheel.toml`, besides the gate)."""

    #: Cases in flight at once.
    concurrency: int = Field(default=32, ge=1)
    #: Seconds before one case is abandoned and recorded as a ``timeout`` error.
    timeout_s: float = Field(default=120.0, gt=0)
    #: Runs per case (k > 1 where the agent is nondeterministic); repeat i is passed as
    #: ``inputs["repeat"] = i`` so an agent can seed its randomness with it.
    repeats: int = Field(default=1, ge=1)
    #: Run again the keys whose stored result is an infrastructure error.
    retry_errors: bool = False
    #: Scorers judging each replayed trace, by name (``no_error``, ``failure_signal``,
    #: ``route``, ``tool``, ``citation``, ``format``, ``reference`` are built in; a plugin's
    #: ``register_scorers`` hook adds more). A case passes when every applicable one passes.
    scorers: list[str] = Field(
        default_factory=lambda: [
            "no_error",
            "failure_signal",
            "route",
            "tool",
            "citation",
            "format",
            "reference",
        ],
        min_length=1,
    )


class ComputeConfig(_Section):
    """``[compute]``: where heavy work runs: a replay's agent calls (`replay` and `gate`, the
    nightly's gate) and clustering's sentence embeddings (`cluster`, the nightly's cluster).

    ``executor``: ``"local"`` (this process, the default), ``"ray://host:port"`` (a Ray cluster
    through Ray Client, from outside it), ``"ray:host:port"`` (a cluster's GCS address, from a
    machine of the cluster) or ``"ray:auto"`` (the cluster this machine belongs to, or a local
    one started for the run). Ray is an optional extra: ``pip install 'flywheel[ray]'``.
    """

    executor: str = "local"
    #: Ray actors (agent processes) a replay's cases are spread over; ``None`` = one per CPU of
    #: the cluster. Each holds the agent once and runs its cases on an event loop.
    workers: int | None = Field(default=None, ge=1)
    #: Times a case is re-sent (or an embedding batch re-run) after its Ray worker died under
    #: it (an infrastructure fault).
    max_retries: int = Field(default=3, ge=0)

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        if value in {"local", "ray:auto"}:
            return value
        rest = value.removeprefix("ray://") if value.startswith("ray://") else None
        if rest is None and value.startswith("ray:"):
            rest = value.removeprefix("ray:")
        host, sep, port = (rest or "").rpartition(":")
        if not (host and sep and port.isdigit()):
            raise ValueError(
                f"unknown executor '{value}'; valid: local, ray://HOST:PORT, ray:HOST:PORT, "
                "ray:auto"
            )
        return value


class GateConfig(_Section):
    """Thresholds of the gate (``[replay.gate]`` in `flywheel.toml`)."""

    #: Family-wise error rate of the target-slice test (over a cluster's candidates).
    alpha: float = Field(default=0.05, gt=0, lt=1)
    #: Minimum absolute gain in the target slice's pass rate.
    min_improvement: float = Field(default=0.10, ge=0, le=1)
    #: Fewer judged target cases than this: inconclusive.
    min_validation_cases: int = Field(default=10, ge=1)
    #: Non-inferiority margin on the regression pass rate (absolute).
    noninferiority_margin: float = Field(default=0.03, ge=0, le=1)
    #: Two-sided confidence of the bootstrap intervals (the bound used is one-sided).
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    bootstrap_resamples: int = Field(default=2000, ge=100)
    seed: int = 0
    #: Leave the candidate's own cluster out of the regression comparison ("anything else").
    exclude_target_cluster: bool = True
    #: Budgets, as ratios candidate / baseline on the regression set.
    latency_p95_budget: float = Field(default=1.25, gt=0)
    cost_budget: float = Field(default=1.25, gt=0)
    tool_calls_budget: float = Field(default=1.25, gt=0)
    #: Judge a guardrail on its point estimate, or (stricter) on its interval's upper bound.
    guardrail_bound: Literal["estimate", "upper"] = "estimate"
    #: Share of (case, repeat) runs with infrastructure errors above which the gate is
    #: inconclusive (per suite and side).
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    #: Power at which minimum detectable effects are reported.
    power: float = Field(default=0.8, gt=0, lt=1)


class ReplayConfig(_Section):
    """``[replay]``: ``agent`` (``python:pkg.mod:fn``, ``http:URL``, ``langgraph:pkg.mod:f``),
    ``[replay.harness]`` (`HarnessOptions`) and ``[replay.gate]`` (`GateConfig`)."""

    agent: str | None = None
    harness: HarnessOptions = Field(default_factory=HarnessOptions)
    gate: GateConfig = Field(default_factory=GateConfig)


class DatasetsConfig(_Section):
    """``[datasets]``: the living eval sets (roles, sign-off, backlog)."""

    #: Who may sign off a change to the blocking set or its thresholds.
    owners: list[str] = Field(default_factory=list)
    #: Cases a new failure cluster puts into the backlog (its exemplars first).
    backlog_cases_per_cluster: int = Field(default=5, ge=1)


#: Built-in PII patterns (name -> regex). A named group ``pii`` limits the replacement to it.
DEFAULT_PII_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b",
    "account": (
        r"(?i)\b(?:account|acct)(?:\s*(?:no\.?|number|#))?\s*[:#]?\s*"
        r"(?P<pii>\d[\d-]{5,33})"
    ),
    "card": r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])",
    "phone": (
        r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])?"
        r"\d{3,4}[ .-]\d{3,4}(?![\w-])"
    ),
}


class ExportConfig(_Section):
    """``[export]``: post-training exports (PII scrubbing, de-duplication, the dataset card)."""

    #: Licence written into every dataset card.
    licence: str = "proprietary (set [export] licence in flywheel.toml)"
    #: Production traces need positive feedback at least this strong to become demonstrations.
    min_confidence: float = Field(default=0.8, ge=0, le=1)
    #: Cosine similarity at or above which a record is a near-duplicate of an earlier one.
    near_duplicate_threshold: float = Field(default=0.95, gt=0, le=1)
    #: PII regexes (name -> pattern), replaced by ``[NAME]``; these replace the built-ins.
    pii_patterns: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PII_PATTERNS))
    #: Trace metadata keys whose values are person names, scrubbed wherever they appear.
    name_fields: list[str] = Field(
        default_factory=lambda: [
            "user_name",
            "name",
            "full_name",
            "customer_name",
            "contact_name",
            "person",
            "author",
        ]
    )


class NightlyConfig(_Section):
    """``[nightly]``: what `flywheel nightly` reads, runs and writes."""

    #: Folder (relative to the project) searched recursively for new trace files.
    inbox: str = "inbox"
    #: Stages, in order (registered by plugins: `flywheel.nightly.available_stages`).
    stages: list[str] = Field(
        default_factory=lambda: [
            "ingest",
            "detect",
            "cluster",
            "triage",
            "optimize",
            "gate",
            "queue",
            "drift",
        ]
    )
    #: The highest-priority fixable clusters without an open candidate optimized per night.
    max_clusters: int = Field(default=5, ge=0)
    #: A full re-cluster runs when the last one is older than this (days); default: the
    #: ``[clustering] full_every_days``.
    full_recluster_days: float | None = Field(default=None, gt=0)
    #: Regression set rebuilt each night: this many cases from the last ``regression_days``.
    regression_size: int = Field(default=500, ge=1)
    regression_days: float = Field(default=7.0, gt=0)
    #: Where nightly-<run id>.md / .json go (relative to the project).
    report_dir: str = ".flywheel/reports"


class OptimizeSettings(_Section):
    """``[optimize]``: settings of the optimizer's strategies."""

    #: Evaluator scoring GEPA's texts (registered by plugins' ``register_evaluators``; ``replay``
    #: replays the optimisation traces through ``[replay] agent``).
    gepa_evaluator: str = "replay"
    #: Evaluations (one trace scored once) GEPA may spend per cluster.
    gepa_max_metric_calls: int = Field(default=100, ge=1)
    #: Candidates per cluster, and per strategy. Every candidate of a cluster joins the gate's
    #: Holm family, so near-duplicate wordings cost the good one its significance.
    max_candidates_per_cluster: int = Field(default=4, ge=1)
    max_per_strategy: int = Field(default=2, ge=1)
    #: Spend (USD) of one run's strategies, shared out evenly between its clusters up front.
    max_total_cost_usd: float = Field(default=5.0, ge=0)
    #: Worker processes (one cluster each); default: one per CPU, at most one per cluster.
    max_workers: int | None = Field(default=None, ge=1)


class UIConfig(_Section):
    """``[ui]``: the app (`flywheel ui`)."""

    #: A sign-in lasts this long (hours): the signed session cookie that keeps it across a
    #: reload expires then, and the person signs in again.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)


class RetentionConfig(_Section):
    """``[retention]``: how long traces are kept (`flywheel retention`, or the same command run
    from cron). Traces that a cluster exemplar, a dataset, the regression set, candidate
    evidence or an audit record refers to are kept whatever their age."""

    #: Traces older than this many days are deleted with what they own; ``None`` keeps all.
    older_than_days: float | None = Field(default=None, gt=0)


class Settings(BaseSettings):
    """The whole configuration of a project."""

    model_config = SettingsConfigDict(
        env_prefix="FLYWHEEL_", env_nested_delimiter="__", extra="forbid", toml_file=None
    )

    #: SQLAlchemy URL; relative SQLite paths are resolved against the project folder.
    database_url: str = "sqlite:///.flywheel/flywheel.db"
    #: The agent's configuration directory (prompts, routing, few-shot, tools), kept in git;
    #: candidate fixes are branches of its repository. Relative paths: from the project folder.
    config_repo: str | None = None
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    signals: SignalsConfig = Field(default_factory=SignalsConfig)
    clustering: ClusteringConfig = Field(default_factory=ClusteringConfig)
    #: Models per stage (none by default: every stage runs its offline path), retries, budget.
    llm: LLMConfig = Field(default_factory=LLMConfig)
    replay: ReplayConfig = Field(default_factory=ReplayConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    nightly: NightlyConfig = Field(default_factory=NightlyConfig)
    datasets: DatasetsConfig = Field(default_factory=DatasetsConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    optimize: OptimizeSettings = Field(default_factory=OptimizeSettings)
    ui: UIConfig = Field(default_factory=UIConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(project_dir: Path, **overrides: Any) -> Settings:
    """Read ``project_dir/flywheel.toml`` (if present) under the environment's overrides."""
    path = project_dir / CONFIG_FILE
    project_settings = type(
        "ProjectSettings",
        (Settings,),
        {"model_config": {**Settings.model_config, "toml_file": path}},
    )
    try:
        settings: Settings = project_settings(**overrides)
        return settings
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{path}: key '{key}': {first['msg']}; fix it in {CONFIG_FILE} "
            f"or the FLYWHEEL_{key.upper().replace('.', '__')} environment variable"
        ) from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError(f"{path}: {exc}") from None
