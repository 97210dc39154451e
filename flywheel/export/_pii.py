"""PII scrubbing: configured regexes (emails, phones, card and account numbers) and the person
names found in the traces' metadata, replaced by ``[KIND]`` placeholders and counted."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import partial
from typing import Any

from flywheel.config import ExportConfig
from flywheel.errors import ConfigError
from flywheel.trace import Trace

_NAME_PART = 3  # a first or last name shorter than this is too ambiguous to scrub alone


class Scrubber:
    """Replaces PII in any JSON-like value; ``counts`` says how many of each kind it removed."""

    def __init__(self, config: ExportConfig) -> None:
        self.counts: Counter[str] = Counter()
        self._name_fields = tuple(config.name_fields)
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for kind, pattern in config.pii_patterns.items():
            try:
                self._patterns.append((kind, re.compile(pattern)))
            except re.error as exc:
                raise ConfigError(
                    f"[export] pii_patterns.{kind}: invalid regex ({exc}); fix it in flywheel.toml"
                ) from None

    def names_of(self, traces: Iterable[Trace | None]) -> list[str]:
        """Person names in the traces' metadata (``[export] name_fields``), longest first."""
        names: set[str] = set()
        for trace in traces:
            if trace is None:
                continue
            for key in self._name_fields:
                value = trace.metadata.get(key)
                if isinstance(value, str) and value.strip():
                    names.add(value.strip())
                    names.update(p for p in value.split() if len(p) >= _NAME_PART)
        return sorted(names, key=lambda n: (-len(n), n))

    def scrub(self, value: Any, names: list[str]) -> Any:
        if isinstance(value, str):
            return self.scrub_text(value, names)
        if isinstance(value, list):
            return [self.scrub(item, names) for item in value]
        if isinstance(value, dict):
            return {key: self.scrub(item, names) for key, item in value.items()}
        return value

    def scrub_text(self, text: str, names: list[str]) -> str:
        for kind, pattern in self._patterns:
            text = pattern.sub(partial(self._replace, kind=kind), text)
        for name in names:
            pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
            text, n = pattern.subn("[NAME]", text)
            self.counts["name"] += n
        return text

    def _replace(self, match: re.Match[str], kind: str) -> str:
        self.counts[kind] += 1
        placeholder = f"[{kind.upper()}]"
        if "pii" in match.re.groupindex and match.group("pii") is not None:
            start, end = match.span("pii")
            whole_start = match.start()
            text = match.group(0)
            return text[: start - whole_start] + placeholder + text[end - whole_start :]
        return placeholder
