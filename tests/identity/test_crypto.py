import base64
import os

import numpy as np
import pytest

from sotay_identity.crypto import (
    SealedDataInvalid,
    Sealer,
    embedding_from_bytes,
    embedding_to_bytes,
)


def test_a_sealed_template_opens_with_its_key_and_context_only() -> None:
    key = os.urandom(32)
    sealer = Sealer.from_base64(base64.b64encode(key).decode())
    embedding = np.random.default_rng(1).normal(size=128).astype(np.float32)

    sealed = sealer.seal(embedding_to_bytes(embedding), "template:a")

    assert embedding_to_bytes(embedding) not in sealed
    assert np.array_equal(embedding_from_bytes(sealer.open(sealed, "template:a")), embedding)
    with pytest.raises(SealedDataInvalid):
        sealer.open(sealed, "template:b")  # moved to another record
    with pytest.raises(SealedDataInvalid):
        Sealer(os.urandom(32)).open(sealed, "template:a")  # another key
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealedDataInvalid):
        sealer.open(bytes(tampered), "template:a")


def test_sealing_twice_gives_different_blobs() -> None:
    sealer = Sealer.generate()
    assert sealer.seal(b"same", "c") != sealer.seal(b"same", "c")


def test_the_key_must_be_256_bits_of_base64() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer.from_base64(base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(ValueError, match="base64"):
        Sealer.from_base64("not base64!")
