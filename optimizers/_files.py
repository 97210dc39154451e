"""Editing configuration texts while keeping their shape: prompt insertion, YAML round trips."""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError

from flywheel.errors import FlywheelError
from optimizers._sanitise import TracedText

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

    Follows the file's style: a bullet when the neighbouring instructions are bullets, its
    line endings and its trailing blank lines, so the diff is the one added line.
    """
    newline = "\r\n" if "\r\n" in text else "\n"  # the file's own line ending
    body = text.rstrip("\r\n")
    tail = text[len(body) :] or newline  # and its trailing blank lines, kept as they were
    lines = body.split(newline) if body.strip() else []
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
    return newline.join(lines) + tail


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


#: Key of a mapping a strategy adds that names the traces it came from (written as a comment).
FROM_TRACE = "__from_trace__"


def dump_yaml(original: str, data: dict[str, Any]) -> str:
    """``original`` edited into ``data`` with as small a diff as possible.

    The original text is loaded with a round-trip YAML library (ruamel.yaml) and only what
    differs is changed: untouched keys, values, comments, quoting, flow style and indentation
    stay byte for byte, new keys go last, new list items are appended. What came from a
    production trace (`TracedText`, or a mapping with a ``FROM_TRACE`` key) gets a
    ``# from_trace: <ids>`` comment: before a new list item, else at the end of its key's line.
    """
    yaml_rt = _round_trip(original)
    prefix = ""
    try:
        tree = yaml_rt.load(original) if original.strip() else None
    except RuamelError:  # e.g. a duplicate key PyYAML let through: rewrite the whole file
        tree, prefix = None, _header(original)
    if not isinstance(tree, CommentedMap):
        tree = CommentedMap()
    merged, _ = _merge(tree, data)  # a mapping marks its own keys
    out = io.StringIO()
    yaml_rt.dump(merged, out)
    return prefix + out.getvalue()


def _header(original: str) -> str:
    """The file's leading comment block (kept when the rest cannot be round-tripped)."""
    header: list[str] = []
    for line in original.splitlines():
        if not (line.startswith("#") or not line.strip()):
            break
        header.append(line)
    return "\n".join(header).strip("\n") + "\n" if any(h.strip() for h in header) else ""


def _round_trip(original: str) -> YAML:
    yaml_rt = YAML()
    yaml_rt.preserve_quotes = True
    yaml_rt.width = 4096  # never re-wrap a long line the file already has
    mapping, sequence, offset = _indents(original)
    yaml_rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml_rt


def _indents(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file writes them; 2, 2, 0 else."""
    mapping: int | None = None
    sequence: tuple[int, int] | None = None
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for above, line in itertools.pairwise(lines):
        if not above.rstrip().endswith(":"):
            continue
        parent = len(above) - len(above.lstrip()) + (2 if above.lstrip().startswith("- ") else 0)
        child = len(line) - len(line.lstrip())
        if child <= parent and not line.lstrip().startswith("- "):
            continue
        if line.lstrip().startswith("- ") and sequence is None:
            offset = max(0, child - parent)
            sequence = (offset + 2, offset)
        elif not line.lstrip().startswith("- ") and mapping is None:
            mapping = child - parent
    seq, offset = sequence or (max(2, mapping or 2), 0)
    return mapping or 2, seq, offset


def _merge(node: Any, new: Any) -> tuple[Any, list[str]]:
    """``new`` with ``node``'s unchanged parts kept; trace ids of added values not yet marked."""
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            if key == FROM_TRACE:
                continue
            if key in node:
                merged, ids = _merge(node[key], value)
            else:
                merged, ids = _fresh(value)
            node[key] = merged
            if ids:
                node.yaml_add_eol_comment(f"from_trace: {', '.join(ids)}", key)
        return node, []
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        pending: list[str] = []
        block = not node.fa.flow_style()
        for index, value in enumerate(new):
            if index < len(node):
                merged, ids = _merge(node[index], value)
                node[index] = merged
            else:
                merged, ids = _fresh(value)
                node.append(merged)
                if ids and block:
                    node.yaml_set_comment_before_after_key(
                        index, before=f"from_trace: {', '.join(ids)}", indent=_dash_column(node)
                    )
                    ids = []
            pending += ids
        del node[len(new) :]
        return node, list(dict.fromkeys(pending))
    if _same_scalar(node, new):
        return node, []  # unchanged: the original's spelling and quoting stay
    return _fresh(new)


def _same_scalar(node: Any, new: Any) -> bool:
    if isinstance(node, dict | list) or isinstance(new, dict | list):
        return False
    if isinstance(node, bool) or isinstance(new, bool):  # True == 1, but not in a config
        return node is new
    return bool(node == new)


def _fresh(value: Any) -> tuple[Any, list[str]]:
    """A value new to the file, as ruamel nodes (so later items can carry comments)."""
    ids = _traced(value)
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            if key == FROM_TRACE:
                continue
            mapping[key], inner = _fresh(item)
            ids += inner
        return mapping, list(dict.fromkeys(ids))
    if isinstance(value, list):
        sequence = CommentedSeq()
        for item in value:
            converted, inner = _fresh(item)
            sequence.append(converted)
            ids += inner
        return sequence, list(dict.fromkeys(ids))
    return (str(value) if isinstance(value, TracedText) else value), ids


def _traced(value: Any) -> list[str]:
    if isinstance(value, TracedText):
        return list(value.trace_ids)
    if isinstance(value, dict) and value.get(FROM_TRACE):
        given = value[FROM_TRACE]
        return [str(t) for t in (given if isinstance(given, list | tuple) else [given])]
    return []


def _dash_column(sequence: CommentedSeq) -> int:
    """The column of the sequence's dashes (where a comment before an item lines up)."""
    line_col = getattr(sequence, "lc", None)
    column = getattr(line_col, "col", None)
    return int(column) if isinstance(column, int) else 0
