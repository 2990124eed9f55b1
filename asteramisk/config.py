"""Asteramisk configuration: one object, the README's names, environment overrides.

Set a variable at the entry point of your program::

    from asteramisk.config import config
    config.ASTERISK_HOST = "127.0.0.1"
    config.ASTERISK_AMI_USER = "yourusername"

or in the environment, under the same name (``export ASTERISK_AMI_USER=yourusername``).
A value set in code wins over the environment; the environment wins over the default.
Values are read when they are used, never frozen at import time, and coerced to their type
(ports are ``int`` whatever their source). Each ``Server`` and ``Communicator`` takes a frozen
snapshot (:meth:`Config.snapshot`) when it starts, so two of them in one process can differ and
a change made later does not reach one that is running. A missing or malformed value raises
:class:`~asteramisk.exceptions.ConfigurationError`, naming the variable and how to set it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asteramisk.exceptions import ConfigurationError

__all__ = ["VARIABLES", "Config", "Settings", "Variable", "config"]

from asteramisk.config_variables import VARIABLES, Variable

_BY_NAME = {variable.name: variable for variable in VARIABLES}


class Config:
    """The configuration object. Use the module-level :data:`config` instance."""

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})

    def _variable(self, name: str) -> Variable:
        try:
            return _BY_NAME[name]
        except KeyError:
            close = difflib.get_close_matches(name, _BY_NAME, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise AttributeError(f"Unknown configuration variable {name}.{hint}") from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        variable = self._variable(name)
        values: dict[str, object] = self._values
        if name in values:
            raw, source = values[name], f"config.{name}"
        elif name in os.environ:
            raw, source = os.environ[name], f"the environment variable {name}"
        elif variable.required:
            raise ConfigurationError(
                f"{name} is not set. {variable.help} Set it at your entry point with "
                f"`config.{name} = ...` (from asteramisk.config import config), "
                f"or in the environment with `export {name}=...`."
            )
        else:
            return variable.default
        try:
            return variable.coerce(raw)
        except (TypeError, ValueError) as exc:
            shown = "(hidden)" if variable.secret else repr(raw)
            raise ConfigurationError(
                f"{name} is malformed: {source} is {shown}, which {exc}. {variable.help} "
                f"Fix it with `config.{name} = ...` or `export {name}=...`."
            ) from None

    def __setattr__(self, name: str, value: object) -> None:
        self._variable(name)
        self._values[name] = value

    def __delattr__(self, name: str) -> None:
        self._variable(name)
        self._values.pop(name, None)

    def reset(self) -> None:
        """Forget every value set in code (the environment and defaults apply again)."""
        self._values.clear()

    def is_set(self, name: str) -> bool:
        """Whether ``name`` has a value in code or in the environment."""
        self._variable(name)
        return name in self._values or name in os.environ

    def validate(self, *names: str) -> None:
        """Read each named variable (all of them by default), raising the first problem."""
        for name in names or tuple(_BY_NAME):
            getattr(self, name)

    def snapshot(self) -> Settings:
        """Every variable's value now, frozen (a variable that is unset or malformed raises
        its :class:`ConfigurationError` when the snapshot is asked for it)."""
        values: dict[str, object] = {}
        for name in _BY_NAME:
            try:
                values[name] = getattr(self, name)
            except ConfigurationError as exc:
                values[name] = _Problem(str(exc))
        return Settings(values, frozenset(n for n in _BY_NAME if self.is_set(n)))

    def __repr__(self) -> str:
        shown = []
        for variable in VARIABLES:
            if not self.is_set(variable.name):
                continue
            value = "***" if variable.secret else repr(getattr(self, variable.name))
            shown.append(f"{variable.name}={value}")
        return f"<Config {' '.join(shown)}>"

    def __dir__(self) -> list[str]:
        return [*_BY_NAME, "reset", "is_set", "validate", "snapshot"]


@dataclass(frozen=True)
class _Problem:
    message: str


class Settings:
    """A frozen snapshot of the configuration, read by attribute like :data:`config`.

    ``Server`` and ``Communicator`` take one at ``start()`` and pass it to what they build.
    """

    __slots__ = ("_set", "_values")

    def __init__(self, values: Mapping[str, object], set_names: frozenset[str]) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_set", set_names)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(f"Unknown configuration variable {name}.") from None
        if isinstance(value, _Problem):
            raise ConfigurationError(value.message)
        return value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are a frozen snapshot: change asteramisk.config.config")

    def is_set(self, name: str) -> bool:
        """Whether ``name`` had a value in code or in the environment."""
        return name in self._set

    def replace(self, **values: object) -> Settings:
        """A copy with ``values`` changed (coerced like values set in code)."""
        changed = dict(self._values)
        for name, value in values.items():
            changed[name] = _BY_NAME[name].coerce(value)
        return Settings(changed, self._set | frozenset(values))

    def asterisk_hosts(self) -> tuple[str, ...]:
        """The Asterisk servers to use: ``ASTERISK_HOSTS``, or ``ASTERISK_HOST`` alone."""
        hosts: tuple[str, ...] = self.ASTERISK_HOSTS  # raises its problem, if it has one
        return hosts or (self.ASTERISK_HOST,)

    def validate(self, *names: str) -> None:
        """Read each named variable, raising the first problem."""
        for name in names or tuple(_BY_NAME):
            getattr(self, name)

    def __repr__(self) -> str:
        shown = []
        for variable in VARIABLES:
            if variable.name not in self._set:
                continue
            value = self._values[variable.name]
            text = "***" if variable.secret or isinstance(value, _Problem) else repr(value)
            shown.append(f"{variable.name}={text}")
        return f"<Settings {' '.join(shown)}>"


config = Config()
