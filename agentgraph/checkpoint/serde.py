"""Serialization of state values: LangGraph's JsonPlusSerializer, with types checked.

Values are msgpack-encoded by `JsonPlusSerializer`, byte for byte as it encodes them. A value of a
type that could not be imported back later (a class defined inside a function, a nested class):

* by default (drop-in with LangGraph's savers) is stored as `JsonPlusSerializer` stores it, with an
  `UnrestorableTypeWarning` naming the channel, the field and the type; reading it back gives its
  stored fields (a dict), as LangGraph's serializer does, with a warning;
* with `strict=True` (setting `checkpoint.strict_types`) is refused when it is written, and a stored
  value whose type cannot be rebuilt raises `StorageError` when it is read.

Dataclasses, pydantic models, enums, datetimes, sets, Decimal and LangChain messages come back as
their own types. Tuples come back as lists (msgpack has no tuple).
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from inspect import isclass
from typing import Any, Literal

import ormsgpack
from langgraph.checkpoint.serde import jsonplus
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agentgraph.compat import SAFE_MSGPACK_METHODS, SAFE_MSGPACK_TYPES, DeltaSnapshot, msgpack_ext_hook, send_from_args
from agentgraph.errors import StorageError

__all__ = [
    "describe_unserializable",
    "locate_problem",
    "StateSerializer",
    "UnrestorableTypeWarning",
    "UnserializableValueError",
]

_UNPACK_OPTION = ormsgpack.OPT_NON_STR_KEYS
_TYPED_EXTS = (
    jsonplus.EXT_CONSTRUCTOR_SINGLE_ARG,
    jsonplus.EXT_CONSTRUCTOR_POS_ARGS,
    jsonplus.EXT_CONSTRUCTOR_KW_ARGS,
    jsonplus.EXT_METHOD_SINGLE_ARG,
    jsonplus.EXT_PYDANTIC_V1,
    jsonplus.EXT_PYDANTIC_V2,
)


class UnserializableValueError(StorageError):
    """A state value cannot be stored so that it comes back as itself."""


class UnrestorableTypeWarning(UserWarning):
    """A state value was stored (or read) as its fields only: its type cannot be imported back."""


_RESOLVED: dict[tuple[str, str], Any] = {}


def _resolve(module: str, name: str) -> Any:
    key = (module, name)
    found = _RESOLVED.get(key)
    if found is None:
        found = getattr(importlib.import_module(module), name)
        if module != "__main__":  # a notebook may redefine its classes
            _RESOLVED[key] = found
    return found


class _TypeCheck:
    """Remembers which (module, name) pairs name an importable type."""

    def __init__(self) -> None:
        self._ok: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def problem(self, module: str, name: str) -> str | None:
        key = (module, name)
        if key in self._ok:
            return None
        try:
            _resolve(module, name)
        except Exception as exc:
            return (
                f"type {module}.{name} cannot be imported back ({type(exc).__name__}); define it at module "
                "level (not inside a function or another class)"
            )
        with self._lock:
            self._ok.add(key)
        return None


_TYPES = _TypeCheck()
_LOAD_FAILURE = threading.local()


@dataclasses.dataclass(frozen=True)
class _MessageShape:
    """What rebuilding a message class needs: its field names, and whether `model_construct` does
    no more than set the instance state (no private attributes, post-init hook or root model)."""

    fields: frozenset[str]
    plain: bool
    extra: bool


_MESSAGE_SHAPES: dict[type, _MessageShape] = {}


def _message_shape(cls: Any) -> _MessageShape:
    shape = _MESSAGE_SHAPES.get(cls)
    if shape is None:
        plain = not (
            getattr(cls, "__private_attributes__", None)
            or getattr(cls, "__pydantic_post_init__", None)
            or getattr(cls, "__pydantic_root_model__", False)
        )
        extra = getattr(cls, "model_config", {}).get("extra") == "allow"
        shape = _MESSAGE_SHAPES[cls] = _MessageShape(frozenset(getattr(cls, "model_fields", None) or ()), plain, extra)
    return shape


def _rebuild_message(cls: Any, payload: Any) -> Any:
    """A LangChain message stored with exactly its class's fields, rebuilt without validating it
    again (it was validated when it was made; this is most of the cost of reading a long
    conversation). Anything else, e.g. a message stored by another LangChain version, is None.

    With every field given and nothing else to set up, the instance state is set directly: the
    state `model_construct` would set (tests compare the two), without its per-field loop."""
    shape = _message_shape(cls)
    if not shape.fields or not isinstance(payload, dict) or payload.keys() != shape.fields:
        return None
    if not shape.plain:
        return cls.model_construct(**payload)
    message = cls.__new__(cls)
    object.__setattr__(message, "__dict__", payload)
    object.__setattr__(message, "__pydantic_fields_set__", set(shape.fields))
    object.__setattr__(message, "__pydantic_extra__", {} if shape.extra else None)
    object.__setattr__(message, "__pydantic_private__", None)
    return message


def _strict_ext_hook(allowed: set[tuple[str, ...]] | Literal[True] | None, strict: bool) -> Callable[[int, bytes], Any]:
    """An ormsgpack ext hook that rebuilds stored objects as their own types. An object whose type
    cannot be rebuilt raises StorageError if `strict`, else comes back as its stored payload (as
    LangGraph's serializer does), with a warning. Types outside the allowlist always raise."""

    def allowed_type(module: str, name: str) -> bool:
        key = (module, name)
        return key in SAFE_MSGPACK_TYPES or allowed is True or (allowed is not None and key in allowed)

    def refuse(module: str, name: str, why: str) -> StorageError:
        error = StorageError(f"a stored value of type {module}.{name} cannot be restored: {why}")
        _LOAD_FAILURE.error = error  # ormsgpack replaces what a hook raises with a bare ValueError
        return error

    def unrestorable(module: str, name: str, why: str, payload: Any, cause: BaseException) -> Any:
        if strict:
            raise refuse(module, name, why) from cause
        warnings.warn(
            f"a stored value of type {module}.{name} cannot be restored ({why}); it is read back as its stored "
            "data, as LangGraph's serializer reads it",
            UnrestorableTypeWarning,
            stacklevel=2,
        )
        return payload

    def hook(code: int, data: bytes) -> Any:
        if code == jsonplus.EXT_DELTA_SNAPSHOT:
            return DeltaSnapshot(ormsgpack.unpackb(data, ext_hook=hook, option=_UNPACK_OPTION))
        if code not in _TYPED_EXTS:
            return msgpack_ext_hook(code, data)
        tup = ormsgpack.unpackb(data, ext_hook=hook, option=_UNPACK_OPTION)
        module, name, payload = tup[0], tup[1], tup[2]
        if code == jsonplus.EXT_METHOD_SINGLE_ARG:
            if (module, name, tup[3]) not in SAFE_MSGPACK_METHODS:
                raise refuse(module, name, f"method {tup[3]} is not allowed")
        elif not allowed_type(module, name):
            raise refuse(module, name, f"not in allowed_msgpack_modules; add ({module!r}, {name!r}) to the serializer's allowlist")
        try:
            cls = _resolve(module, name)
        except Exception as exc:
            return unrestorable(module, name, f"the type cannot be imported ({type(exc).__name__}: {exc})", payload, exc)
        try:
            if code == jsonplus.EXT_CONSTRUCTOR_SINGLE_ARG:
                return cls(payload)
            if code == jsonplus.EXT_CONSTRUCTOR_POS_ARGS:
                if module == "langgraph.types" and name == "Send":
                    return send_from_args(payload)
                return cls(*payload)
            if code == jsonplus.EXT_CONSTRUCTOR_KW_ARGS:
                return cls(**payload)
            if code == jsonplus.EXT_METHOD_SINGLE_ARG:
                return getattr(cls, tup[3])(payload)
            if code == jsonplus.EXT_PYDANTIC_V1:
                try:
                    return cls(**payload)
                except Exception:
                    return cls.construct(**payload)
            if module.startswith("langchain_core.messages") and (message := _rebuild_message(cls, payload)) is not None:
                return message
            try:
                return cls(**payload)
            except Exception:
                return cls.model_construct(**payload)
        except Exception as exc:
            return unrestorable(module, name, f"{type(exc).__name__}: {exc}", payload, exc)

    return hook


def _type_checker(problems: list[str]) -> Callable[[int, bytes], Any]:
    """An ext hook that walks a packed value and records types that could not be imported back."""

    def hook(code: int, data: bytes) -> Any:
        if code == jsonplus.EXT_DELTA_SNAPSHOT:
            ormsgpack.unpackb(data, ext_hook=hook, option=_UNPACK_OPTION)
        elif code in _TYPED_EXTS:
            tup = ormsgpack.unpackb(data, ext_hook=hook, option=_UNPACK_OPTION)
            if problem := _TYPES.problem(tup[0], tup[1]):
                problems.append(problem)
                raise UnserializableValueError(problem)
        return None

    return hook


def _unrestorable(data: bytes) -> str | None:
    """Why a msgpack value packed by `JsonPlusSerializer` would not come back as itself, or None."""
    problems: list[str] = []
    try:
        ormsgpack.unpackb(data, ext_hook=_type_checker(problems), option=_UNPACK_OPTION)
    except ValueError:
        if problems:
            return problems[0]
        raise
    return None


def _strict_default() -> bool:
    from agentgraph.settings import get_settings

    return get_settings().checkpoint.strict_types


class StateSerializer(JsonPlusSerializer):
    """`JsonPlusSerializer` that checks values come back as their own types.

    `strict` (default: setting `checkpoint.strict_types`) refuses a value whose type cannot be
    imported back; otherwise it is stored as `JsonPlusSerializer` stores it, with a warning."""

    def __init__(
        self,
        *,
        pickle_fallback: bool = False,
        allowed_msgpack_modules: Iterable[tuple[str, ...] | type] | Literal[True] | None = True,
        strict: bool | None = None,
    ) -> None:
        super().__init__(pickle_fallback=pickle_fallback, allowed_msgpack_modules=allowed_msgpack_modules)
        self.strict = _strict_default() if strict is None else strict
        self._unpack_ext_hook = _strict_ext_hook(self._allowed_msgpack_modules, self.strict)
        self._warned: set[tuple[str, str]] = set()

    def with_msgpack_allowlist(self, extra_allowlist: Iterable[tuple[str, ...] | type]) -> JsonPlusSerializer:
        clone = super().with_msgpack_allowlist(extra_allowlist)
        if clone is not self:
            clone._unpack_ext_hook = _strict_ext_hook(clone._allowed_msgpack_modules, self.strict)
        return clone

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        _LOAD_FAILURE.error = None
        try:
            return super().loads_typed(data)
        except ValueError:
            error, _LOAD_FAILURE.error = _LOAD_FAILURE.error, None
            if error is not None:
                raise error from None
            raise

    def dumps_checked(self, obj: Any) -> tuple[str, bytes, str | None]:
        """`JsonPlusSerializer.dumps_typed`, plus why the value would not come back as itself (or None)."""
        type_, data = super().dumps_typed(obj)
        return type_, data, _unrestorable(data) if type_ == "msgpack" else None

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data, problem = self.dumps_checked(obj)
        if problem is not None:
            if self.strict:
                raise UnserializableValueError(problem)
            warnings.warn(f"{problem}; stored as its fields", UnrestorableTypeWarning, stacklevel=2)
        return type_, data

    def dumps_channel(self, channel: str, value: Any, whole: Any = None) -> tuple[str, bytes]:
        """`value` (or a part of `whole`, the channel's value) serialized for `channel`; a type that
        cannot be imported back is refused if strict, else warned about once per channel and type,
        naming the channel, the field and the type."""
        type_, data, problem = self.dumps_checked(value)
        if problem is None:
            return type_, data
        whole = value if whole is None else whole
        if self.strict:
            raise describe_unserializable(self, channel, whole, UnserializableValueError(problem))
        if (channel, problem) not in self._warned:
            if len(self._warned) < 1024:
                self._warned.add((channel, problem))
            where, kind, reason = _where(self, channel, whole, self._restore_problem)
            warnings.warn(
                f"the state value of {where}: {kind} is stored as LangGraph's serializer stores it and will be read "
                f"back as a dict of its fields ({reason}; set checkpoint.strict_types to refuse it)",
                UnrestorableTypeWarning,
                stacklevel=3,
            )
        return type_, data

    def _restore_problem(self, value: Any) -> str | None:
        try:
            return self.dumps_checked(value)[2]
        except Exception as exc:
            return str(exc) or type(exc).__name__


# --- naming what cannot be serialized -------------------------------------------------------------


def _children(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"[{k!r}]", v
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            yield f"[{i}]", v
    elif isinstance(value, DeltaSnapshot):
        yield ".value", value.value
    elif dataclasses.is_dataclass(value) and not isclass(value):
        for f in dataclasses.fields(value):
            yield f".{f.name}", getattr(value, f.name, None)
    elif hasattr(value, "model_fields") and not isclass(value):
        for name in type(value).model_fields:
            yield f".{name}", getattr(value, name, None)


def _dump_problem(serde: Any) -> Callable[[Any], str | None]:
    def problem(value: Any) -> str | None:
        try:
            if isinstance(serde, StateSerializer):  # no warnings while looking
                found = serde.dumps_checked(value)[2]
                return found if serde.strict else None
            serde.dumps_typed(value)
        except Exception as exc:
            return str(exc) or type(exc).__name__
        return None

    return problem


def locate_problem(serde: Any, value: Any, path: str = "", problem: Callable[[Any], str | None] | None = None) -> tuple[str, Any, str]:
    """The deepest part of `value` with a problem: (path, part, reason). `problem` says what is
    wrong with a value (None: nothing); by default, why `serde` cannot serialize it."""
    problem = problem or _dump_problem(serde)
    for sub_path, child in _children(value):
        if problem(child) is not None:
            return locate_problem(serde, child, path + sub_path, problem)
    return path, value, problem(value) or "unknown reason"


def _where(serde: Any, channel: str, value: Any, problem: Callable[[Any], str | None] | None = None) -> tuple[str, str, str]:
    """Where in the value of `channel` the problem is, the offending type, and the reason."""
    path, part, reason = locate_problem(serde, value, problem=problem)
    where = f"channel {channel!r}" + (f" at {path}" if path else "")
    return where, f"{type(part).__module__}.{type(part).__qualname__}", reason


def describe_unserializable(serde: Any, channel: str, value: Any, exc: BaseException) -> UnserializableValueError:
    """An error naming the channel, the field inside its value, and the offending type."""
    where, kind, reason = _where(serde, channel, value)
    return UnserializableValueError(f"cannot serialize the state value of {where}: {kind} is not serializable ({reason})")
