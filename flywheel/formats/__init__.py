"""Ingestion formats: each a small module behind the `TraceFormat` protocol."""

from flywheel.formats._protocol import TraceFormat
from flywheel.formats._registry import (
    Detection,
    detect,
    detect_format,
    format_names,
    get_format,
    register_format,
    sniff_confidence,
)
from flywheel.formats._source import Parsed, Record, Rejected, TraceSource
from flywheel.formats.atif import AtifFormat
from flywheel.formats.autogen import AutoGenFormat
from flywheel.formats.chat import ChatFormat
from flywheel.formats.inspect_ai import InspectFormat
from flywheel.formats.langfuse import LangfuseFormat
from flywheel.formats.langsmith import LangSmithFormat
from flywheel.formats.native import NativeFormat
from flywheel.formats.openai_agents import OpenAIAgentsFormat
from flywheel.formats.openhands import OpenHandsFormat
from flywheel.formats.otlp import OtlpFormat
from flywheel.formats.phoenix import PhoenixFormat
from flywheel.formats.swe_agent import SweAgentFormat
from flywheel.formats.tau2 import Tau2Format
from flywheel.formats.taubench import TauBenchFormat

# Detection order: the most specific formats first, the native JSONL last.
register_format(OtlpFormat())
register_format(PhoenixFormat())
register_format(LangSmithFormat())
register_format(LangfuseFormat())
register_format(SweAgentFormat())
register_format(InspectFormat())
register_format(OpenHandsFormat())
register_format(OpenAIAgentsFormat())
register_format(AtifFormat())
register_format(AutoGenFormat())
register_format(Tau2Format())
register_format(TauBenchFormat())  # tau-bench runs are chats too: before chat
register_format(ChatFormat())
register_format(NativeFormat())

__all__ = [
    "Detection",
    "Parsed",
    "Record",
    "Rejected",
    "TraceFormat",
    "TraceSource",
    "detect",
    "detect_format",
    "format_names",
    "get_format",
    "register_format",
    "sniff_confidence",
]
