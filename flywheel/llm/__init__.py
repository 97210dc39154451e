"""LLM access: the one doorway for every model call in Flywheel (litellm underneath).

Each stage (triage, judge, optimizer, naming, embedding, diagnosis) has a model string in the
``[llm]`` section of `flywheel.toml`, or none: then :meth:`LLMClient.is_configured` is false and the
stage runs its deterministic offline path. A configured stage calls :meth:`LLMClient.complete`
or :meth:`LLMClient.structured` (and their async twins), which cache replies, retry
provider failures with backoff, keep a ledger of tokens, cost and latency, and stop the run
at its budget. :class:`LLMError` (provider failures, malformed replies) is an infrastructure
error: record it as such, never as a wrong answer of the agent.
"""

from flywheel.llm._client import Completion, LLMClient
from flywheel.llm._config import STAGES, LLMConfig
from flywheel.llm._errors import BudgetExceeded, LLMError, MalformedResponse, ProviderError
from flywheel.llm._ledger import LedgerSummary, StageUsage
from flywheel.llm._secrets import redact

__all__ = [
    "STAGES",
    "BudgetExceeded",
    "Completion",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "LedgerSummary",
    "MalformedResponse",
    "ProviderError",
    "StageUsage",
    "redact",
]
