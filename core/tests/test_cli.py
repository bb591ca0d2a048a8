"""The command line: keys, plugins, configuration, journal, and serve on embedded defaults."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from api_particulier import hookimpl, keys
from api_particulier.cli import main
from api_particulier.testing import stop_serving, wait_until_serving

KEY_PATTERN = re.compile(r"apip_[0-9A-Za-z]{49}")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    monkeypatch.setenv("API_PARTICULIER_LOG_FORMAT", "json")
    # Only the core: these tests must not depend on which provider plugins are installed.
    monkeypatch.setenv(
        "API_PARTICULIER_DISABLE_PLUGINS", "dgfip,cnaf,consent,ratelimit,transparency"
    )
    return tmp_path


def test_keys_create_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "keys",
                "create",
                "--name",
                "mairie",
                "--scope",
                "a",
                "--scope",
                "b",
                "--siret",
                "21750001600019",
                "--setting",
                "ratelimit.quota=5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert keys.is_well_formed(key)
    assert main(["keys", "create", "--name", "mairie", "--expires", "2099-01-01"]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second != key

    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key not in listing and second not in listing
    assert listing.count("mairie") == 2
    assert "2099-01-01" in listing
    key_id = listing.splitlines()[0].split()[0]

    assert main(["keys", "revoke", key_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", key_id]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and len(error.strip().splitlines()) == 1


def test_bad_arguments_give_one_clear_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys", "create", "--name", "x", "--expires", "tomorrow"])
    assert exited.value.code == 2
    assert "is not a date" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "x", "--setting", "nodot"]) == 2
    assert "PLUGIN.KEY=VALUE" in capsys.readouterr().err


def test_config_check_and_errors(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0
    assert '"core"' in capsys.readouterr().out
    bad = data_dir / "bad.toml"
    bad.write_text("enabled = []\n[plugins.nothing]\nx = 1\n")
    assert main(["--config", str(bad), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error:") and "[plugins.nothing]" in err


def test_plugins_prints_the_plan(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "plan:" in out
    assert re.search(r"authenticate\s+keyauth", out)
    # The journal is part of the core: it is no plugin, and the plan does not show it.
    assert "journal" not in out


def test_journal_purge(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal", "purge"]) == 0
    assert "0 journal rows" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_prints_a_working_demo_key(tmp_path: Path) -> None:
    """The README's first command, as a deployer runs it: embedded defaults, demo key."""
    port = _free_port()
    env = {
        **os.environ,
        "API_PARTICULIER_DATA_DIR": str(tmp_path),
        "API_PARTICULIER_LOG_FORMAT": "json",
    }
    env.pop("API_PARTICULIER_CONFIG", None)
    env.pop("API_PARTICULIER_DISABLE_PLUGINS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "api_particulier", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        key = None
        deadline = time.monotonic() + 60
        lines = []
        while key is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if found := KEY_PATTERN.search(line):
                key = found.group(0)
        assert key is not None, "".join(lines)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        introspect = httpx.get(url + "/api/introspect", headers={"X-Api-Key": key})
        assert introspect.status_code == 200
        assert introspect.json()["name"] == "demo"
        assert introspect.json()["scopes"]
        assert httpx.get(url + "/api/introspect").status_code == 401
    finally:
        stop_serving(process, stop_signal=signal.SIGINT, timeout=20)
        if process.stderr is not None:
            process.stderr.close()


def test_apps_list_show_and_set(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--name", "caf-de-paris", "--scope", "a"]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "apps",
                "set",
                "caf-de-paris",
                "--add-scope",
                "b",
                "--remove-scope",
                "a",
                "--setting",
                "ratelimit.quota=5",
                "--setting",
                'consent.evidence=["receipt"]',
                "--siret",
                "21750001600019",
                "--recipients",
                "service des affaires scolaires",
                "--expires",
                "2099-12-31",
            ]
        )
        == 0
    )
    assert "scopes: b" in capsys.readouterr().out
    assert main(["apps", "show", "caf-de-paris"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["scopes"] == ["b"]
    assert shown["siret"] == "21750001600019"
    assert shown["recipients"] == "service des affaires scolaires"
    assert shown["settings"] == {"ratelimit": {"quota": 5}, "consent": {"evidence": ["receipt"]}}
    assert len(shown["keys"]) == 1 and "digest" not in shown["keys"][0]
    assert main(["apps", "set", "caf-de-paris", "--unset", "ratelimit.quota"]) == 0
    capsys.readouterr()
    assert main(["apps", "show", "caf-de-paris"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"] == {"consent": {"evidence": ["receipt"]}}
    assert main(["apps", "list"]) == 0
    assert "caf-de-paris" in capsys.readouterr().out
    assert main(["apps", "show", "nobody"]) == 1
    assert capsys.readouterr().err == "error: no application named 'nobody'\n"


def test_plugins_check_application_settings_before_they_are_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bundled plugins, enabled by the embedded defaults, each check their own part.
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    monkeypatch.delenv("API_PARTICULIER_DISABLE_PLUGINS", raising=False)
    assert main(["keys", "create", "--name", "m", "--setting", "ratelimit.quota=0"]) == 2
    assert "ratelimit.quota" in capsys.readouterr().err
    assert main(["apps", "list"]) == 0
    assert "m" not in capsys.readouterr().out.split()  # nothing was saved
    assert main(["keys", "create", "--name", "m", "--setting", "ratelimit.quota=5"]) == 0
    capsys.readouterr()
    assert main(["apps", "set", "m", "--setting", 'consent.evidence=["receipt"]']) == 2
    assert "key" in capsys.readouterr().err
    assert main(["apps", "show", "m"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"] == {"ratelimit": {"quota": 5}}


class _FailingStart:
    @hookimpl
    async def startup(self) -> None:
        raise FileNotFoundError("/etc/secret/path-that-must-not-be-shown")


def test_a_failing_start_is_one_line_and_status_2(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """config check starts every plugin once: a plugin that cannot start fails it as it
    would fail serve, in one line, without the exception's text."""
    monkeypatch.setattr(
        "api_particulier.app.load_enabled", lambda settings: {"broken": _FailingStart()}
    )
    assert main(["config", "check"]) == 2
    lines = capsys.readouterr().err.splitlines()
    # (Before it, the embedded mode's notice that a pepper was generated.)
    assert lines[-1] == "configuration error: plugin 'broken' failed to start (FileNotFoundError)"
    assert not any("secret" in line or "Traceback" in line for line in lines)


def test_app_client_raises_the_same_one_line_error(tmp_path: Path) -> None:
    from api_particulier.app import StartupError
    from api_particulier.testing import app_client, make_settings

    async def scenario() -> None:
        async with app_client(make_settings(tmp_path), plugins={"broken": _FailingStart()}):
            pass

    with pytest.raises(StartupError) as caught:
        anyio.run(scenario)
    assert caught.value.problems == ["plugin 'broken' failed to start (FileNotFoundError)"]
