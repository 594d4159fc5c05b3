"""Ed25519 signing keys in KEYS_DIR, compact JWS (EdDSA, RFC 8037) and the JWK set.

Layout of KEYS_DIR (shared by every app server):

    <kid>.pem   one PKCS#8 private key per file, mode 0600, never rewritten
    current     the kid that signs new tokens (replaced atomically on rotation)

Old keys stay in the directory and keep verifying. The crypto is pyjwt's EdDSA over
`cryptography`; this module only manages files and claims.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"
CURRENT_FILE = "current"
_KID = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_MAX_TOKEN_LENGTH = 2048
_RELOAD_INTERVAL_SECONDS = 5.0


class NoSigningKeyError(RuntimeError):
    """KEYS_DIR holds no usable current key (run `skills-registry migrate`)."""


class InvalidTokenError(ValueError):
    """The token is malformed, signed by an unknown key, or its signature does not verify."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint_kid(public: Ed25519PublicKey) -> str:
    """The first 11 characters of the RFC 7638 JWK thumbprint: short (QR size) and stable."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_public_raw(public))},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())[:11]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def jwk(self) -> dict[str, str]:
        jwk = OKPAlgorithm.to_jwk(self.public, as_dict=True)
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": str(jwk["x"]),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.link(tmp, path)  # never overwrites an existing key file
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_current(keys_dir: Path, kid: str) -> None:
    tmp = keys_dir / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    tmp.write_text(kid + "\n", encoding="ascii")
    os.replace(tmp, keys_dir / CURRENT_FILE)


def _read_keys(keys_dir: Path) -> tuple[dict[str, SigningKey], str | None]:
    keys: dict[str, SigningKey] = {}
    if not keys_dir.is_dir():
        return keys, None
    for path in sorted(keys_dir.glob("*.pem")):
        kid = path.stem
        if not _KID.fullmatch(kid):
            continue
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(loaded, Ed25519PrivateKey):
            keys[kid] = SigningKey(kid, loaded)
    current_path = keys_dir / CURRENT_FILE
    current = current_path.read_text("ascii").strip() if current_path.is_file() else None
    return keys, current if current in keys else None


def create_signing_key(keys_dir: Path) -> str:
    """Add a new key and make it current; the old ones keep verifying. Returns its kid."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(keys_dir, 0o700)
    private = Ed25519PrivateKey.generate()
    kid = thumbprint_kid(private.public_key())
    _write_private(keys_dir / f"{kid}.pem", private)
    _write_current(keys_dir, kid)
    return kid


def ensure_signing_key(keys_dir: Path) -> str | None:
    """Create a key when KEYS_DIR has no current one; the new kid, or None when one existed."""
    keys, current = _read_keys(keys_dir)
    if current is not None:
        return None
    if keys:  # keys but no valid pointer: point at the newest file rather than add one
        newest = max(keys, key=lambda kid: (keys_dir / f"{kid}.pem").stat().st_mtime)
        _write_current(keys_dir, newest)
        return newest
    return create_signing_key(keys_dir)


class KeyStore:
    """The keys of KEYS_DIR, re-read when another server may have rotated them."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = Path(keys_dir)
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._current: str | None = None
        self._loaded_at = 0.0
        self.reload()

    def reload(self) -> None:
        keys, current = _read_keys(self.keys_dir)
        with self._lock:
            self._keys, self._current, self._loaded_at = keys, current, time.monotonic()

    def _reload_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at >= _RELOAD_INTERVAL_SECONDS:
            self.reload()

    @property
    def has_current(self) -> bool:
        return self._current is not None

    @property
    def current_kid(self) -> str | None:
        return self._current

    def kids(self) -> list[str]:
        return sorted(self._keys)

    def current(self) -> SigningKey:
        self._reload_if_stale()  # pick up a rotation made by another server or the CLI
        if self._current is None:
            raise NoSigningKeyError(
                f"{self.keys_dir} 中没有签名密钥，请先运行 skills-registry migrate"
                " / no signing key: run `skills-registry migrate`"
            )
        return self._keys[self._current]

    def key(self, kid: str) -> SigningKey | None:
        found = self._keys.get(kid)
        if found is None:
            self._reload_if_stale()
            found = self._keys.get(kid)
        return found

    def sign(self, claims: dict[str, Any]) -> tuple[str, str]:
        """A compact JWS over the claims (UTF-8 JSON, no spaces); returns (token, kid)."""
        key = self.current()
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
        token = jwt.api_jws.encode(
            payload,
            key.private,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": None},
        )
        return token, key.kid

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token signed by one of our keys; InvalidTokenError otherwise."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidTokenError("token length")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("bad encoding") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidTokenError("wrong algorithm or no kid")
        key = self.key(kid)
        if key is None:
            raise InvalidTokenError("unknown kid")
        try:
            payload = jwt.api_jws.decode(token, key.public, algorithms=[ALGORITHM])
            claims = json.loads(payload)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidTokenError("bad signature or payload") from exc
        if not isinstance(claims, dict):
            raise InvalidTokenError("payload is not an object")
        return claims

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        self._reload_if_stale()
        ordered = sorted(self._keys.values(), key=lambda k: k.kid != self._current)
        return {"keys": [key.jwk() for key in ordered]}
