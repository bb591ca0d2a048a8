from __future__ import annotations

import math
from pathlib import Path

import pytest
from api_particulier import keys
from api_particulier.errors import ConfigError
from api_particulier.settings import Settings, load_settings
from hypothesis import given
from hypothesis import strategies as st


def test_generated_keys_have_prefix_entropy_and_checksum() -> None:
    generated = {keys.generate_key() for _ in range(200)}
    assert len(generated) == 200
    for key in generated:
        assert key.startswith("apip_")
        assert keys.is_well_formed(key)
        # 43 base62 characters carry at least 256 bits.
        assert 43 * math.log2(62) >= 256


SAMPLE_KEY = keys.generate_key()


@given(st.integers(min_value=5, max_value=53), st.sampled_from("0123456789abcXYZ"))
def test_any_single_change_breaks_the_checksum(position: int, replacement: str) -> None:
    key = SAMPLE_KEY
    changed = key[:position] + replacement + key[position + 1 :]
    if changed != key:
        assert not keys.is_well_formed(changed)


@given(st.text(max_size=80))
def test_garbage_is_never_well_formed(text: str) -> None:
    assert keys.is_well_formed(text) is False or text.startswith("apip_")


def test_digest_depends_on_the_pepper() -> None:
    key = keys.generate_key()
    assert keys.digest(b"a" * 32, key) != keys.digest(b"b" * 32, key)
    assert key not in keys.digest(b"a" * 32, key)


def test_embedded_pepper_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(keys.PEPPER_ENV, raising=False)
    settings = load_settings(environ={"API_PARTICULIER_DATA_DIR": str(tmp_path)})
    first = keys.load_pepper(settings)
    assert first == keys.load_pepper(settings)
    assert (tmp_path / "pepper").stat().st_mode & 0o077 == 0


def test_configured_mode_requires_a_pepper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keys.PEPPER_ENV, raising=False)
    config = tmp_path / "c.toml"
    config.write_text(f'enabled = []\n[core]\ndata_dir = "{tmp_path}"\n')
    settings = load_settings(config, environ={})
    with pytest.raises(ConfigError, match="pepper"):
        keys.load_pepper(settings)
    monkeypatch.setenv(keys.PEPPER_ENV, "x" * 40)
    assert keys.load_pepper(settings) == b"x" * 40
    monkeypatch.setenv(keys.PEPPER_ENV, "short")
    with pytest.raises(ConfigError, match="32"):
        keys.load_pepper(Settings(source=config))
