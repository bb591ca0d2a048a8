"""Reading an application's stored policy."""

from __future__ import annotations

from typing import Any

import pytest
from api_particulier_consent.policy import PolicyCache, PolicyError, compile_policy
from joserfc.jwk import ECKey

from .support import ed25519, p256, public


def test_no_policy_takes_the_default() -> None:
    policy = compile_policy(None, ["identifiers"])
    assert policy.evidence == ("identifiers",)
    assert not policy.recipient_required


def test_franceconnect_always_requires_the_recipient() -> None:
    policy = compile_policy({"evidence": ["franceconnect"]}, ["identifiers"])
    assert policy.recipient_required


def test_keys_by_kid_or_thumbprint_and_pem() -> None:
    signer, other = ed25519(), p256()
    pem = other.as_pem(private=False).decode()
    policy = compile_policy(
        {
            "evidence": ["receipt"],
            "public_keys": [{"kid": "a", "jwk": public(signer)}, {"pem": pem}],
        },
        ["identifiers"],
    )
    assert set(policy.keys) == {"a", ECKey.import_key(pem.encode()).thumbprint()}


@pytest.mark.parametrize(
    "raw",
    [
        {"evidence": ["sms"]},
        {"evidence": ["receipt"]},  # no key to verify with
        {"evidnce": ["receipt"]},  # a typo is not silently ignored
        {"evidence": ["receipt"], "public_keys": [{"kid": "a", "jwk": {"kty": "RSA", "n": "x"}}]},
        {"evidence": ["receipt"], "public_keys": [{"kid": "a", "pem": "garbage"}]},
        {"recipient_required": "yes please"},
        "receipt",
    ],
)
def test_unusable_policies(raw: Any) -> None:
    with pytest.raises(PolicyError):
        compile_policy(raw, ["identifiers"])


def test_private_keys_are_refused() -> None:
    private = dict(ed25519().as_dict(private=True))
    with pytest.raises(PolicyError, match="private"):
        compile_policy(
            {"evidence": ["receipt"], "public_keys": [{"jwk": private}]}, ["identifiers"]
        )


def test_duplicate_kid() -> None:
    entry = {"kid": "a", "jwk": public(ed25519())}
    with pytest.raises(PolicyError, match="twice"):
        compile_policy({"evidence": ["receipt"], "public_keys": [entry, entry]}, ["identifiers"])


def test_cache_follows_changes() -> None:
    cache = PolicyCache(["identifiers"])
    assert cache.get("app", None).evidence == ("identifiers",)
    assert cache.get("app", {"evidence": ["franceconnect"]}).evidence == ("franceconnect",)
    with pytest.raises(PolicyError):
        cache.get("app", {"evidence": ["nope"]})
    with pytest.raises(PolicyError):
        cache.get("app", {"evidence": ["nope"]})
