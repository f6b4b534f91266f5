"""Settings tables into their typed dataclasses, with one-line errors: the one mechanism
behind every TOML table (``[space]``, ``[train]``, ``[final]``) and :class:`SearchConfig`'s
own checks of what a file or a flag gave. Pure: no torch, nothing else of rlnas."""

from __future__ import annotations

import types
from collections.abc import Collection
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["ConfigError", "apply_settings", "check_types", "shown_key"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is invalid; the message says which and how to fix it."""


def apply_settings(
    cls: type[T],
    base: T | None,
    table: dict[str, Any],
    *,
    name: str,
    exclude: Collection[str] = (),
) -> T:
    """``base`` (None: ``cls()``) with the settings of the TOML table ``[name]`` applied:
    how every table of a config file (``[space]``, ``[train]``, ``[final]``) becomes its
    frozen dataclass.

    TOML lists become tuples (nested ones too); a table given for a field whose value is a
    dataclass is applied to that value the same way. A key that is not a field of ``cls``
    (or is in ``exclude``), or a value the dataclass refuses, is a one-line
    :class:`ConfigError` naming it.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Knobs:
    ...     sizes: tuple[int, ...] = (1,)
    ...     depth: int = 2
    >>> apply_settings(Knobs, None, {"sizes": [3, 4]}, name="space")
    Knobs(sizes=(3, 4), depth=2)
    >>> apply_settings(Knobs, None, {"width": 3}, name="space")
    Traceback (most recent call last):
    ...
    rlnas.settings.ConfigError: unknown [space] setting(s) width; known: depth, sizes
    """
    base = cls() if base is None else base
    known = {f.name for f in fields(cls)} - set(exclude)  # type: ignore[arg-type]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"unknown [{name}] setting(s) {', '.join(map(shown_key, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    hints = get_type_hints(cls)
    for key, value in table.items():
        current = getattr(base, key)
        if isinstance(value, dict) and is_dataclass(current) and not isinstance(current, type):
            value = apply_settings(type(current), current, value, name=f"{name}.{key}")
        values[key] = _tuples(value)
    try:  # the dataclass's own checks first: they say best what is wrong
        made = replace(base, **values)  # type: ignore[type-var]
    except (TypeError, ValueError) as error:
        raise ConfigError(f"invalid [{name}] settings: {error}") from None
    except Exception:  # a check tripped over a value of another type: say which
        made = None
    for key, value in values.items():  # what no check of the dataclass looked at
        _check_type(f"[{name}] {key}", value, hints.get(key, Any))
    if made is None:
        raise ConfigError(f"invalid [{name}] settings: {values}")
    return made


def _conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` (the field types a config holds: numbers,
    strings, booleans, None, tuples, dicts, unions of them; anything else is not checked)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(args) == len(value) and all(map(_conforms, value, args))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


def check_types(cls: type, values: dict[str, Any], *, where: str) -> None:
    """A one-line :class:`ConfigError` for the first value of ``values`` that is not of
    its field's type in the dataclass ``cls``."""
    hints = get_type_hints(cls)
    for key, value in values.items():
        _check_type(f"{key} in {where}", value, hints.get(key, Any))


def _check_type(what: str, value: Any, hint: Any) -> None:
    if not _conforms(value, hint):
        shown = str(hint).replace("typing.", "")
        raise ConfigError(f"{what} must be of type {shown}, got {value!r}")


def shown_key(key: object) -> str:
    """A setting's name as an error shows it: quoted unless it is a plain name, so that a
    key holding a line break or nothing at all still gives one readable line."""
    text = str(key)
    return text if text.isidentifier() else repr(text)


def _tuples(value: Any) -> Any:
    """TOML arrays as tuples, as frozen dataclasses hold them."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
