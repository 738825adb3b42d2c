import uuid
from pathlib import Path

import pytest

from sotay_assistant.dense import DenseEncoder
from sotay_assistant.index import (
    DEFAULT_COLLECTION,
    LAYOUT,
    FusionSettings,
    PassageIndex,
    SearchScope,
)
from sotay_assistant.memory import KnownQuestion, passage_key
from sotay_assistant.retrieval import IndexOutcome, KnowledgeBase
from sotay_common.events.content import DocumentKind, DocumentPublishedV1
from tests.assistant.support import demo_document, published_event, write_index_of_layout_1

pytestmark = pytest.mark.xdist_group("assistant-model")

FIRST = """Điều 1. Sinh hoạt chi bộ
1. Chi bộ họp định kỳ mỗi tháng một lần; bí thư nhắc nhở người vắng.
2. Đảng viên vắng mặt phải báo cáo bí thư chi bộ.

Điều 2. Đảng phí
1. Đảng viên đóng đảng phí hằng tháng tại chi bộ.
"""
SECOND = FIRST.replace(
    "1. Đảng viên đóng đảng phí hằng tháng tại chi bộ.",
    "1. Đảng viên đóng đảng phí theo quý tại chi bộ.\n2. Đảng viên được miễn đảng phí khi ốm đau.",
)


def regulation(
    body: str, version: int = 1, organization_id: uuid.UUID | None = None
) -> DocumentPublishedV1:
    rules = demo_document("quy-dinh-sinh-hoat-chi-bo")
    return published_event(rules, version=version, body=body, organization_id=organization_id)


def anchors(knowledge: KnowledgeBase) -> dict[str, str]:
    return {p.chunk.anchor: p.chunk.text for p in knowledge.index.stored_passages()}


def test_same_content_hash_is_detected_and_older_versions_ignored(
    empty_knowledge: KnowledgeBase,
) -> None:
    first = regulation(FIRST)
    assert empty_knowledge.index_document(first).outcome is IndexOutcome.INDEXED
    indexed = empty_knowledge.indexed_document(first.document_id)
    assert indexed is not None
    assert indexed.content_hash == first.content_hash
    assert indexed.passages == 3
    assert empty_knowledge.index_document(first).outcome is IndexOutcome.UNCHANGED
    republished = regulation(FIRST, version=2)
    assert empty_knowledge.index_document(republished).outcome is IndexOutcome.UNCHANGED
    assert empty_knowledge.indexed_document(first.document_id).version == 2  # type: ignore[union-attr]
    assert (
        empty_knowledge.index_document(regulation(SECOND, version=1)).outcome is IndexOutcome.STALE
    )


def test_replacing_a_version_removes_the_old_chunks_and_reuses_unchanged_vectors(
    empty_knowledge: KnowledgeBase,
) -> None:
    empty_knowledge.index_document(regulation(FIRST))
    report = empty_knowledge.index_document(regulation(SECOND, version=2))
    assert report.outcome is IndexOutcome.INDEXED
    assert report.passages == 4
    assert report.reused_vectors == 2
    stored = anchors(empty_knowledge)
    assert set(stored) == {"dieu-1-khoan-1", "dieu-1-khoan-2", "dieu-2-khoan-1", "dieu-2-khoan-2"}
    assert "hằng tháng" not in stored["dieu-2-khoan-1"]
    assert empty_knowledge.statistics.passages == 4
    hits = empty_knowledge.search("đảng phí đóng hằng tháng").hits
    assert all(hit.chunk.version == 2 for hit in hits)


def test_removing_a_document_makes_it_uncitable(empty_knowledge: KnowledgeBase) -> None:
    first = regulation(FIRST)
    empty_knowledge.index_document(first)
    assert empty_knowledge.remove_document(first.document_id) == 3
    assert empty_knowledge.search("chi bộ họp mấy lần").hits == []
    assert empty_knowledge.indexed_document(first.document_id) is None
    assert empty_knowledge.statistics.passages == 0
    assert not empty_knowledge.restorer.knows("nhac")  # no question phrase seeds it


def test_search_scope_limits_documents_kinds_and_organisations(
    empty_knowledge: KnowledgeBase,
) -> None:
    district = uuid.uuid4()
    scoped = regulation(FIRST, organization_id=district)
    public = published_event(demo_document("tin-trien-khai-so-tay"))
    empty_knowledge.index_document(scoped)
    empty_knowledge.index_document(public)

    def documents(scope: SearchScope) -> set[uuid.UUID]:
        return {hit.chunk.document_id for hit in empty_knowledge.search("chi bộ", scope=scope).hits}

    assert documents(SearchScope(organizations=(uuid.uuid4(),))) == {public.document_id}
    assert documents(SearchScope(organizations=(district,))) == {
        public.document_id,
        scoped.document_id,
    }
    assert documents(SearchScope(kinds=(DocumentKind.REGULATION,))) == {scoped.document_id}
    assert documents(SearchScope(document_ids=(public.document_id,))) == {public.document_id}
    for scope in (
        SearchScope(organizations=(uuid.uuid4(),)),
        SearchScope(organizations=(district,)),
        SearchScope(organizations=()),
        SearchScope(kinds=(DocumentKind.REGULATION,)),
        SearchScope(document_ids=(public.document_id,), organizations=(district,)),
    ):  # what the search asks of Qdrant, and what it asks of the passages it adds itself
        admitted = {
            p.chunk.document_id
            for p in empty_knowledge.index.stored_passages()
            if scope.admits(p.chunk)
        }
        assert admitted == documents(scope), scope


def test_a_passage_known_questions_point_to_is_a_candidate_while_it_is_stored(
    encoder: DenseEncoder,
) -> None:
    # one candidate from each retriever, so that the others are not fused candidates
    knowledge = KnowledgeBase(PassageIndex.connect(), encoder, fusion=FusionSettings(candidates=1))
    event = regulation(FIRST)
    knowledge.index_document(event)
    absent = "1. Chi bộ họp định kỳ mỗi tháng một lần; bí thư nhắc nhở người vắng."
    question = "đảng phí đóng hằng tháng"
    assert all(hit.chunk.text != absent for hit in knowledge.candidates(question).hits)
    knowledge.remember([KnownQuestion("answer:1", "đảng phí đóng ở đâu", passage_key(absent))])

    def remembered(scope: SearchScope | None = None) -> list[tuple[int, float]]:
        hits = knowledge.candidates(question, scope=scope).hits
        assert all(hit.fused > 0 for hit in hits if hit.chunk.text != absent)
        return [(hit.chunk.version, hit.fused) for hit in hits if hit.chunk.text == absent]

    assert remembered() == [(1, 0.0)]
    added = knowledge.candidates(question).hits[-1]
    assert added.dense > 0.5
    assert added.latent > 0
    assert remembered(SearchScope(kinds=(DocumentKind.NEWS,))) == []
    knowledge.index_document(regulation(SECOND, version=2))  # the passage is unchanged
    assert remembered() == [(2, 0.0)]
    knowledge.remove_document(event.document_id)
    assert knowledge.candidates(question).hits == []
    knowledge.index.close()


def test_local_folder_keeps_the_index_and_statistics_are_rebuilt_on_open(
    tmp_path: Path, encoder: DenseEncoder
) -> None:
    folder = str(tmp_path / "qdrant")
    writer = KnowledgeBase(PassageIndex.connect(path=folder), encoder)
    writer.index_document(regulation(FIRST))
    expected = (
        writer.statistics.passages,
        writer.statistics.total_length,
        dict(writer.statistics.document_frequency),
    )
    top = writer.search("dang vien vang mat").hits[0].chunk.anchor
    writer.index.close()

    reader = KnowledgeBase(PassageIndex.connect(path=folder), encoder)
    statistics = reader.statistics
    assert (
        statistics.passages,
        statistics.total_length,
        dict(statistics.document_frequency),
    ) == expected
    assert reader.search("dang vien vang mat").hits[0].chunk.anchor == top == "dieu-1-khoan-2"
    reader.index.close()


def test_a_collection_of_an_earlier_layout_answers_until_the_new_one_is_built(
    tmp_path: Path, encoder: DenseEncoder
) -> None:
    folder = str(tmp_path / "qdrant")
    write_index_of_layout_1(folder, encoder, regulation(FIRST))
    knowledge = KnowledgeBase(PassageIndex.connect(path=folder), encoder)
    assert knowledge.rebuilding
    assert knowledge.indexed_hashes() == {}  # the new collection, for the indexer to fill
    answered = knowledge.search("đảng viên vắng mặt báo cáo ai").hits
    assert answered[0].chunk.anchor == "dieu-1-khoan-2"
    assert answered[0].latent == 0.0  # the old collection has no latent terms

    knowledge.index_document(regulation(SECOND, version=2))  # the indexer's work
    assert "theo quý" not in anchors(knowledge)["dieu-2-khoan-1"]  # still the old collection
    assert knowledge.finish_rebuild()
    assert not knowledge.index.rebuilding  # (not the property: mypy keeps it narrowed)
    assert not knowledge.finish_rebuild()
    assert "theo quý" in anchors(knowledge)["dieu-2-khoan-1"]
    assert knowledge.statistics.passages == 4  # counted afresh from the new collection
    assert knowledge.search("đảng viên vắng mặt báo cáo ai").hits[0].latent > 0
    aliases = knowledge.index.client.get_aliases().aliases
    assert [(a.alias_name, a.collection_name) for a in aliases] == [
        (DEFAULT_COLLECTION, f"{DEFAULT_COLLECTION}-layout{LAYOUT}")
    ]
    knowledge.index.close()

    reopened = KnowledgeBase(PassageIndex.connect(path=folder), encoder)
    assert not reopened.rebuilding
    assert "theo quý" in anchors(reopened)["dieu-2-khoan-1"]
    reopened.index.close()


def test_a_document_archived_during_a_rebuild_is_no_longer_cited(
    tmp_path: Path, encoder: DenseEncoder
) -> None:
    folder = str(tmp_path / "qdrant")
    event = regulation(FIRST)
    write_index_of_layout_1(folder, encoder, event)
    knowledge = KnowledgeBase(PassageIndex.connect(path=folder), encoder)
    assert knowledge.search("đảng phí hằng tháng").hits
    knowledge.remove_document(event.document_id)
    assert knowledge.search("đảng phí hằng tháng").hits == []
    knowledge.index.close()


def test_a_new_folder_answers_through_the_alias_of_the_current_layout() -> None:
    index = PassageIndex.connect()
    assert not index.rebuilding
    aliases = index.client.get_aliases().aliases
    assert [(a.alias_name, a.collection_name) for a in aliases] == [
        (DEFAULT_COLLECTION, f"{DEFAULT_COLLECTION}-layout{LAYOUT}")
    ]
    index.close()
