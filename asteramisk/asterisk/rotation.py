"""Calls to a number shared by the instances that serve it: the least busy takes each call.

Several instances of an app (on one host or several) can serve one number; each has its own
dialplan entry, at its own priority, and a marker at the same priority of the private context
:data:`MARKERS` (a context with no patterns, where ``DIALPLAN_EXISTS`` tells which priorities
are entries). Each call to the number walks the entries:

1. **Choose.** Each entry notes how many calls its instance has now, as Asterisk counts them
   (``GROUP_COUNT(<instance>@asteramisk)``: each call an instance takes is put in its group),
   and keeps the least busy so far (``AM_P``, its priority), a tie going to each of the tied
   with the same chance (``AM_T`` counts them: reservoir sampling with ``RAND``); then it goes
   to the next entry, or after the last to :data:`SENTINEL`.
2. **Take.** :data:`SENTINEL` sends the call back to the chosen entry, which runs the
   instance's ``Stasis()`` or ``AGI()`` through the private context :data:`TAKE`.
3. **Fall back.** If the chosen instance does not take the call (it is gone, or at
   ``MAX_CONCURRENT_CALLS`` and passes it on), :data:`TAKE` sends the call to
   :data:`SENTINEL` again, which starts over from priority 1 with every entry taking it in
   turn (the spill-over of one instance to the next); a third arrival hangs up with cause 34
   (no circuit available).

Each entry is one ``ExecIf``. Asterisk substitutes every ``${...}`` of its data before it
runs, so the notes of step 1 (``SET()`` functions, inside an ``IF`` that returns nothing)
happen at every visit; the condition, read first, says whether this visit takes the call.
"""

from __future__ import annotations

import re

__all__ = [
    "MARKERS",
    "SENTINEL",
    "TAKE",
    "entry_data",
    "inner",
    "markers",
    "pass_on_data",
    "sentinel_data",
    "take_steps",
    "text_entry_data",
]

SENTINEL = 9999
"""The priority of each shared number's last step (see the module docstring)."""
MARKERS = "asteramisk-walk"
"""The private contexts of the markers (``asteramisk-walk-<context>``): one per entry of ours
(calls' and texts'), at the entry's priority, so that a call knows where the next one is."""
TAKE = "asteramisk-take"
"""The private context that runs an instance's ``Stasis()`` or ``AGI()`` and, if the call
comes back, sends it to :data:`SENTINEL`."""

_GROUP = "asteramisk"
_CALL = '"${CHANNEL(channeltype)}" != "Message"'
"""A text in the same context as calls walks on to the text entries (no rotation)."""
_FOLLOWING = f"${{DIALPLAN_EXISTS({MARKERS}-${{CONTEXT}},${{EXTEN}},$[${{PRIORITY}} + 1])}}"
_ONWARD = f"${{IF($[({_CALL}) & !{_FOLLOWING}]?{SENTINEL}:$[${{PRIORITY}} + 1])}}"
"""The next entry; after the last, the sentinel (a text: the next priority, always)."""
_TEXT = re.compile(r"^\$\[!\([^?]*\)\]\?(AGI)\((.*)\):Goto\(")
_INNER = re.compile(rf"\?Gosub\({TAKE},(stasis|agi),1\((.*),[^,()]*,[^,()]*\)\):Goto\(")


def entry_data(instance: str, app: str, args: str) -> str:
    """The ``ExecIf`` data of an instance's entry: it takes the call with ``app``
    (``"stasis"`` or ``"agi"``) and ``args`` (``application,number`` or ``url,number``)
    when this visit is the one, else it notes its load and goes on (step 1)."""
    count = f"${{GROUP_COUNT({instance}@{_GROUP})}}"
    first = "${LEN(${AM_N})} = 0"
    better = f"{first} | ${{AM_C}} < 0${{AM_N}}"
    notes = (
        f"${{SET(AM_C={count})}}"
        f"${{SET(AM_T=${{IF($[{better}]?1:${{IF($[${{AM_C}} = 0${{AM_N}}]?"
        "$[0${AM_T} + 1]:${AM_T})})})}"
        f"${{SET(AM_P=${{IF($[{better} | (${{AM_C}} = 0${{AM_N}} & "
        "${RAND(1,${AM_T})} = 1)]?${PRIORITY}:${AM_P})})}"
        f"${{SET(AM_N=${{IF($[{first}]?${{AM_C}}:${{MIN(${{AM_N}},${{AM_C}})}})}})}}"
        # a text's channel is Asterisk's one message channel, reused: it joins no group
        f"${{SET(GROUP({_GROUP})=${{IF($[{_CALL}]?{instance}:)}})}}"
    )
    onward = f"${{IF(0?{notes}:)}}{_ONWARD}"
    take_now = f"({_CALL}) & (${{AM_J}}0 >= 20 | ${{AM_P}}0 = ${{PRIORITY}}0)"
    back = "${CONTEXT},${PRIORITY}"
    return f"$[{take_now}]?Gosub({TAKE},{app},1({args},{back})):Goto({onward})"


def markers(context: str) -> str:
    """The private context of the markers of ``context``'s entries."""
    return f"{MARKERS}-{context}"


def text_entry_data(take: str) -> str:
    """The ``ExecIf`` data of an instance's text entry: ``take`` (its ``AGI()``) for a text;
    a call walks on to the next entry."""
    return f"$[!({_CALL})]?{take}:Goto({_ONWARD})"


def pass_on_data() -> str:
    """The ``Goto`` data of a step left where an instance's entry was, while entries follow
    it: the walk goes on, and nothing is chosen there."""
    return _ONWARD


def take_steps() -> dict[str, list[tuple[str, str]]]:
    """The steps of :data:`TAKE`, by extension (the same for every instance)."""
    following = f"${{DIALPLAN_EXISTS({MARKERS}-${{ARG3}},${{ARG2}},$[${{ARG4}} + 1])}}"
    spilling = f"$[0${{AM_J}} >= 2 & {following}]"
    back = [  # the call came back: the next entry when spilling over, else the sentinel
        (
            "MSet",
            f"AM_CTX=${{ARG3}},AM_EXT=${{ARG2}},"
            f"AM_TO=${{IF({spilling}?$[${{ARG4}} + 1]:{SENTINEL})}}",
        ),
        ("StackPop", ""),
        ("Goto", "${AM_CTX},${AM_EXT},${AM_TO}"),
    ]
    return {
        "stasis": [("Stasis", "${ARG1},${ARG2}"), *back],
        "agi": [("AGI", "${ARG1},${ARG2}"), *back],
    }


def sentinel_data() -> str:
    """The ``ExecIf`` data of the :data:`SENTINEL` step."""
    return "$[${SET(AM_J=$[0${AM_J} + 1])} < 3]?Goto(${IF($[${AM_J} = 1]?${AM_P}:1)}):Hangup(34)"


def inner(app: str, data: str) -> tuple[str, str]:
    """The application and data an entry runs to take a call (``Stasis`` or ``AGI``; the
    entry's own for an entry that is not shared this way)."""
    if app == "ExecIf":
        match = _INNER.search(data)
        if match:
            return ("Stasis" if match.group(1) == "stasis" else "AGI"), match.group(2)
        match = _TEXT.search(data)
        if match:
            return "AGI", match.group(2)
    return app, data
