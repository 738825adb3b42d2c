import uuid

from sotay_voice.links import link_is_valid, link_signature

KEY = b"k" * 32
DOCUMENT = uuid.uuid4()


def test_a_link_opens_its_document_in_its_format_until_it_expires() -> None:
    signature = link_signature(KEY, DOCUMENT, "opus", 1000)
    assert link_is_valid(KEY, DOCUMENT, "opus", 1000, signature, now=999)
    assert not link_is_valid(KEY, DOCUMENT, "opus", 1000, signature, now=1001)
    assert not link_is_valid(KEY, DOCUMENT, "mp3", 1000, signature, now=999)
    assert not link_is_valid(KEY, uuid.uuid4(), "opus", 1000, signature, now=999)
    assert not link_is_valid(KEY, DOCUMENT, "opus", 2000, signature, now=999)
    assert not link_is_valid(b"other", DOCUMENT, "opus", 1000, signature, now=999)
