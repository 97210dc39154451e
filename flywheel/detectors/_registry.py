"""The registry of failure detectors: contracts, detections, and a run that never crashes.

A detector is a small named function ``(view: TraceView) -> Iterable[Finding]`` registered
with a `Contract` that declares what it reads, the symptoms it may emit and, for each
symptom, the root cause it is evidence for and with what weight. The registry turns each
`Finding` into a `Detection` carrying that declared evidence, so clustering (which symptoms a
trace shows), triage (which cause they point at) and naming all read one record.

``@detector(...)`` turns a function into a `Detector`; a plugin registers it through the hook
``register_detectors`` (`flywheel.hookspecs`), exactly as the built-ins do, and
`default_registry` holds every registered one. A detector that raises on an odd
trace, or emits a symptom it did not declare, is recorded as a `DetectorFailure` and the run
goes on with the other detectors.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flywheel import plugins
from flywheel.errors import UserError

if TYPE_CHECKING:
    from flywheel.detectors._view import TraceView

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Symptom:
    """A symptom as a detector declares it.

    - ``cause``: the root cause (a taxonomy name) it is evidence for, or None when it
      describes a failure without pointing at a component;
    - ``weight`` in [0, 1]: how strongly one trace showing it points at ``cause``;
    - ``feature``: whether it describes *how* a trace failed, crisply enough to be a
      clustering feature. ``False`` for context that matters to triage only and varies within
      one failure pattern: what a score or the user said (already the failure signals),
      properties of the index or the route that healthy traffic shows too, money terms.
    """

    cause: str | None = None
    weight: float = 0.0
    feature: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"evidence weight must be in [0, 1], got {self.weight}")


@dataclass(frozen=True)
class Contract:
    """The declared contract of a detector.

    - ``name``: unique, stable (stored with every detection);
    - ``reads``: the parts of a trace it reads, for a reader (e.g. ``"retriever outputs"``,
      ``"trace.output"``, ``"tool schemas"``);
    - ``emits``: every symptom it may emit, each declared as a `Symptom` (the root cause it is
      evidence for, with what weight, and whether it is a clustering feature);
    - ``description``: one line on what it detects (the function's docstring by default).
    """

    name: str
    reads: tuple[str, ...]
    emits: Mapping[str, Symptom]
    description: str = ""


@dataclass(frozen=True)
class Finding:
    """What a detector function returns: a ``symptom`` it declared, why, where, how strongly."""

    symptom: str
    evidence: str
    step_id: str | None = None
    strength: float = 1.0


@dataclass(frozen=True)
class Detection:
    """One symptom found on one trace, with the evidence its detector declared for it."""

    detector: str
    symptom: str
    strength: float
    step_id: str | None
    evidence: str
    cause: str | None
    weight: float
    feature: bool

    @property
    def text(self) -> str:
        """The symptom as a reader (and an embedding model) should see it."""
        return self.symptom.replace("_", " ")


@dataclass(frozen=True)
class DetectorFailure:
    """A detector that raised (or broke its contract) on one trace: recorded, not fatal."""

    detector: str
    trace_id: str
    error: str
    stack: str = ""


@dataclass
class DetectionRun:
    """The detections of one trace, and the detectors that failed on it."""

    detections: list[Detection] = field(default_factory=list)
    failures: list[DetectorFailure] = field(default_factory=list)

    def symptoms(self) -> list[str]:
        """Distinct symptom names, in detection order."""
        return list(dict.fromkeys(d.symptom for d in self.detections))

    def features(self) -> list[Detection]:
        """One detection per symptom whose detector describes how a trace failed."""
        seen: dict[str, Detection] = {}
        for detection in self.detections:
            if detection.feature:
                seen.setdefault(detection.symptom, detection)
        return list(seen.values())


DetectorFunction = Callable[["TraceView"], Iterable[Finding]]


@dataclass(frozen=True)
class Detector:
    """A detector function with its declared contract (what ``@detector`` makes)."""

    contract: Contract
    function: DetectorFunction


class DetectorRegistry:
    """Detectors by name, in registration order."""

    def __init__(self) -> None:
        self._detectors: dict[str, Detector] = {}

    def register(self, detector: Detector) -> None:
        """Add a detector; a name or a symptom already claimed by another detector is an error
        (one symptom, one rule)."""
        if not isinstance(detector, Detector):
            raise UserError(
                f"{detector!r} is not a detector (decorate its function with "
                "@flywheel.detectors.detector(name, reads=..., emits=...))"
            )
        contract = detector.contract
        if contract.name in self._detectors:
            raise UserError(f"a detector named '{contract.name}' is already registered")
        if not contract.emits:
            raise UserError(f"detector '{contract.name}' declares no symptom in its contract")
        owners = self.symptom_owners()
        taken = sorted(s for s in contract.emits if s in owners)
        if taken:
            raise UserError(
                f"detector '{contract.name}' emits {', '.join(taken)}, already emitted by "
                f"'{owners[taken[0]]}'; give the symptom another name"
            )
        self._detectors[contract.name] = detector

    def unregister(self, name: str) -> None:
        if name not in self._detectors:
            raise UserError(f"no detector '{name}'; registered: {', '.join(self._detectors)}")
        del self._detectors[name]

    def __iter__(self) -> Iterator[Detector]:
        return iter(list(self._detectors.values()))

    def __len__(self) -> int:
        return len(self._detectors)

    def get(self, name: str) -> Detector:
        found = self._detectors.get(name)
        if found is None:
            raise UserError(f"no detector '{name}'; registered: {', '.join(self._detectors)}")
        return found

    def symptom_owners(self) -> dict[str, str]:
        """Symptom name -> the detector that emits it."""
        return {s: d.contract.name for d in self._detectors.values() for s in d.contract.emits}

    def evidence(self) -> dict[str, Symptom]:
        """Symptom name -> its declaration (root cause, weight, feature)."""
        return {s: e for d in self._detectors.values() for s, e in d.contract.emits.items()}

    def symptoms(self) -> tuple[str, ...]:
        """Every symptom the registered detectors may emit, in registration order."""
        return tuple(s for d in self._detectors.values() for s in d.contract.emits)

    def run(self, view: TraceView, *, only: Sequence[str] | None = None) -> DetectionRun:
        """Every detection on ``view``'s trace; a detector that raises is recorded and skipped."""
        result = DetectionRun()
        for item in self:
            contract = item.contract
            if only is not None and contract.name not in only:
                continue
            try:
                found = list(item.function(view))
                detections = [_detection(contract, finding) for finding in found]
            except Exception as exc:  # a detector's bug must not end the batch
                failure = DetectorFailure(
                    contract.name,
                    view.trace.trace_id,
                    f"{type(exc).__name__}: {exc}",
                    traceback.format_exc(limit=4),
                )
                result.failures.append(failure)
                _log.warning(
                    "detector %s failed on trace %s: %s", contract.name, failure.trace_id, exc
                )
                continue
            result.detections.extend(detections)
        return result


def _detection(contract: Contract, finding: Finding) -> Detection:
    evidence = contract.emits.get(finding.symptom)
    if evidence is None:
        raise ValueError(
            f"emitted '{finding.symptom}', not declared in its contract "
            f"({', '.join(contract.emits)})"
        )
    if not 0.0 <= finding.strength <= 1.0:
        raise ValueError(f"strength {finding.strength} of '{finding.symptom}' is not in [0, 1]")
    return Detection(
        detector=contract.name,
        symptom=finding.symptom,
        strength=round(finding.strength, 4),
        step_id=finding.step_id,
        evidence=finding.evidence,
        cause=evidence.cause,
        weight=evidence.weight,
        feature=evidence.feature,
    )


def default_registry() -> DetectorRegistry:
    """Every detector the plugins register (the built-ins first), built once per plugin set."""
    return plugins.registered("register_detectors", _build_registry)


def _build_registry(calls: list[plugins.Registered]) -> DetectorRegistry:
    registry = DetectorRegistry()
    for call in calls:
        try:
            registry.register(*call.args)
        except (UserError, TypeError) as exc:
            raise plugins.PluginError(f"plugin '{call.plugin}': {exc}") from None
    return registry


def detector(
    name: str,
    *,
    reads: Sequence[str],
    emits: Mapping[str, Symptom],
) -> Callable[[DetectorFunction], Detector]:
    """Make the decorated function a `Detector` with this contract (its description is the
    docstring's first paragraph); a plugin's ``register_detectors`` hook registers it::

    @detector("refund_promise", reads=("trace.output",),
              emits={"refund_promised": Symptom("prompt_instruction", 0.7)})
    def refund_promise(view: TraceView) -> Iterator[Finding]:
        if "refund" in view.output.lower():
            yield Finding("refund_promised", "the answer promises a refund")

    @hookimpl
    def register_detectors(register):
        register(refund_promise)
    """

    def make(function: DetectorFunction) -> Detector:
        doc = (function.__doc__ or "").strip().split("\n\n")[0]
        contract = Contract(name, tuple(reads), dict(emits), " ".join(doc.split()))
        return Detector(contract, function)

    return make
