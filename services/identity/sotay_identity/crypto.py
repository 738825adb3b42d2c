"""Encryption at rest of face templates and of eKYC images kept for a review.

AES-256-GCM with a random 96-bit nonce per message. The record a blob belongs to (e.g.
"template:<account id>") is bound as associated data, so a blob copied onto another record
does not decrypt. The key comes from the environment only (IDENTITY_TEMPLATE_KEY).
"""

from __future__ import annotations

import base64
import binascii
import os

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SealedDataInvalid", "Sealer", "embedding_from_bytes", "embedding_to_bytes"]

_FORMAT = b"\x01"  # room for a key rotation: a new format byte per key generation
_NONCE_BYTES = 12


class SealedDataInvalid(Exception):
    """A blob that does not decrypt with this key and context (tampered, or misplaced)."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("an AES-256 key is 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, text: str) -> Sealer:
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except binascii.Error as exc:
            raise ValueError("the template key must be base64 (of 32 bytes)") from exc
        return cls(key)

    @classmethod
    def generate(cls) -> Sealer:
        return cls(AESGCM.generate_key(bit_length=256))

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        if not blob.startswith(_FORMAT) or len(blob) < 1 + _NONCE_BYTES + 16:
            raise SealedDataInvalid("not a sealed blob of this format")
        nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode())
        except InvalidTag as exc:
            raise SealedDataInvalid("wrong key, wrong context or tampered") from exc


def embedding_to_bytes(embedding: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(embedding, dtype="<f4").tobytes()


def embedding_from_bytes(data: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)
