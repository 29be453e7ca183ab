"""Typed settings groups: every model, training and quantizer setting is a field of a dataclass.

A `Settings` subclass checks each field against its annotation when it is created, so a bad value
(``d_model="abc"``, ``epochs=-3``, ``loss="hinge"``) fails at the boundary with one message that
names the setting, instead of deep inside training. Supported annotations: ``int``, ``float``
(ints accepted), ``bool``, ``str``, ``Literal[...]``, ``X | None``, ``tuple[T, ...]``,
``list[T]``, ``dict`` and ``Any``. Ranges and relations between fields go in ``check``.

`route` sorts a flat ``{name: value}`` dict (what ``get_model(name, **params)`` and the CLI's
``--param`` give) into the groups that own each name, so users never have to know the grouping.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union


class Settings:
    """Base class of the settings dataclasses (subclasses are ``@dataclass``)."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            setattr(self, f.name, coerce(getattr(self, f.name), hints[f.name], f.name))
        self.check()

    def check(self) -> None:
        """Ranges and relations between fields; raise ValueError with a message naming the setting."""

    def at_least(self, minimum, *names: str) -> None:
        """Raise ValueError naming the first of ``names`` whose value is below ``minimum``."""
        for name in names:
            if getattr(self, name) < minimum:
                raise ValueError(f"{name} must be at least {minimum}, got {getattr(self, name)}")

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _plain(value):
    """JSON-friendly copy: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value, tp, name: str):
    """``value`` checked against the annotation ``tp`` (ints widen to float, lists to tuples)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return coerce(value, option, name)
            except ValueError as err:
                errors.append(str(err))
        raise ValueError(errors[0] if len(errors) == 1 else f"{name} must be one of {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} must be a list, got {value!r}")
        item_tp = args[0] if args else Any
        items = [coerce(v, item_tp, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be a dict, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ValueError(f"{name} must be a {_type_name(tp)}, got {value!r}")
    return value


def route(params: dict, groups: dict[str, type[Settings]], owner: str) -> dict[str, dict]:
    """Split flat ``params`` into ``{group: {field: value}}`` by which group owns each name.

    A value may also be given per group (``train={"lr": 0.01}``). A ``dict``-typed field ``f`` of a
    group also takes flat ``f_<key>`` names (``rqvae_epochs=5`` -> ``{"rqvae": {"epochs": 5}}``).
    Unknown names raise one ValueError listing every accepted name.
    """
    out: dict[str, dict] = {g: {} for g in groups}
    owners: dict[str, str] = {}
    for g, cls in groups.items():
        for n in cls.names():
            if n in owners:
                raise TypeError(f"{owner}: setting {n!r} is in both {owners[n]} and {g}")
            owners[n] = g
    dict_fields = {(g, f.name) for g, cls in groups.items() for f in dataclasses.fields(cls)
                   if typing.get_type_hints(cls)[f.name] is dict}
    unknown = []
    for key, value in params.items():
        if key in groups and isinstance(value, dict):
            out[key].update(value)
        elif key in owners:
            out[owners[key]][key] = value
        else:
            hit = next(((g, f) for g, f in dict_fields if key.startswith(f + "_")), None)
            if hit is None:
                unknown.append(key)
                continue
            g, f = hit
            out[g].setdefault(f, {})[key[len(f) + 1:]] = value
    if unknown:
        accepted = sorted(owners) + [f"{f}_<key>" for _, f in sorted(dict_fields)]
        raise ValueError(f"{owner}: unknown setting(s) {', '.join(map(repr, sorted(unknown)))}; "
                         f"accepted: {', '.join(accepted)}")
    return out
