"""The [llm] section: offline by default, stages merged with defaults, unknown keys rejected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flywheel.errors import ConfigError, UserError
from flywheel.llm import STAGES, LLMClient, LLMConfig


def test_default_configuration_runs_every_stage_offline() -> None:
    client = LLMClient()

    assert all(not client.is_configured(stage) for stage in STAGES)
    with pytest.raises(ConfigError, match=r"set llm\.models\.triage in flywheel\.toml"):
        client.complete("triage", [{"role": "user", "content": "hi"}])


def test_configuring_one_stage_keeps_the_others_offline() -> None:
    config = LLMConfig.model_validate(
        {"models": {"judge": "anthropic/claude-3-5-haiku-latest", "naming": "offline"}}
    )
    client = LLMClient(config)

    assert client.is_configured("judge")
    assert not client.is_configured("naming")
    assert not client.is_configured("triage")
    assert client.model_for("judge") == "anthropic/claude-3-5-haiku-latest"


def test_unknown_stage_lists_the_valid_ones() -> None:
    with pytest.raises(UserError, match="valid stages: diagnosis, embedding, judge, naming"):
        LLMClient().is_configured("triag")


def test_unknown_keys_and_bad_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match="api_key"):
        LLMConfig.model_validate({"api_key": "sk-should-not-live-in-config"})
    with pytest.raises(ValidationError, match="concurrency"):
        LLMConfig.model_validate({"concurrency": 0})


def test_per_call_transport_settings_are_refused() -> None:
    client = LLMClient(LLMConfig(models={"judge": "openai/x"}))

    with pytest.raises(UserError, match="api_key"):
        client.complete("judge", [{"role": "user", "content": "hi"}], api_key="sk-nope")
