"""The routing config's schema: what a proposed routing.yaml must satisfy before it is offered.

Patterns compile, every rule's and exemplar's route exists, thresholds lie in [0, 1].
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from optimizers._files import ConfigEditError

ROUTING_FILE = "routing.yaml"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = ""
    pattern: str
    route: str


class RoutingSchema(BaseModel):
    """The generic shape of a routing file: ordered regex rules, exemplars, thresholds."""

    model_config = ConfigDict(extra="allow")
    rules: list[_Rule] = Field(default_factory=list)
    exemplars: dict[str, list[str]] = Field(default_factory=dict)
    threshold: float | None = Field(default=None, ge=0, le=1)
    clarify_below: float | None = Field(default=None, ge=0, le=1)
    fallback: str | None = None


def validate_routing(data: dict[str, Any], routes: set[str]) -> RoutingSchema:
    try:
        schema = RoutingSchema.model_validate(data)
    except ValidationError as exc:
        raise ConfigEditError(
            f"{ROUTING_FILE}: {exc.errors(include_url=False)[0]['msg']}"
        ) from None
    for rule in schema.rules:
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            raise ConfigEditError(
                f"{ROUTING_FILE}: rule {rule.name!r}: bad pattern: {exc}"
            ) from None
        if routes and rule.route not in routes:
            raise ConfigEditError(f"{ROUTING_FILE}: rule {rule.name!r}: unknown route {rule.route}")
    return schema


def read_routes(data: dict[str, Any]) -> set[str]:
    found = {str(r.get("route")) for r in data.get("rules") or [] if isinstance(r, dict)}
    found |= {str(k) for k in (data.get("exemplars") or {})}
    if data.get("fallback"):
        found.add(str(data["fallback"]))
    return found
