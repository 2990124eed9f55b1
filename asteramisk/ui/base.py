"""The UI base: the verbs every conversation has, and menus written once for voice and text.

A subclass (``VoiceUI``, ``TextUI``) provides the primitives: ``answer``, ``hangup``, ``say``,
``play``, ``gather``, ``prompt``. This class builds ``menu``, ``select``, ``choose`` and
``ask_yes_no`` on them, with wording the subclass chooses (``_menu_wording``).

Nested menus: a menu callback may open another menu. Inside it, the caller pressing (or texting)
``back_key`` (``*`` by default) returns to the menu one level up, which asks again; this unwinds
by an exception, so going back and forth never grows the call stack.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from asteramisk.exceptions import HangupException

if TYPE_CHECKING:
    from agents import Agent, RunConfig
    from agents.realtime import (
        RealtimeAgent,
        RealtimeModel,
        RealtimeRunConfig,
        RealtimeSessionModelSettings,
    )

    from asteramisk.agent.session import AgentSession

__all__ = ["DIGIT_WORDS", "UI", "spoken_digits"]

T = TypeVar("T")


class _GoBack(Exception):
    """Raised inside a nested menu when the caller asks to go back one level."""


class UI(ABC):
    """One conversation with one person: a call (``VoiceUI``) or a text thread (``TextUI``)."""

    is_call: bool = False
    """True for a phone call (``VoiceUI``), False for a text conversation."""
    back_key: str = "*"
    """The key (or text) that goes back one menu level; set to "" to disable."""
    menu_retries: int = 3
    """How many times a menu is asked again after no or an invalid answer."""

    def __init__(
        self, *, remote_number: str = "", remote_name: str = "", local_number: str = ""
    ) -> None:
        self.remote_number = remote_number
        self.remote_name = remote_name
        self.local_number = local_number
        self.answered = False
        self.hung_up = False
        self._menu_depth = 0

    def __repr__(self) -> str:
        state = "hung up" if self.hung_up else ("answered" if self.answered else "ringing")
        return f"<{type(self).__name__} {self.remote_number or '?'} -> {self.local_number} {state}>"

    # -- the primitives ------------------------------------------------------------------

    @abstractmethod
    async def answer(self) -> None:
        """Answer the call or conversation."""

    @abstractmethod
    async def hangup(self) -> None:
        """End the call or conversation."""

    @abstractmethod
    async def say(self, text: str) -> None:
        """Say (or send) ``text``; returns once it has been said."""

    @abstractmethod
    async def play(self, sound: str) -> None:
        """Play a sound: an Asterisk sound name, a local file or a URL."""

    @abstractmethod
    async def gather(
        self,
        text: str = "",
        num_digits: int = 1,
        *,
        timeout: float = 5.0,
        finish_on_key: str = "#",
        speech: bool = False,
    ) -> str:
        """Say ``text`` and collect up to ``num_digits`` keys; '' when nothing came in time.
        ``speech=True`` accepts the digits said (a call) or written ("four two", a text) too."""

    @abstractmethod
    async def prompt(self, text: str, *, timeout: float = 30.0) -> str:
        """Ask ``text`` and return the answer as text."""

    def _check_open(self) -> None:
        if self.hung_up:
            raise HangupException("the conversation has ended")

    # -- menus, written once -------------------------------------------------------------

    def _menu_wording(self, text: str, labels: Mapping[str, str]) -> str:
        """How a list of options is put to the person (voice: "For X, press 1.")."""
        lines = [text] if text else []
        lines += [f"For {label}, press {key}." for key, label in labels.items()]
        return " ".join(lines)

    def _invalid_wording(self) -> str:
        return "Sorry, that is not one of the choices."

    async def _ask_choice(self, text: str, keys: Sequence[str]) -> str | None:
        """Put ``text`` and return a valid key, the back key, or None after the retries."""
        width = max(len(key) for key in keys)
        allowed = set(keys)
        if self.back_key and self._menu_depth > 0:
            allowed.add(self.back_key)
        for attempt in range(self.menu_retries + 1):
            answer = (await self.gather(text, num_digits=width, finish_on_key="#")).strip()
            if answer in allowed:
                return answer
            if attempt < self.menu_retries:
                await self.say(self._invalid_wording())
        return None

    async def menu(
        self,
        text: str,
        callbacks: Mapping[str, Callable[[], Awaitable[T]]],
        *,
        labels: Mapping[str, str] | None = None,
    ) -> T | None:
        """Ask ``text``, run the callback of the key chosen, and return its result.

        Asks again on no or an invalid answer (``menu_retries`` times, then returns None).
        Inside a menu opened by a callback, ``back_key`` returns to this menu.
        """
        self._check_open()
        prompt = self._menu_wording(text, labels) if labels else text
        while True:
            choice = await self._ask_choice(prompt, list(callbacks))
            if choice is None:
                return None
            if choice == self.back_key and choice not in callbacks:
                raise _GoBack
            self._menu_depth += 1
            try:
                return await callbacks[choice]()
            except _GoBack:
                continue  # the caller came back up: ask this menu again
            finally:
                self._menu_depth -= 1

    async def select(self, text: str, options: Mapping[str, str]) -> str | None:
        """Present ``options`` (key -> label) after ``text``; return the key chosen, or None."""
        self._check_open()
        choice = await self._ask_choice(self._menu_wording(text, options), list(options))
        if choice == self.back_key and choice not in options:
            raise _GoBack
        return choice

    async def choose(
        self, text: str, choices: Sequence[T], *, describe: Callable[[T], str] = str
    ) -> T | None:
        """Number ``choices`` from 1, present them, and return the one chosen (or None)."""
        options = {str(n): describe(choice) for n, choice in enumerate(choices, start=1)}
        key = await self.select(text, options)
        return None if key is None else choices[int(key) - 1]

    async def ask_yes_no(self, text: str) -> bool | None:
        """Ask a yes-or-no question; None when no valid answer came."""
        key = await self.select(text, {"1": "yes", "2": "no"})
        return None if key is None else key == "1"

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.hung_up:
            with contextlib.suppress(HangupException):
                await self.hangup()

    async def connect_openai_agent(
        self,
        agent: Agent[Any] | RealtimeAgent[Any],
        *,
        context: Any = None,
        greeting: str | None = None,
        max_turns: int = 10,
        run_config: RunConfig | None = None,
        phrases: Sequence[str] | None = None,
        idle_timeout: float = 10.0,
        mode: str = "cascade",
        realtime_model: RealtimeModel | None = None,
        realtime_settings: RealtimeSessionModelSettings | None = None,
        realtime_config: RealtimeRunConfig | None = None,
    ) -> AgentSession:
        """Hand the conversation to an OpenAI agent (the Agents SDK) until it ends.

        After calling this method, the conversation is controlled by the agent: on a text
        conversation it answers each message; on a call it listens to the caller, answers
        by voice sentence by sentence, and stops when the caller interrupts. ``context`` is
        the run context your tools receive; ``greeting`` is said first; ``max_turns`` bounds
        the model calls of one reply; ``phrases`` (calls) what the caller may say, for exact
        offline recognition; ``idle_timeout`` seconds of silence ask "Are you still there?",
        twice ends the call. Give the agent :mod:`asteramisk.agent.tools` to let it end or
        transfer the conversation, or send keys.

        ``mode="realtime"`` (calls) connects the call's audio to a speech-to-speech model with
        the SDK's ``RealtimeRunner`` instead: ``agent`` may be a ``RealtimeAgent`` (an
        ``Agent`` is converted), ``realtime_model`` replaces the OpenAI websocket model (tests
        give a scripted one), ``realtime_settings`` adds model settings (voice, turn
        detection...) and ``realtime_config`` is the runner's config. Returns the
        :class:`~asteramisk.agent.session.AgentSession` with the transcript, once either side
        has ended the conversation.
        """
        if mode not in ("cascade", "realtime"):
            raise ValueError(f"mode must be 'cascade' or 'realtime', not {mode!r}")
        options = {
            "context": context,
            "greeting": greeting,
            "max_turns": max_turns,
            "run_config": run_config,
            "phrases": tuple(phrases) if phrases else None,
            "idle_timeout": idle_timeout,
            "mode": mode,
            "realtime_model": realtime_model,
            "realtime_settings": realtime_settings,
            "realtime_config": realtime_config,
        }
        return await self._connect_agent(agent, options)

    async def _connect_agent(self, agent: Any, options: dict[str, Any]) -> AgentSession:
        """Run the agent driver of this medium (a subclass imports it on first use, so the
        UI layer does not depend on the agents); ``options`` are the fields of
        :class:`~asteramisk.agent.session.AgentOptions`."""
        raise TypeError(f"connect_openai_agent does not know {type(self).__name__}")


DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
"""What a caller may say to :meth:`UI.gather` with ``speech=True``."""
_DIGIT_OF = {word: str(n) for n, word in enumerate(DIGIT_WORDS[2:], start=1)} | {
    "zero": "0",
    "oh": "0",
    "o": "0",
}


def spoken_digits(text: str) -> str:
    """The digits in what a caller said: ``"four two oh 7"`` -> ``"4207"``; other words are
    left out."""
    digits = []
    for word in re.findall(r"[a-z]+|[0-9]+", text.lower()):
        if word.isdigit():
            digits.append(word)
        elif word in _DIGIT_OF:
            digits.append(_DIGIT_OF[word])
    return "".join(digits)
