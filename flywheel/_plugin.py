"""The core's built-ins as a plugin (entry point ``flywheel: core``): the trace formats, the
failure detectors, the ingest/detect/cluster stages and the core commands. Each hook imports
its modules when called, so a library user that never asks for commands loads no CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flywheel.hookspecs import hookimpl

if TYPE_CHECKING:
    import typer


@hookimpl
def register_formats(register: Callable[[Any], None]) -> None:
    from flywheel.formats import (
        atif,
        autogen,
        chat,
        inspect_ai,
        langfuse,
        langsmith,
        native,
        openai_agents,
        openhands,
        otlp,
        phoenix,
        swe_agent,
        tau2,
        taubench,
    )

    # Detection order: the most specific formats first, the native JSONL last.
    register(otlp.OtlpFormat())
    register(phoenix.PhoenixFormat())
    register(langsmith.LangSmithFormat())
    register(langfuse.LangfuseFormat())
    register(swe_agent.SweAgentFormat())
    register(inspect_ai.InspectFormat())
    register(openhands.OpenHandsFormat())
    register(openai_agents.OpenAIAgentsFormat())
    register(atif.AtifFormat())
    register(autogen.AutoGenFormat())
    register(tau2.Tau2Format())
    register(taubench.TauBenchFormat())  # tau-bench runs are chats too: before chat
    register(chat.ChatFormat())
    register(native.NativeFormat())


@hookimpl
def register_detectors(register: Callable[[Any], None]) -> None:
    from flywheel.detectors import Detector, _answer, _causes, _context, _steps

    for module in (_answer, _causes, _context, _steps):  # each in the order it defines them
        for value in vars(module).values():
            if isinstance(value, Detector):
                register(value)


@hookimpl
def register_stages(register: Callable[[Any], None]) -> None:
    from flywheel.nightly._builtin import ClusterStage, DetectStage, IngestStage

    register(IngestStage())
    register(DetectStage())
    register(ClusterStage())


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from flywheel.cli import (
        _bench,
        _cluster,
        _datasets,
        _demo,
        _ingest,
        _reports,
        _retention,
        _traces,
    )
    from flywheel.nightly._cli import nightly

    cli.command()(_ingest.ingest)
    cli.command()(_reports.signals)
    cli.command()(_reports.stats)
    cli.command()(_reports.quarantine)
    cli.command()(_cluster.cluster)
    cli.command()(_cluster.clusters)
    cli.command()(_retention.retention)
    cli.command()(nightly)
    cli.add_typer(_traces.app, name="traces")
    cli.add_typer(_bench.app, name="bench")
    cli.add_typer(_demo.app, name="demo")
    cli.add_typer(_datasets.datasets_app, name="datasets")
    cli.add_typer(_datasets.export_app, name="export")
