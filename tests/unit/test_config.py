from __future__ import annotations

import pytest

from asteramisk.config import VARIABLES, Config
from asteramisk.exceptions import ConfigurationError

README_NAMES = [
    "ASTERISK_HOST",
    "ASTERISK_AMI_PORT",
    "ASTERISK_AMI_USER",
    "ASTERISK_AMI_PASS",
    "ASTERISK_ARI_PORT",
    "ASTERISK_ARI_USER",
    "ASTERISK_ARI_PASS",
    "ASTERISK_INCOMING_CALL_CONTEXT",
    "ASTERISK_INCOMING_TEXT_CONTEXT",
    "ASTERISK_PSTN_GATEWAY_HOST",
    "ASTERISK_PSTN_GATEWAY_PORT",
    "ASTERISK_PSTN_GATEWAY_USER",
    "SYSTEM_PHONE_NUMBER",
    "SYSTEM_NAME",
    "ASTERISK_SOUNDS_DIR",
    "ASTERISK_TTS_SOUNDS_SUBDIR",
    "AGI_SERVER_HOST",
    "AGI_SERVER_PORT",
]


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch) -> Config:
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    return Config()


def test_every_readme_variable_is_settable_in_code(cfg: Config) -> None:
    for name in README_NAMES:
        setattr(cfg, name, "5038" if "PORT" in name else "value")
        expected = 5038 if "PORT" in name else "value"
        assert getattr(cfg, name) == expected


def test_readme_block_runs_as_written() -> None:
    from asteramisk.config import config

    try:
        config.ASTERISK_HOST = "127.0.0.1"
        config.ASTERISK_AMI_PORT = 5038
        config.ASTERISK_AMI_USER = "yourusername"
        config.ASTERISK_AMI_PASS = "yourpassword"
        config.ASTERISK_ARI_PORT = 8088
        config.ASTERISK_TTS_SOUNDS_SUBDIR = "asteramisk"
        config.AGI_SERVER_PORT = 4753
        assert config.ASTERISK_AMI_PORT == 5038
    finally:
        config.reset()


def test_defaults(cfg: Config) -> None:
    assert cfg.ASTERISK_HOST == "127.0.0.1"
    assert cfg.AGI_SERVER_HOST == "127.0.0.1"
    assert cfg.AGI_SERVER_PORT == 4753
    assert cfg.ASTERISK_TTS_SOUNDS_SUBDIR == "asteramisk"
    assert cfg.ASTERISK_SOUNDS_DIR == "/usr/share/asterisk/sounds"


def test_environment_is_read_when_used_not_at_import(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cfg.ASTERISK_AMI_PORT == 5038
    monkeypatch.setenv("ASTERISK_AMI_PORT", "15038")
    assert cfg.ASTERISK_AMI_PORT == 15038
    assert isinstance(cfg.ASTERISK_AMI_PORT, int)


def test_code_wins_over_environment(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTERISK_HOST", "10.9.9.9")
    cfg.ASTERISK_HOST = "127.0.0.1"
    assert cfg.ASTERISK_HOST == "127.0.0.1"
    del cfg.ASTERISK_HOST
    assert cfg.ASTERISK_HOST == "10.9.9.9"


def test_missing_required_names_variable_and_both_ways(cfg: Config) -> None:
    with pytest.raises(ConfigurationError) as info:
        _ = cfg.ASTERISK_AMI_PASS
    message = str(info.value)
    assert "ASTERISK_AMI_PASS" in message
    assert "config.ASTERISK_AMI_PASS = " in message
    assert "export ASTERISK_AMI_PASS=" in message


@pytest.mark.parametrize("value", ["80a", "", "0", "70000", "-1", 3.5, True])
def test_malformed_port(cfg: Config, monkeypatch: pytest.MonkeyPatch, value: object) -> None:
    cfg.ASTERISK_ARI_PORT = value
    with pytest.raises(ConfigurationError, match="ASTERISK_ARI_PORT is malformed"):
        _ = cfg.ASTERISK_ARI_PORT


def test_malformed_port_from_environment_names_source(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGI_SERVER_PORT", "forty")
    with pytest.raises(ConfigurationError, match="environment variable AGI_SERVER_PORT"):
        _ = cfg.AGI_SERVER_PORT


def test_secret_is_never_shown(cfg: Config) -> None:
    cfg.ASTERISK_AMI_PASS = "s3cr3t\nAction: Originate"
    with pytest.raises(ConfigurationError) as info:
        _ = cfg.ASTERISK_AMI_PASS
    assert "s3cr3t" not in str(info.value)
    cfg.ASTERISK_ARI_PASS = "hunter2"
    assert "hunter2" not in repr(cfg)


def test_crlf_refused_in_strings(cfg: Config) -> None:
    cfg.ASTERISK_AMI_USER = "me\r\nAction: Originate"
    with pytest.raises(ConfigurationError, match="CR, LF"):
        _ = cfg.ASTERISK_AMI_USER


def test_typo_is_an_attribute_error_with_suggestion(cfg: Config) -> None:
    with pytest.raises(AttributeError, match="Did you mean ASTERISK_AMI_PORT"):
        cfg.ASTERISK_AMI_PROT = 5038
    with pytest.raises(AttributeError):
        _ = cfg.NOT_A_VARIABLE


def test_validate_reports_first_problem(cfg: Config) -> None:
    cfg.ASTERISK_AMI_USER = "u"
    with pytest.raises(ConfigurationError, match="ASTERISK_AMI_PASS"):
        cfg.validate("ASTERISK_AMI_USER", "ASTERISK_AMI_PASS")
