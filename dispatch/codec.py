"""JSON-shaped encoding of the frozen domain dataclasses (for snapshots), and back.

Dataclasses become dicts of their fields, enums their values, tuples lists; decoding follows
the dataclass field types, so ``decode(T, encode(x)) == x`` for every domain value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar

__all__ = ["decode", "encode"]

T = TypeVar("T")


def encode(value: Any) -> Any:
    """``value`` as JSON-serialisable data (dict, list, str, int, float, bool, None)."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__}; add it to dispatch.codec")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from :func:`encode` output."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"cannot decode the union {tp}")
        return decode(inner[0], data)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        return {decode(key_type, k): decode(value_type, v) for k, v in data.items()}
    if origin is list:
        (item_type,) = typing.get_args(tp)
        return [decode(item_type, v) for v in data]
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return tp(data)
        if dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            return tp(
                **{f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(tp)}
            )
        if tp is float:
            return float(data)
        if tp in (int, str, bool):
            if not isinstance(data, tp):
                raise TypeError(f"expected {tp.__name__}, got {data!r}")
            return data
    if tp is Any:
        return data
    raise TypeError(f"cannot decode type {tp}")
