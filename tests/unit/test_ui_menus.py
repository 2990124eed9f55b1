"""Menus, written once in the UI base, on a scripted UI (the keys a caller would press)."""

from __future__ import annotations

import inspect

import pytest

from asteramisk.ui.base import UI


class ScriptedUI(UI):
    """Answers each gather with the next scripted keys; records what was said."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(remote_number="5550100", local_number="2000")
        self.keys = keys
        self.said: list[str] = []
        self.depths: dict[str, set[int]] = {}

    async def answer(self) -> None:
        self.answered = True

    async def hangup(self) -> None:
        self.hung_up = True

    async def say(self, text: str) -> None:
        self.said.append(text)

    async def play(self, sound: str) -> None:
        self.said.append(f"<{sound}>")

    async def gather(
        self, text: str = "", num_digits: int = 1, *, timeout: float = 5.0, finish_on_key: str = "#"
    ) -> str:
        if text:
            self.said.append(text)
            self.depths.setdefault(text, set()).add(len(inspect.stack(0)))
        return self.keys.pop(0) if self.keys else ""

    async def prompt(self, text: str, *, timeout: float = 30.0) -> str:
        return await self.gather(text)


async def test_menu_runs_the_chosen_callback_and_returns_its_result() -> None:
    ui = ScriptedUI(["2"])

    async def one() -> str:
        return "one"

    async def two() -> str:
        return "two"

    assert await ui.menu("Pick", {"1": one, "2": two}) == "two"


async def test_menu_asks_again_on_invalid_and_no_input_then_gives_up() -> None:
    ui = ScriptedUI(["9", "", "1"])

    async def one() -> str:
        return "one"

    assert await ui.menu("Pick", {"1": one}) == "one"
    assert ui.said.count("Pick") == 3
    assert ui.said.count("Sorry, that is not one of the choices.") == 2
    quitter = ScriptedUI([])
    assert await quitter.menu("Pick", {"1": one}) is None
    assert quitter.said.count("Pick") == UI.menu_retries + 1


async def test_star_goes_back_one_level_without_growing_the_stack() -> None:
    ui = ScriptedUI(["1", "*"] * 50 + ["1", "2"])

    async def leaf() -> str:
        return "leaf"

    async def submenu() -> str | None:
        return await ui.menu("Sub", {"2": leaf})

    assert await ui.menu("Top", {"1": submenu}) == "leaf"
    assert ui.said.count("Top") == 51 and ui.said.count("Sub") == 51
    # every time the caller came back, the top menu was asked from the same stack depth
    assert len(ui.depths["Top"]) == 1 and len(ui.depths["Sub"]) == 1


async def test_star_at_the_top_level_is_just_invalid() -> None:
    ui = ScriptedUI(["*", "1"])

    async def one() -> str:
        return "one"

    assert await ui.menu("Top", {"1": one}) == "one"


async def test_select_choose_and_yes_no() -> None:
    ui = ScriptedUI(["b", "2", "1", "2"])
    assert await ui.select("Which?", {"a": "apples", "b": "pears"}) == "b"
    assert ui.said[-1] == "Which? For apples, press a. For pears, press b."
    assert await ui.choose("Pick a day", ["Monday", "Tuesday"]) == "Tuesday"
    assert await ui.ask_yes_no("Sure?") is True
    assert await ui.ask_yes_no("Really?") is False


async def test_async_with_hangs_up() -> None:
    ui = ScriptedUI([])
    async with ui:
        pass
    assert ui.hung_up


async def test_connect_openai_agent_refuses_a_ui_it_cannot_drive() -> None:
    from agents import Agent

    with pytest.raises(TypeError, match="does not know ScriptedUI"):
        await ScriptedUI([]).connect_openai_agent(Agent(name="x"))
