"""Typed, frozen settings sections: the small part of pydantic that modelcycle needs.

A section is declared like a dataclass::

    class SplitSettings(Section):
        method: Literal["random", "time"] = Field("random", description="How validation rows are chosen.")
        test_size: float = Field(0.2, gt=0, lt=1, description="Fraction of rows that validate.")

Understood annotations: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``None``, ``X | Y``
(``Optional``), ``Literal[...]``, ``list[X]``, ``dict[K, V]`` and other sections. Checking is
as strict as TOML is typed: a bool is not a number, text is not a number, an int is taken
for a float (and a float without a fractional part for an int, as pydantic did).

Every problem raises :class:`ValidationError` with the location of the first bad value and a
lower-case message in pydantic's words, e.g. ``input should be less than 1``. Checkers are
compiled on a class's first validation, so declaring sections costs next to nothing.
"""

import math
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["REQUIRED", "Field", "FieldInfo", "Section", "ValidationError"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a field that must be given."""

_NO_INPUT: Any = object()


class ValidationError(ValueError):
    """The first bad value: where (`loc`, outermost first), what is wrong, and the value given.

    `expected` is set when the value was not what the field takes: the message is then
    ``input should be <expected>`` (see `should_be`), and a union of types joins the
    expectations of its members from this field, never from the message's text.
    """

    def __init__(
        self,
        message: str,
        value: Any = _NO_INPUT,
        loc: tuple = (),
        kind: str = "invalid",
        *,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.input = value
        self.loc = loc
        self.kind = kind  # "invalid", "missing" (a required key) or "extra" (an unknown key)
        self.expected = expected

    @classmethod
    def should_be(cls, expected: str, value: Any) -> typing.Self:
        """``input should be <expected>``, with `expected` kept as a field."""
        return cls(f"input should be {expected}", value, expected=expected)

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.loc)
        return f"{where}: {self.message}" if where else self.message


# -- fields ---------------------------------------------------------------------------


class FieldInfo:
    """One declared field: its type, default, description and numeric limits."""

    __slots__ = ("name", "annotation", "default", "default_factory", "description", "gt", "ge", "lt", "le", "before")

    def __init__(
        self,
        default: Any = REQUIRED,
        *,
        default_factory: Callable[[], Any] | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        before: Callable[[Any], Any] | None = None,
    ) -> None:
        if default is not REQUIRED and default_factory is not None:
            raise TypeError("give a default or a default_factory, not both")
        self.name = ""
        self.annotation: Any = Any
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.gt, self.ge, self.lt, self.le = gt, ge, lt, le
        self.before = before

    def is_required(self) -> bool:
        return self.default is REQUIRED and self.default_factory is None

    def get_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default

    @property
    def limits(self) -> list[tuple[str, float]]:
        """[("gt", 0), ("lt", 1)]: the numeric limits given, in the order gt, ge, lt, le."""
        return [(kind, getattr(self, kind)) for kind in ("gt", "ge", "lt", "le") if getattr(self, kind) is not None]

    def __repr__(self) -> str:
        shown = ["annotation", "default", "default_factory", "description", "gt", "ge", "lt", "le", "before"]
        parts = [f"{name}={getattr(self, name)!r}" for name in shown if getattr(self, name) is not None]
        return f"FieldInfo({', '.join(parts)})"


def Field(default: Any = REQUIRED, **options: Any) -> Any:  # noqa: N802 - reads like pydantic's helper
    """Declare a field: a default (none: required) or a default_factory, a description, limits
    gt/ge/lt/le, and `before`, a function converting the raw value before its type is checked
    (e.g. "6h" → 21600.0) whose ValueError becomes ``value error, <its message>``."""
    return FieldInfo(default, **options)


# -- sections -------------------------------------------------------------------------


class Section:
    """A frozen, validated table. Unknown keys are refused unless ``model_config = {"extra": "allow"}``."""

    model_config: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    model_extra: dict[str, Any] | None = None  # the unknown keys of an extra="allow" section
    _checks: ClassVar[list[tuple[str, Callable[[Any], Any], FieldInfo]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "model_fields", {}))
        namespace = None
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if isinstance(annotation, str):  # `from __future__ import annotations` in the declaring module
                if namespace is None:
                    namespace = dict(vars(sys.modules[cls.__module__]))
                    namespace.update(vars(cls))
                annotation = eval(annotation, namespace)  # noqa: S307 - the class's own source
            if annotation is ClassVar or typing.get_origin(annotation) is ClassVar:
                continue
            value = cls.__dict__.get(name, REQUIRED)
            info = value if isinstance(value, FieldInfo) else FieldInfo(value)
            info.name, info.annotation = name, annotation
            fields[name] = info
            if name in cls.__dict__:
                delattr(cls, name)
        cls.model_fields = fields
        cls._checks = None

    # construction

    def __init__(self, **data: Any) -> None:
        self.__dict__.update(type(self)._values(data))

    @classmethod
    def model_validate(cls, data: Any) -> typing.Self:
        """An instance from a dict (an instance is returned as is); raises ValidationError."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ValidationError.should_be("a valid dictionary", data)
        instance = cls.__new__(cls)
        instance.__dict__.update(cls._values(data))
        return instance

    @classmethod
    def _values(cls, data: dict[str, Any]) -> dict[str, Any]:
        checks = cls._checks if cls._checks is not None else cls._compile()
        values: dict[str, Any] = {}
        known = 0
        name = ""
        try:
            for name, check, field in checks:
                if name in data:
                    values[name] = check(data[name])
                    known += 1
                elif field.default_factory is not None:
                    values[name] = field.default_factory()
                elif field.default is REQUIRED:
                    raise ValidationError("required key is missing", kind="missing")
                else:
                    values[name] = field.default
        except ValidationError as exc:
            exc.loc = (name, *exc.loc)
            raise
        extra = {key: value for key, value in data.items() if key not in values} if known < len(data) else {}
        if cls.model_config.get("extra") == "allow":
            values["model_extra"] = extra
        elif extra:
            key = next(iter(extra))
            raise ValidationError("unknown key", extra[key], (key,), kind="extra")
        return values

    @classmethod
    def _compile(cls) -> list[tuple[str, Callable[[Any], Any], FieldInfo]]:
        cls._checks = [(name, _field_check(field), field) for name, field in cls.model_fields.items()]
        return cls._checks

    # reading

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("model_extra")
        if extra and name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment] - values include lists and dicts

    def __repr__(self) -> str:
        items = [(name, self.__dict__[name]) for name in self.model_fields]
        items += list((self.model_extra or {}).items())
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in items)})"

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """Fields (then extra keys) as a dict, sections as dicts; mode="json": JSON-ready values."""
        if mode not in ("python", "json"):
            raise ValueError(f"mode should be 'python' or 'json' (got {mode!r})")
        json = mode == "json"
        out = {name: _dump(self.__dict__[name], json) for name in self.model_fields}
        for key, value in (self.model_extra or {}).items():
            out[key] = _dump(value, json)
        return out


def _dump(value: Any, json: bool) -> Any:
    if isinstance(value, Section):
        return value.model_dump(mode="json" if json else "python")
    if isinstance(value, dict):
        return {key: _dump(item, json) for key, item in value.items()}
    if isinstance(value, list):
        return [_dump(item, json) for item in value]
    if isinstance(value, tuple):
        return [_dump(item, json) for item in value] if json else tuple(_dump(item, json) for item in value)
    if json:
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return None  # like pydantic: JSON has no NaN or infinity
        if hasattr(value, "isoformat") and not isinstance(value, str | int | float):  # TOML dates and times
            text = value.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
    return value


# -- checkers -------------------------------------------------------------------------
# A checker takes the raw value and returns the value to store, or raises ValidationError
# whose loc is relative to the value; containers prepend the key or index on the way out.


def _field_check(field: FieldInfo) -> Callable[[Any], Any]:
    check = _check_for(field.annotation)
    limits = field.limits
    if limits:
        check = _limited(check, limits)
    if field.before is not None:
        check = _converted(check, field.before)
    return check


_LIMIT_TEXT = {
    "gt": ("greater than", lambda v, x: v > x),
    "ge": ("greater than or equal to", lambda v, x: v >= x),
    "lt": ("less than", lambda v, x: v < x),
    "le": ("less than or equal to", lambda v, x: v <= x),
}


def _limited(check: Callable[[Any], Any], limits: list[tuple[str, float]]) -> Callable[[Any], Any]:
    tests = [(_LIMIT_TEXT[kind][1], limit, f"{_LIMIT_TEXT[kind][0]} {limit}") for kind, limit in limits]

    def limited(value: Any) -> Any:
        result = check(value)
        if result is not None:
            for test, limit, expected in tests:
                if not test(result, limit):
                    raise ValidationError.should_be(expected, value)
        return result

    return limited


def _converted(check: Callable[[Any], Any], before: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def converted(value: Any) -> Any:
        try:
            result = before(value)
        except ValueError as exc:
            raise ValidationError(f"value error, {exc}", value) from None
        return check(result)

    return converted


def _any(value: Any) -> Any:
    return value


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise ValidationError.should_be("a valid string", value)


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValidationError.should_be("a valid integer, got a number with a fractional part", value)
    raise ValidationError.should_be("a valid integer", value)


def _float(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            number = math.inf
        if math.isfinite(number):
            return number
        raise ValidationError.should_be("a finite number (not nan or inf)", value)
    raise ValidationError.should_be("a valid number", value)


def _bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise ValidationError.should_be("a valid boolean", value)


def _none(value: Any) -> Any:
    if value is None:
        return None
    raise ValidationError.should_be("None", value)


_SCALARS: dict[Any, Callable[[Any], Any]] = {
    Any: _any,
    object: _any,
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    None: _none,
    type(None): _none,
}


def _check_for(annotation: Any) -> Callable[[Any], Any]:
    """The checker of a type annotation."""
    scalar = _SCALARS.get(annotation)
    if scalar is not None:
        return scalar
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation.model_validate
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return _literal(args)
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if origin is list:
        return _list(_check_for(args[0]) if args else _any)
    if origin is dict:
        return _dict(*(map(_check_for, args) if args else (_str, _any)))
    if annotation is list:
        return _list(_any)
    if annotation is dict:
        return _dict(_str, _any)
    raise TypeError(f"settings fields cannot be of type {annotation!r}")


def expected_text(values: tuple) -> str:
    """'a', 'b' or 'c'"""
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _literal(values: tuple) -> Callable[[Any], Any]:
    allowed = {(type(v), v) for v in values}
    expected = expected_text(values)

    def literal(value: Any) -> Any:
        try:
            if (type(value), value) in allowed:
                return value
        except TypeError:  # unhashable input
            pass
        raise ValidationError.should_be(expected, value)

    return literal


def _union(members: tuple) -> Callable[[Any], Any]:
    optional = type(None) in members
    checks = [_check_for(m) for m in members if m is not type(None)]
    if len(checks) == 1:
        only = checks[0]
        if not optional:
            return only

        def nullable(value: Any) -> Any:
            return None if value is None else only(value)

        return nullable

    def union(value: Any) -> Any:
        if value is None and optional:
            return None
        errors = []
        for check in checks:
            try:
                return check(value)
            except ValidationError as exc:
                errors.append(exc)
        deepest = max(errors, key=lambda e: len(e.loc))
        if deepest.loc:  # got into a container or section: that error says most
            raise deepest
        unexpected = [e for e in errors if e.expected is None]
        if unexpected:  # a member's own check failed (not a type mismatch): its error says what
            raise unexpected[0]
        raise ValidationError.should_be(" or ".join(str(e.expected) for e in errors), value)

    return union


def _list(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check_list(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValidationError.should_be("a valid list", value)
        if item is _any:
            return list(value)
        out = []
        index = 0
        try:
            for index, element in enumerate(value):  # noqa: B007 - read in the handler
                out.append(item(element))
        except ValidationError as exc:
            exc.loc = (index, *exc.loc)
            raise
        return out

    return check_list


def _dict(key_check: Callable[[Any], Any], value_check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check_dict(value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError.should_be("a valid dictionary", value)
        out = {}
        for key, element in value.items():
            try:
                checked_key = key_check(key)
            except ValidationError as exc:
                raise ValidationError("not a valid key: " + exc.message, key, (key,)) from None
            try:
                out[checked_key] = value_check(element)
            except ValidationError as exc:
                exc.loc = (key, *exc.loc)
                raise
        return out

    return check_dict
