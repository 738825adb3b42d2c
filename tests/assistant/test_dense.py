import numpy as np
import pytest
from threadpoolctl import threadpool_info

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


def test_latent_terms_are_normalised_and_shared_by_related_texts(encoder: DenseEncoder) -> None:
    question, related, unrelated, again = encoder.latent_terms(
        [
            "đảng viên đóng đảng phí bao nhiêu",
            "Mức đóng đảng phí hằng tháng của đảng viên là 1% tiền lương.",
            "Đội tuyển bóng đá thắng 2-0 trong trận chung kết.",
            "đảng viên đóng đảng phí bao nhiêu",
        ]
    )
    assert 0 < len(question.indices) <= 256
    assert question.indices == sorted(question.indices)
    assert abs(question.dot(again) - 1.0) < 1e-4
    assert question.dot(related) > question.dot(unrelated) + 0.1


def test_numpys_blas_runs_as_many_threads_as_the_engine(encoder: DenseEncoder) -> None:
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas  # numpy's OpenBLAS is loaded
    assert all(pool["num_threads"] == 1 for pool in blas)
