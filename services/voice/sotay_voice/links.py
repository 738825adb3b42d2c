"""Signed audio links: a browser's <audio> element cannot send a bearer token, so a caller who
may hear a document gets a URL that carries its own short-lived permission (HMAC-SHA256 of the
document, the format and the expiry). A link opens that document's file and stream in that
format until it expires, and nothing else."""

import hashlib
import hmac
import uuid


def link_signature(key: bytes, document_id: uuid.UUID, audio_format: str, expires: int) -> str:
    """`audio_format`: the value of the `format` query parameter (opus, mp3)."""
    message = f"{document_id}:{audio_format}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def link_is_valid(
    key: bytes,
    document_id: uuid.UUID,
    audio_format: str,
    expires: int,
    signature: str,
    *,
    now: float,
) -> bool:
    if expires < now:
        return False
    expected = link_signature(key, document_id, audio_format, expires)
    return hmac.compare_digest(expected, signature)
