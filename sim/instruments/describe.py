"""Human-readable description of an instrument's parameters, read from its schema (cannot drift).

Not an instrument module: it registers nothing.
"""

from __future__ import annotations

import sys
import textwrap
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo


def _constraint(field: FieldInfo) -> str:
    parts = []
    for m in field.metadata:
        for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    return repr(value)


def describe_instrument(cls) -> str:
    """Kind, summary and one block per parameter: type and range, default, description."""
    config = cls.config_class
    kind = config.model_fields["kind"].default
    module_doc = (sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
    lines = [f"{kind}: {module_doc[0] if module_doc else ''}"]
    for name, field in config.model_fields.items():
        if name == "kind":
            continue
        rng = _constraint(field)
        head = f"  {name}: {_type_name(field.annotation)}{' (' + rng + ')' if rng else ''} = {_default(field)}"
        lines.append(head)
        if field.description:
            lines.extend(textwrap.wrap(field.description, width=96, initial_indent="      ",
                                       subsequent_indent="      "))
    return "\n".join(lines)
