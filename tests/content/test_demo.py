import unicodedata

from sotay_common.events.content import DocumentKind
from sotay_content.demo import load_demo_documents
from sotay_content.documents import validate_document_number
from sotay_content.markup import validate_body


def test_demo_corpus_is_complete_and_valid() -> None:
    documents = load_demo_documents()

    kinds = [d.kind for d in documents]
    assert kinds.count(DocumentKind.REGULATION) == 2
    assert {DocumentKind.RESOLUTION, DocumentKind.NEWS, DocumentKind.STUDY_TOPIC} <= set(kinds)
    assert len({d.slug for d in documents}) == len(documents)
    for document in documents:
        assert unicodedata.is_normalized("NFC", document.body)
        assert unicodedata.is_normalized("NFC", document.title)
        assert validate_body(document.body)
        validate_document_number(document.kind, document.number)
        assert "hư cấu" in document.body  # never mistaken for a real document
