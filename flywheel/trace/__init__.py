"""The domain model of a production trace: `Trace`, `Step`, `Feedback`, `Score`, `FailureSignal`.

These pydantic models are the boundary every ingestion format converts into and every later
stage (signals, clustering, triage, replay, export) reads. Unknown fields are kept
(``extra="allow"``) so that nothing a producer sent is silently dropped.

Step types follow the OpenInference span kinds.

The parts: `_vocabulary` (kind and source strings read onto enums), `_models` (the records),
`_measurements` (unusable numbers taken out before validation), `_signals` (failure evidence).
"""

from flywheel.trace._measurements import drop_unusable_numbers as drop_unusable_numbers
from flywheel.trace._models import MAX_ID_CHARS as MAX_ID_CHARS
from flywheel.trace._models import TRACE_SCHEMA_VERSION as TRACE_SCHEMA_VERSION
from flywheel.trace._models import Dropped as Dropped
from flywheel.trace._models import Feedback as Feedback
from flywheel.trace._models import Score as Score
from flywheel.trace._models import Step as Step
from flywheel.trace._models import Trace as Trace
from flywheel.trace._models import as_text as as_text
from flywheel.trace._models import content_digest as content_digest
from flywheel.trace._signals import FailureSignal as FailureSignal
from flywheel.trace._signals import SignalKind as SignalKind
from flywheel.trace._vocabulary import RAW_SUFFIX as RAW_SUFFIX
from flywheel.trace._vocabulary import FeedbackKind as FeedbackKind
from flywheel.trace._vocabulary import FeedbackSource as FeedbackSource
from flywheel.trace._vocabulary import StepType as StepType
from flywheel.trace._vocabulary import step_type_is_known as step_type_is_known
