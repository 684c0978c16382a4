"""Why a message was refused, in one line: the field by its AWS name, what it should be, what came.

msgspec stops at the first value it refuses and says where (`Expected ... - at $.detail.state`);
`explain` words that as the daemon always has, and as the README and dead-letter runbooks quote
it: `detail.state: Input should be 'CREATED', 'PENDING', ... (got 3)`. What a value should be
is read from the annotation the model declares at that place.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

# msgspec's message: what is wrong, then where (`$.a[0].b`; for a bad key, `key` in `$.a`)
_ERROR = re.compile(r"(?P<text>.*?)(?: - at `(?P<path>[^`]*)`(?: in `(?P<within>[^`]*)`)?)?",
                    re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<name>.*)`", re.DOTALL)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def explain(exc: msgspec.ValidationError, doc: object, model: type) -> str:
    """`exc`, raised reading `doc` into `model`, as `where: what it should be (got what came)`."""
    match = _ERROR.fullmatch(str(exc))
    assert match is not None  # every message matches: the location is optional
    declared: Any = model
    value, names = doc, []
    for name, index in _STEP.findall(match["within"] or match["path"] or ""):
        declared, value, step = _step(declared, value, name or index)
        names.append(step)
    missing = _MISSING.fullmatch(match["text"])
    if missing:
        return ".".join([*names, missing["name"]]) + ": Field required"
    got = f" (got {short(value)})" if isinstance(value, str | int | float | bool) else ""
    return f"{'.'.join(names) or 'document'}: {_should(declared, value) or match['text']}{got}"


def short(value: object, width: int = 60) -> str:
    """A value as a short repr: enough to recognise it, never a flood (nor a 5000-digit int)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"<{value.bit_length()}-bit integer>"
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = repr(value[:width])
    return text if len(text) <= width else text[: width - 3] + "..."


def _step(declared: Any, value: object, step: str) -> tuple[Any, object, str]:
    """One step down the path: the annotation there, the value found there, the step's name.

    msgspec does not say which key of a dict holds the bad value (`[...]`): it is the first
    whose value the model refuses.
    """
    declared, _ = _unwrapped(declared)
    if isinstance(declared, type) and issubclass(declared, msgspec.Struct):
        fields = {f.encode_name: f.type for f in msgspec.structs.fields(declared)}
        return fields.get(step), value.get(step) if isinstance(value, dict) else None, step
    if get_origin(declared) is list and isinstance(value, list):
        return get_args(declared)[0], value[int(step)], step
    if get_origin(declared) is dict and isinstance(value, dict):
        inner = get_args(declared)[1]
        key = next((k for k, v in value.items() if not _accepts(inner, v)), step)
        return inner, value.get(key), str(key)
    return None, None, step


def _accepts(declared: Any, value: object) -> bool:
    try:
        msgspec.convert(value, declared)
    except msgspec.ValidationError:
        return False
    return True


def _unwrapped(declared: Any) -> tuple[Any, dict[str, Any]]:
    """`X | None` as X, with what `Annotated` says of it: its `min_length`/`max_length`, or
    its own `refusal` (then the annotation stays whole)."""
    said: dict[str, Any] = {}
    while True:
        origin, args = get_origin(declared), get_args(declared)
        if origin is Annotated:
            metas = [m for m in args[1:] if isinstance(m, msgspec.Meta)]
            worded = [m.extra["refusal"] for m in metas if m.extra and "refusal" in m.extra]
            if worded:
                return declared, {"refusal": worded[0]}
            declared = args[0]
            for meta in metas:
                said |= {k: getattr(meta, k) for k in ("min_length", "max_length")
                         if getattr(meta, k) is not None}
        elif origin in (Union, types.UnionType) and type(None) in args and len(args) == 2:
            declared = next(a for a in args if a is not type(None))
        else:
            return declared, said


def _should(declared: Any, value: object) -> str | None:  # noqa: PLR0911 - one answer per type
    """What a value of the declared type should be, in the daemon's words (None: msgspec's)."""
    declared, said = _unwrapped(declared)
    origin, most, least = get_origin(declared), said.get("max_length"), said.get("min_length")
    if "refusal" in said:
        return str(said["refusal"])
    if origin is Literal:
        choices = [repr(c) for c in get_args(declared)]
        return "Input should be " + (" or ".join([", ".join(choices[:-1]), choices[-1]])
                                     if len(choices) > 1 else choices[0])
    if isinstance(declared, type) and issubclass(declared, msgspec.Struct):
        return None if isinstance(value, dict) else (
            f"Input should be a valid dictionary or instance of {declared.__name__}")
    if declared is str:
        if not isinstance(value, str):
            return "Input should be a valid string"
        if most is not None and len(value) > most:
            return f"String should have at most {most} characters"
        if least is not None and len(value) < least:
            return f"String should have at least {least} character{'s' if least > 1 else ''}"
    if origin in (list, dict):
        kind = "list" if origin is list else "dictionary"
        if not isinstance(value, origin):
            return f"Input should be a valid {kind}"
        if most is not None and len(value) > most:  # pydantic stopped counting a dict at most + 1
            counted = len(value) if origin is list else "more"
            return f"{kind.title()} should have at most {most} items after validation, not {counted}"
    return None
