"""OTLP JSON's value encoding decoded: ids, Unix-nanosecond times, ``AnyValue`` attributes.

The collector's JSON form wraps every attribute value (``{"stringValue": ...}``,
``{"intValue": "42"}``, arrays and key-value lists); these helpers unwrap it and name the
field (``where``) when a value is malformed.
"""

from datetime import UTC, datetime
from typing import Any

import orjson

from flywheel.formats._fields import BadField, list_field

#: Unix nanoseconds of the year 9999: anything later is not a timestamp.
_MAX_NANOS = 253_402_300_799 * 1_000_000_000


def read_ident(value: Any, where: str) -> str:
    if isinstance(value, bool) or value is None or value == "":
        raise BadField(where, "missing: every span needs a traceId and a spanId")
    if not isinstance(value, str | int):
        raise BadField(where, f"expected a string id, got {type(value).__name__}")
    return str(value)


def read_nanos(value: Any, where: str) -> int | None:
    if value is None or value in ("", 0, "0"):
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        nanos = int(value)
        if not 0 < nanos < _MAX_NANOS:
            raise ValueError
        return nanos
    except (ValueError, OverflowError):
        raise BadField(where, f"expected unix nanoseconds, got {value!r}") from None


def nanos_to_datetime(nanos: int | None) -> datetime | None:
    if nanos is None:
        return None
    seconds, rest = divmod(nanos, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)


def read_attributes(value: Any, where: str) -> dict[str, Any]:
    """OTLP ``[{"key": k, "value": AnyValue}]`` (or an already flat object) as a dict."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, list):
        raise BadField(where, f"expected a list of key/value pairs, got {type(value).__name__}")
    result: dict[str, Any] = {}
    for i, pair in enumerate(value):
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str):
            raise BadField(f"{where}[{i}]", "expected {'key': ..., 'value': ...}")
        result[pair["key"]] = _any_value(pair.get("value"), f"{where}[{i}].value")
    return result


def _any_value(value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        return value  # some exporters write plain JSON values
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            raise BadField(where, f"intValue is not an integer: {value['intValue']!r}") from None
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            raise BadField(
                where, f"doubleValue is not a number: {value['doubleValue']!r}"
            ) from None
    if "arrayValue" in value:
        items = _inner_values(value["arrayValue"], f"{where}.arrayValue")
        return [_any_value(item, f"{where}.arrayValue") for item in items]
    if "kvlistValue" in value:
        return read_attributes(_inner_values(value["kvlistValue"], f"{where}.kvlistValue"), where)
    if "bytesValue" in value:
        return str(value["bytesValue"])
    return None


def _inner_values(value: Any, where: str) -> list[Any]:
    """The ``values`` list of an OTLP ``arrayValue`` / ``kvlistValue``."""
    if value is None:
        return []
    values = value.get("values") if isinstance(value, dict) else value
    return list_field(values, f"{where}.values")


def decode_value(value: Any, mime: Any) -> Any:
    if isinstance(value, str) and mime == "application/json":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value
