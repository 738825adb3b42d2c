import uuid

from sotay_assistant.chunking import Chunk
from sotay_assistant.index import Hit
from sotay_assistant.rerank import RerankSettings, rerank
from sotay_common.events.content import DocumentKind


def hit(anchor: str, fused: float, dense: float, sparse: float) -> Hit:
    chunk = Chunk(
        document_id=uuid.uuid4(),
        version=1,
        content_hash="h",
        kind=DocumentKind.REGULATION,
        document_title="Điều lệ mẫu",
        source_name="Điều lệ mẫu",
        organization_id=None,
        seq=0,
        anchor=anchor,
        dieu="1",
        dieu_title=None,
        khoan="1",
        section=None,
        start=0,
        end=1,
        text="x",
        embed_text="x",
    )
    return Hit(chunk=chunk, fused=fused, dense=dense, sparse=sparse)


def anchors(hits: list[Hit]) -> list[str]:
    return [h.chunk.anchor for h in hits]


def test_a_far_better_keyword_match_overtakes_a_rank_neighbour() -> None:
    hits = [
        hit("a", fused=0.88, dense=0.916, sparse=16.4),  # first by rank only
        hit("b", fused=0.87, dense=0.916, sparse=34.6),  # BM25 twice as sure
        hit("c", fused=0.42, dense=0.905, sparse=16.2),
    ]
    assert anchors(rerank(hits, RerankSettings())) == ["b", "a", "c"]


def test_close_scores_keep_the_fused_order_and_hits_past_the_depth_stay_put() -> None:
    hits = [
        hit("a", fused=0.88, dense=0.913, sparse=22.9),
        hit("b", fused=0.79, dense=0.910, sparse=24.6),
        hit("c", fused=0.30, dense=0.990, sparse=99.0),
    ]
    assert anchors(rerank(hits, RerankSettings(depth=2))) == ["a", "b", "c"]
    assert rerank([], RerankSettings()) == []
