import numpy as np
import pytest

from sotay_assistant.dense import DIMENSION, DenseEncoder

pytestmark = pytest.mark.xdist_group("assistant-model")


def test_vectors_are_normalised_and_relevant_passages_score_higher(encoder: DenseEncoder) -> None:
    question = encoder.query("đảng viên đóng đảng phí bao nhiêu")
    passages = encoder.passages(
        [
            "Mức đóng đảng phí hằng tháng của đảng viên là 1% tiền lương.",
            "Đội tuyển bóng đá thắng 2-0 trong trận chung kết.",
        ]
    )
    assert question.shape == (DIMENSION,)
    assert passages.shape == (2, DIMENSION)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    relevant, unrelated = passages @ question
    assert relevant > unrelated + 0.05


def test_no_passages_give_an_empty_matrix(encoder: DenseEncoder) -> None:
    assert encoder.passages([]).shape == (0, DIMENSION)
