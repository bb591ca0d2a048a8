"""Public keys that verify an application's consent receipts."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import ECKey, OKPKey

VerifyKey = OKPKey | ECKey


class UnusableKey(ValueError):
    """A registered key cannot serve: wrong type, curve, or private material."""


def load_public_key(jwk: dict[str, Any] | None = None, pem: str | None = None) -> VerifyKey:
    """A public Ed25519 (OKP) or P-256 (EC) key from a JWK object or a PEM text.

    Private keys are refused: an application registers only what verifies its receipts.
    """
    try:
        if jwk is not None:
            if "d" in jwk:
                raise UnusableKey("a private key was given where a public key is expected")
            kty = jwk.get("kty")
            if kty == "OKP":
                key: Any = OKPKey.import_key(jwk)
            elif kty == "EC":
                key = ECKey.import_key(jwk)
            else:
                raise UnusableKey("only OKP (Ed25519) and EC (P-256) keys are accepted")
        elif pem is not None:
            key = _import_pem(pem)
        else:
            raise UnusableKey("a key needs a jwk or a pem")
    except UnusableKey:
        raise
    except Exception as exc:
        raise UnusableKey(f"unreadable key ({exc.__class__.__name__})") from None
    if key.is_private:
        raise UnusableKey("a private key was given where a public key is expected")
    if isinstance(key, OKPKey) and key.curve_name == "Ed25519":
        return key
    if isinstance(key, ECKey) and key.curve_name == "P-256":
        return key
    raise UnusableKey("only Ed25519 and P-256 keys are accepted")


def _import_pem(pem: str) -> Any:
    data = pem.encode("ascii")
    for key_type in (OKPKey, ECKey):
        try:
            return key_type.import_key(data)
        except Exception:  # noqa: S112 - try the next key type
            continue
    raise UnusableKey("the PEM text is neither an Ed25519 nor an EC public key")


def public_jwk(key: VerifyKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def thumbprint(key: VerifyKey) -> str:
    """RFC 7638 thumbprint: the default ``kid`` of a key registered without one."""
    return str(key.thumbprint())
