"""The agent's configuration directory: everything an optimizer may edit.

Layout (paths relative to the directory)::

    prompts/*.md        free text; every sentence is read for instructions (see behaviours.py)
    routing.yaml        rules, exemplars and thresholds of the router (see routing.py)
    tools.yaml          the tools' descriptions and parameter descriptions
    fewshot/*.yaml      worked examples shown to the model

YAML files are validated with ``extra="forbid"`` models; a bad file raises a `UserError` that
names the file, the line and the key, so the agent refuses to start half-configured.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flywheel.errors import UserError

Route = Literal["search", "tool", "direct", "clarify"]
KNOWN_TOOLS: tuple[str, ...] = ("ticket_search", "status_lookup")
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingRule(_Strict):
    """A case-insensitive regular expression; the first rule that matches decides the route."""

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    route: Route

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class RoutingConfig(_Strict):
    rules: list[RoutingRule] = Field(default_factory=list)
    exemplars: dict[Route, list[str]] = Field(default_factory=dict)
    threshold: float = Field(default=0.3, ge=0, le=1)
    clarify_below: float = Field(default=0.0, ge=0, le=1)
    fallback: Route = "direct"


class ToolParameter(_Strict):
    type: Literal["string", "integer", "date"] = "string"
    description: str = ""


class ToolSpec(_Strict):
    name: str
    description: str = ""
    parameters: dict[str, ToolParameter] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in KNOWN_TOOLS:
            raise ValueError(
                f"unknown tool {value!r}: the agent implements {', '.join(KNOWN_TOOLS)}"
            )
        return value


class ToolsConfig(_Strict):
    tools: list[ToolSpec] = Field(default_factory=list)


class FewShotExample(_Strict):
    request: str = Field(min_length=1)
    response: str = Field(min_length=1)


class FewShotFile(_Strict):
    examples: list[FewShotExample] = Field(default_factory=list)


class AgentConfig(_Strict):
    """A parsed configuration directory (``files`` keeps the raw text of every file)."""

    files: dict[str, str]
    prompts: dict[str, str]
    routing: RoutingConfig
    tools: ToolsConfig
    fewshot: dict[str, FewShotFile]

    @property
    def digest(self) -> str:
        """SHA-256 over the files' paths and contents: equal digests mean equal behaviour."""
        sha = hashlib.sha256()
        for name in sorted(self.files):
            sha.update(name.encode() + b"\x00" + self.files[name].encode() + b"\x00")
        return sha.hexdigest()

    @property
    def instruction_text(self) -> list[str]:
        """Texts read for instructions: the prompts and every tool and parameter description."""
        texts = [self.prompts[name] for name in sorted(self.prompts)]
        for tool in self.tools.tools:
            texts.append(tool.description)
            texts.extend(param.description for param in tool.parameters.values())
        return texts


def load_config(directory: str | Path) -> AgentConfig:
    """Read and validate a configuration directory."""
    root = Path(directory)
    if not root.is_dir():
        raise UserError(f"configuration directory {root} does not exist")
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and _is_config_file(rel):
            try:
                files[rel] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"{root / rel}: cannot read: {exc}") from exc
    return config_from_files(files, origin=str(root))


def config_from_files(files: dict[str, str], *, origin: str = "<inline>") -> AgentConfig:
    """Validate a configuration given as {relative path: text} (as the HTTP server gets it)."""
    unknown = sorted(name for name in files if not _is_config_file(name))
    if unknown:
        raise UserError(
            f"{origin}: unexpected file {unknown[0]!r}; a configuration holds prompts/*.md, "
            "routing.yaml, tools.yaml and fewshot/*.yaml"
        )
    if "routing.yaml" not in files:
        raise UserError(f"{origin}: routing.yaml is missing; the router cannot start without it")
    if not any(name.startswith("prompts/") for name in files):
        raise UserError(f"{origin}: no prompts/*.md file; the model needs a system prompt")
    routing = _parse(files, "routing.yaml", RoutingConfig, origin)
    tools = _parse(files, "tools.yaml", ToolsConfig, origin) if "tools.yaml" in files else None
    fewshot = {
        name: _parse(files, name, FewShotFile, origin)
        for name in sorted(files)
        if name.startswith("fewshot/")
    }
    return AgentConfig(
        files=dict(sorted(files.items())),
        prompts={name: text for name, text in sorted(files.items()) if name.startswith("prompts/")},
        routing=routing,
        tools=tools or ToolsConfig(),
        fewshot=fewshot,
    )


def _is_config_file(rel: str) -> bool:
    if rel in ("routing.yaml", "tools.yaml"):
        return True
    folder, _, name = rel.partition("/")
    if "/" in name:
        return False
    return (folder == "prompts" and name.endswith(".md")) or (
        folder == "fewshot" and name.endswith((".yaml", ".yml"))
    )


def _parse(files: dict[str, str], name: str, model: type[M], origin: str) -> M:
    where = f"{origin}/{name}"
    text = files[name]
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{where}{line}: invalid YAML: {problem}; fix the syntax") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{where} line 1: expected a mapping of keys at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "<top level>"
        line_no = _line_of(node, loc)
        if error["type"] == "extra_forbidden":
            message = f"unknown key {key!r}; valid keys: {', '.join(_valid_keys(model, loc))}"
        else:
            message = f"key {key!r}: {error['msg']}"
        raise UserError(f"{where} line {line_no}: {message}") from exc


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``loc`` (or of its closest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed where an unknown key ``loc`` was found."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        current = _inner_model(field.annotation) if field is not None else None
    if current is None or not hasattr(current, "model_fields"):
        return ["(see the README)"]
    return sorted(current.model_fields)


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
