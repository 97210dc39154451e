"""Unusable measurements taken out of a raw trace record before validation.

A score, feedback value, latency, cost or token count that is not a finite number (or is
negative where it must not be) is removed and noted in ``dropped``, so the rest of the trace
is kept. `drop_unusable_numbers` is the entry point; the fast path skips the copy when every
measurement is a plain number.
"""

from __future__ import annotations

import json
import math
from typing import Any, cast


def drop_unusable_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a raw trace record with unusable measurements taken out and noted in ``dropped``.

    Only the measurement fields are touched; anything else is left for validation to judge.
    A record whose measurements are all plain finite numbers (nearly every one) is returned
    without copying, its ``{"name": value}`` scores as a list: this runs on every validation,
    on ingest twice and on every read of a stored trace.
    """
    if all_usable(data):
        scores = data.get("scores")
        if isinstance(scores, dict):
            return {**data, "scores": [{"name": n, "value": v} for n, v in scores.items()]}
        return data
    return drop_carefully(data)


def drop_carefully(data: dict[str, Any]) -> dict[str, Any]:
    """`drop_unusable_numbers` for a record that may hold an unusable measurement."""
    notes: list[dict[str, str]] = []
    out = dict(data)
    _clear_measures(out, "", ("latency_ms", "cost_usd"), notes)
    scores = out.get("scores")
    if isinstance(scores, dict):
        scores = [{"name": name, "value": value} for name, value in scores.items()]
    if isinstance(scores, list):
        kept: list[Any] = []
        for i, score in enumerate(scores):
            if isinstance(score, dict) and "value" in score:
                reason = _unusable(score["value"], signed=True)
                if reason is not None:
                    notes.append(_note(f"scores.{i}.value", score["value"], reason, score))
                    continue
            kept.append(score)
        out["scores"] = kept
    for key, fields in (("feedback", ("value", "scale")), ("steps", ("latency_ms", "cost_usd"))):
        items = out.get(key)
        if isinstance(items, list):
            out[key] = [
                _cleaned(item, f"{key}.{i}.", fields, notes) if isinstance(item, dict) else item
                for i, item in enumerate(items)
            ]
    if notes:
        earlier = out.get("dropped")
        out["dropped"] = (earlier if isinstance(earlier, list) else []) + notes
    return out


#: Ints beyond this many bits overflow a float ("too large for a 64-bit float").
_FLOAT_BITS = 1023


def _plain(value: object, *, signed: bool) -> bool:
    """Whether ``value`` is a finite int or float (a bool, if ``signed``) that `_unusable`
    would accept: the check that lets `drop_unusable_numbers` skip its copy. Anything else,
    numeric text and subclasses included, goes the careful way."""
    kind = type(value)
    if kind is float:
        number = cast(float, value)
        return math.isfinite(number) and (signed or number >= 0)
    if kind is int:
        whole = cast(int, value)
        return (signed or whole >= 0) and whole.bit_length() <= _FLOAT_BITS
    return signed and kind is bool


def all_usable(data: dict[str, Any]) -> bool:
    """Whether `drop_unusable_numbers` would drop nothing from ``data`` (sure answers only:
    False sends a record down the careful path, which decides)."""
    for name in ("latency_ms", "cost_usd"):
        value = data.get(name)
        if value is not None and not _plain(value, signed=False):
            return False
    scores = data.get("scores")
    if isinstance(scores, dict):
        if not all(_plain(value, signed=True) for value in scores.values()):
            return False
    elif isinstance(scores, list):
        for score in scores:
            if (
                isinstance(score, dict)
                and "value" in score
                and not _plain(score["value"], signed=True)
            ):
                return False
    for key, fields in (("feedback", _FEEDBACK_MEASURES), ("steps", _STEP_MEASURES)):
        items = data.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and not _item_usable(item, fields):
                return False
    return True


_FEEDBACK_MEASURES = (("value", True), ("scale", False))
_STEP_MEASURES = (("latency_ms", False), ("cost_usd", False))


def _item_usable(item: dict[str, Any], fields: tuple[tuple[str, bool], ...]) -> bool:
    for name, signed in fields:
        value = item.get(name)
        if value is None:
            continue
        if not _plain(value, signed=signed) or (name == "scale" and value == 0):
            return False
    usage = item.get("usage")
    if isinstance(usage, dict):
        for count in usage.values():
            if type(count) is not int or count < 0 or count.bit_length() > _FLOAT_BITS:
                return False
    return True


def _cleaned(
    item: dict[str, Any], where: str, fields: tuple[str, ...], notes: list[dict[str, str]]
) -> dict[str, Any]:
    item = dict(item)
    _clear_measures(item, where, fields, notes, signed=where.startswith("feedback"))
    usage = item.get("usage")
    if isinstance(usage, dict):
        counts: dict[str, Any] = {}
        for name, count in usage.items():
            reason = _unusable(count, signed=False)
            if reason is None and not float(count).is_integer():
                reason = "not a whole number"
            if reason is None:
                counts[name] = count
            else:
                notes.append(_note(f"{where}usage.{name}", count, reason))
        item["usage"] = counts
    return item


def _clear_measures(
    item: dict[str, Any],
    where: str,
    fields: tuple[str, ...],
    notes: list[dict[str, str]],
    *,
    signed: bool = False,
) -> None:
    for name in fields:
        value = item.get(name)
        if value is None:
            continue
        # Only a feedback value may be negative (a thumbs-down is -1); a scale must be > 0.
        reason = _unusable(value, signed=signed and name == "value")
        if reason is None and name == "scale" and float(value) == 0:
            reason = "a scale must be positive"
        if reason is not None:
            notes.append(_note(where + name, value, reason))
            item[name] = None


def _unusable(value: object, *, signed: bool) -> str | None:
    """Why ``value`` is no usable measurement (None if it is a finite number, or text of one)."""
    if isinstance(value, bool):
        return None if signed else "not a number"
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return "not a number"
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return "too large for a 64-bit float"
    else:
        return "not a number"
    if not math.isfinite(number):
        return "not a finite number (NaN or infinity)"
    if not signed and number < 0:
        return "must not be negative"
    return None


def _note(field: str, value: object, reason: str, record: object = None) -> dict[str, str]:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(record, dict) and isinstance(record.get("name"), str):
        field = f"{field} ({record['name'][:100]})"
    return {"field": field, "value": shown[:200], "reason": reason}
