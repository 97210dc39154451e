"""Editing configuration texts while keeping their shape: prompt insertion, YAML round trips."""

from __future__ import annotations

import re
from typing import Any

import yaml

from flywheel.errors import FlywheelError

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")
_BULLET = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+")
_RULES_SECTION = re.compile(r"(?i)\b(rules?|instructions?|guidelines?|behaviou?r|policy)\b")


class ConfigEditError(FlywheelError):
    """A configuration file is not in a shape the strategy can edit."""


def prompt_files(files: dict[str, str]) -> list[str]:
    """Prompt files, the system prompt first (``prompts/system*`` or the largest)."""
    prompts = [name for name in files if name.endswith(".md") and name.startswith("prompts/")]
    prompts = prompts or [name for name in files if name.endswith((".md", ".txt"))]
    return sorted(
        prompts, key=lambda n: (not n.split("/")[-1].startswith("system"), -len(files[n]), n)
    )


def insert_instruction(text: str, sentence: str) -> str:
    """Add ``sentence`` where instructions live: the end of a rules section, else the end.

    Follows the file's style: a bullet when the neighbouring instructions are bullets.
    """
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    end = len(lines)
    for index, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and _RULES_SECTION.search(heading.group(1)):
            end = next(
                (j for j in range(index + 1, len(lines)) if _HEADING.match(lines[j])), len(lines)
            )
    insert_at = end
    while insert_at > 0 and not lines[insert_at - 1].strip():
        insert_at -= 1
    previous = lines[insert_at - 1] if insert_at else ""
    bullet = _BULLET.match(previous)
    new_line = f"{bullet.group(1)}- {sentence}" if bullet else sentence
    lines.insert(insert_at, new_line)
    return "\n".join(lines) + "\n"


def contains_sentence(text: str, sentence: str) -> bool:
    squash = " ".join(sentence.lower().split())
    return squash in " ".join(text.lower().split())


def load_yaml_mapping(name: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigEditError(f"{name}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigEditError(f"{name}: expected a mapping at the top level")
    return data


def dump_yaml(original: str, data: dict[str, Any]) -> str:
    """YAML text of ``data``, keeping the original file's leading comment block."""
    header: list[str] = []
    for line in original.splitlines():
        if line.startswith("#") or not line.strip():
            header.append(line)
        else:
            break
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    prefix = "\n".join(header).strip("\n")
    return f"{prefix}\n{body}" if prefix else body
