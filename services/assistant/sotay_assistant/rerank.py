"""Second stage over the fused candidates: give back the scores that rank fusion drops.

RRF in Qdrant ranks by positions only, so a passage that BM25 ranks second by a hair and one it
ranks second far behind the first count the same. Among the top `depth` fused passages, each
gets its fused score plus how close its BM25 score comes to the best BM25 score of the
candidates, plus how far its e5 cosine falls below the best cosine (e5 cosines of relevant
passages differ by hundredths). Chosen on the dev split of the evaluation set (a ridge of
equally good weights, sparse_weight * 33 ≈ dense_gap_weight; the middle is taken); see
bench/assistant.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sotay_assistant.index import Hit


@dataclass(frozen=True, slots=True)
class RerankSettings:
    depth: int = 10
    sparse_weight: float = 0.3
    dense_gap_weight: float = 10.0


def rerank(hits: Sequence[Hit], settings: RerankSettings) -> list[Hit]:
    """The first `depth` hits in their new order, then the rest as they were."""
    head, tail = list(hits[: settings.depth]), list(hits[settings.depth :])
    if len(head) < 2:
        return [*head, *tail]
    best_sparse = max(hit.sparse for hit in head) or 1.0
    best_dense = max(hit.dense for hit in head)

    def score(hit: Hit) -> float:
        return (
            hit.fused
            + settings.sparse_weight * hit.sparse / best_sparse
            + settings.dense_gap_weight * (hit.dense - best_dense)
        )

    return [*sorted(head, key=score, reverse=True), *tail]
