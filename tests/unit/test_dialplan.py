"""Reading ``dialplan show`` (what the registrar and the stale-entry clean-up see)."""

from __future__ import annotations

from asteramisk.asterisk.dialplan import DialplanEntry, parse_entries

SHOWN = """[ Context 'from-pstn' created by 'pbx_config' ]
  '2999' =>         1. Stasis(asteramisk-1234abcd,2999)           [pbx_config]
                    2. AGI(agi://127.0.0.1:4753/call,2999)        [pbx_config]
     [done]         3. Hangup()                                   [pbx_config]
  '_[+0-9a-zA-Z].' => 1. NoOp(No Asteramisk app is serving ${EXTEN}) [extensions.conf:9]
                    2. Hangup(1)                                  [extensions.conf:11]

-= 2 extensions (5 priorities) in 1 context. =-"""


def test_the_entries_of_the_number_and_not_of_the_patterns_it_matches() -> None:
    assert parse_entries(SHOWN, "from-pstn", "2999") == [
        DialplanEntry("from-pstn", "2999", "Stasis", "asteramisk-1234abcd,2999", 1),
        DialplanEntry("from-pstn", "2999", "AGI", "agi://127.0.0.1:4753/call,2999", 2),
        DialplanEntry("from-pstn", "2999", "Hangup", "", 3),
    ]
    assert parse_entries(SHOWN, "from-pstn", "3000") == []
    assert parse_entries("There is no existence of '1@x' extension", "x", "1") == []
