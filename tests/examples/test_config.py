"""A bad configuration directory is refused with a message naming file, line and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from examples.acme_assistant import load_config, run
from flywheel.errors import UserError
from tests.helpers.files import edit


def test_shipped_configuration_loads() -> None:
    from examples.acme_assistant import DEFAULT_CONFIG_DIR

    config = load_config(DEFAULT_CONFIG_DIR)
    assert next(rule.name for rule in config.routing.rules) == "vague-reference"
    assert {tool.name for tool in config.tools.tools} == {"ticket_search", "status_lookup"}
    assert "prompts/system.md" in config.prompts


def test_invalid_yaml_names_file_and_line(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("bad-yaml")
    edit(cfg / "routing.yaml", "threshold: 0.3", "threshold: [0.3")
    with pytest.raises(UserError, match=r"routing\.yaml line \d+: invalid YAML") as info:
        load_config(cfg)
    line = int(str(info.value).split(" line ")[1].split(":")[0])
    assert line >= len((cfg / "routing.yaml").read_text().split("threshold:")[0].splitlines())


def test_unknown_key_names_file_line_and_key(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("unknown-key")
    edit(cfg / "routing.yaml", "    route: tool\n", "    route: tool\n    weight: 2\n")
    text = (cfg / "routing.yaml").read_text()
    expected_line = text.splitlines().index("    weight: 2") + 1
    with pytest.raises(UserError) as info:
        load_config(cfg)
    message = str(info.value)
    assert "routing.yaml" in message
    assert f"line {expected_line}" in message
    assert "rules.1.weight" in message
    assert "valid keys: name, pattern, route" in message


def test_unknown_top_level_key_in_tools(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("tools-key")
    (cfg / "tools.yaml").write_text("tools: []\ntimeout: 3\n")
    with pytest.raises(UserError, match=r"tools\.yaml line 2: unknown key 'timeout'"):
        load_config(cfg)


def test_bad_value_names_the_key(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("bad-route")
    edit(cfg / "routing.yaml", "fallback: direct", "fallback: teleport")
    with pytest.raises(UserError, match=r"routing\.yaml line \d+: key 'fallback'"):
        load_config(cfg)


def test_unknown_tool_lists_the_real_ones(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("bad-tool")
    edit(cfg / "tools.yaml", "name: status_lookup", "name: refund_customer")
    with pytest.raises(UserError, match="ticket_search, status_lookup"):
        load_config(cfg)


def test_agent_refuses_to_start_half_configured(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("no-routing")
    (cfg / "routing.yaml").unlink()
    with pytest.raises(UserError, match=r"routing\.yaml is missing"):
        run({"input": "Hi!"}, cfg)


def test_fewshot_unknown_key(config_copy: Callable[[str], Path]) -> None:
    cfg = config_copy("fewshot")
    (cfg / "fewshot" / "extra.yaml").write_text(
        "examples:\n  - request: hi\n    response: hello\n    answer: hey\n"
    )
    with pytest.raises(UserError, match=r"fewshot/extra\.yaml line 4: unknown key"):
        load_config(cfg)
