from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from api_particulier import hookimpl
from api_particulier.app import create_app
from api_particulier.errors import ConfigError
from api_particulier.settings import Secret, load_settings

from .support import EchoProvider


class NeedsSecret(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "https://example.invalid/"
    timeout: float = 1.0
    token: Secret | None = None


class SecretPlugin:
    @hookimpl
    def config_schema(self) -> type[NeedsSecret]:
        return NeedsSecret


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_configuration_means_embedded_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)})
    assert settings.embedded
    assert settings.data_dir == tmp_path
    assert all(settings.is_enabled(name) for name in ("dgfip", "cnaf", "consent", "ratelimit"))
    assert not settings.is_enabled("someone-elses-plugin")


def test_file_says_exactly_what_is_enabled(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'enabled = ["dgfip"]\n'), environ={})
    assert settings.is_enabled("dgfip")
    assert not settings.is_enabled("cnaf")
    disabled = load_settings(
        write(tmp_path, 'enabled = ["dgfip"]\n'),
        environ={"API_PARTICULIER_DISABLE_PLUGINS": "dgfip"},
    )
    assert not disabled.is_enabled("dgfip")


def test_every_error_is_reported_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    path = write(
        tmp_path,
        f"""
enabled = ["needs"]
[core]
data_dir = "{tmp_path}"
[plugins.needs]
timeout = "slow"
[plugins.typo]
x = 1
""",
    )
    with pytest.raises(ConfigError) as caught:
        create_app(load_settings(path, environ={}), plugins={"needs": SecretPlugin()})
    problems = caught.value.problems
    assert any("[plugins.typo]" in p for p in problems)
    assert any("[plugins.needs]" in p and "timeout" in p for p in problems)


def test_unknown_core_key_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="colour"):
        load_settings(write(tmp_path, '[core]\ncolour = "blue"\n'), environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "enabled = [\n"), environ={})
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_secrets_are_referenced_and_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    monkeypatch.setenv("NEEDS_TOKEN", "s3cr3t-value")
    path = write(
        tmp_path,
        f"""
enabled = ["needs"]
[core]
data_dir = "{tmp_path}"
[plugins.needs]
token = {{ env = "NEEDS_TOKEN" }}
""",
    )
    settings = load_settings(path, environ={})
    create_app(settings, plugins={"needs": SecretPlugin()})
    config = settings.plugin_config("needs")
    assert config.token.reveal() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings.dump())
    assert settings.dump()["plugins"]["needs"]["token"] == {"env": "NEEDS_TOKEN"}

    inline = write(
        tmp_path,
        f"""
enabled = ["needs"]
[core]
data_dir = "{tmp_path}"
[plugins.needs]
token = "inline-secret"
""",
    )
    with pytest.raises(ConfigError, match="token"):
        create_app(load_settings(inline, environ={}), plugins={"needs": SecretPlugin()})


def test_route_collision_is_a_boot_error(tmp_path: Path) -> None:
    settings = load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="/api/v2/echo"):
        create_app(settings, plugins={"a": EchoProvider(), "b": EchoProvider()})


def test_enabled_but_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PARTICULIER_PEPPER", "p" * 40)
    path = write(tmp_path, f'enabled = ["nowhere"]\n[core]\ndata_dir = "{tmp_path}"\n')
    with pytest.raises(ConfigError, match="nowhere"):
        create_app(load_settings(path, environ={}))


def test_a_file_must_say_what_is_enabled(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="enabled"):
        load_settings(write(tmp_path, "[core]\nport = 9000\n"), environ={})


def test_every_bad_key_of_one_table_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, 'enabled = []\n[core]\nport = -1\nworkers = 0\nlog_level = "loud"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    text = " ".join(caught.value.problems)
    for key in ("port", "workers", "log_level"):
        assert f"$.{key}" in text


def test_workers_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"API_PARTICULIER_WORKERS": "4"})
    assert settings.core.workers == 4
    with pytest.raises(ConfigError, match="workers"):
        load_settings(environ={"API_PARTICULIER_WORKERS": "many"})
