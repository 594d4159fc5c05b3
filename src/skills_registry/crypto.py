"""Secrets derived from SECRET_KEY: ID-number encryption, keyed hashes for look-up and API keys.

One master secret, separate derived keys per purpose (HKDF), so a leaked index key
cannot decrypt and the encryption key never touches a hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cached_property

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"skills-registry",
        info=purpose.encode(),
    ).derive(secret.encode())


class IdNumberKeys:
    """The two keys an ID number needs: the keyed index and AES-GCM encryption.

    All an upload's row-checking worker (imports.worker) is given: picklable as the two
    derived keys, never the master secret the API-key and session hashes come from.
    """

    def __init__(self, index_key: bytes, encryption_key: bytes) -> None:
        self._index_key = index_key
        self._encryption_key = encryption_key

    def __reduce__(self) -> tuple[type[IdNumberKeys], tuple[bytes, bytes]]:
        return (IdNumberKeys, (self._index_key, self._encryption_key))

    @cached_property
    def _id_cipher(self) -> AESGCM:
        return AESGCM(self._encryption_key)

    @cached_property
    def _index_hmac(self) -> hmac.HMAC:
        return hmac.new(self._index_key, digestmod=hashlib.sha256)

    def id_number_index(self, material: str) -> str:
        # Copying a keyed HMAC skips re-deriving the pads (uploads call this once a row).
        mac = self._index_hmac.copy()
        mac.update(material.encode())
        return mac.hexdigest()

    def encrypt_id_number(self, number: str, associated: str) -> str:
        """AES-GCM; `associated` binds the ciphertext to its row's index so rows cannot be swapped."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._id_cipher.encrypt(nonce, number.encode(), associated.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt_id_number(self, token: str, associated: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return self._id_cipher.decrypt(nonce, sealed, associated.encode()).decode()


class Secrets:
    def __init__(self, secret_key: str) -> None:
        self._secret_key = secret_key

    def __reduce__(self) -> tuple[type[Secrets], tuple[str]]:
        raise TypeError("Secrets hold the master key and are never pickled (see IdNumberKeys)")

    @cached_property
    def id_number_keys(self) -> IdNumberKeys:
        return IdNumberKeys(
            _derive(self._secret_key, "id-number-index-v1"),
            _derive(self._secret_key, "id-number-encryption-v1"),
        )

    @cached_property
    def _api_key_key(self) -> bytes:
        return _derive(self._secret_key, "api-key-hash-v1")

    @cached_property
    def _session_key(self) -> bytes:
        return _derive(self._secret_key, "session-v1")

    def encrypt_id_number(self, number: str, associated: str) -> str:
        return self.id_number_keys.encrypt_id_number(number, associated)

    def decrypt_id_number(self, token: str, associated: str) -> str:
        return self.id_number_keys.decrypt_id_number(token, associated)

    def id_number_index(self, material: str) -> str:
        return self.id_number_keys.id_number_index(material)

    def api_key_hash(self, api_key: str) -> str:
        return hmac.new(self._api_key_key, api_key.encode(), hashlib.sha256).hexdigest()

    def session_hash(self, token: str) -> str:
        return hmac.new(self._session_key, token.encode(), hashlib.sha256).hexdigest()

    @cached_property
    def _blob_key(self) -> bytes:
        return _derive(self._secret_key, "blob-encryption-v1")

    def encrypt_blob(self, data: bytes, associated: str = "") -> bytes:
        """AES-GCM for data at rest that holds personal data (e.g. an upload's error sheet).

        `associated` binds the ciphertext to its owner (a batch id), so blobs cannot be swapped.
        """
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self._blob_key).encrypt(nonce, data, associated.encode())

    def decrypt_blob(self, blob: bytes, associated: str = "") -> bytes:
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return AESGCM(self._blob_key).decrypt(nonce, sealed, associated.encode())
