"""The ``image-classifier`` network as an ONNX graph built with ``onnx.helper`` (opset 17).

Fixed convolutions: designed 5x5 filters (oriented edges, centre-surround, colour), then a
VGG-like stack of seeded 3x3 layers in four stages joined by 2x2 max pooling. The global average
of every stage is concatenated into ``features``; a fitted Gemm + Softmax head turns them into
``probabilities``. The only input is ``image``, ``(batch, 3, size, size)`` with a symbolic batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

INPUT_NAME = "image"
FEATURES_NAME = "features"
OUTPUT_NAME = "probabilities"
OPSET = 17
IR_VERSION = 8  # the IR of opset 17, readable by every onnxruntime since 1.13
FIRST_FILTERS = 32
# Output channels of the 3x3 convolutions of each stage; a 2x2 max pool follows all but the last.
STAGES: tuple[tuple[int, ...], ...] = (
    (64, 64, 64, 64, 64),
    (128, 128, 128, 128),
    (192, 192),
    (256,),
)
# How much seeded noise the deeper filters add to passing their input channels through; small
# enough that the designed first-layer responses survive to every stage's pooled features.
MIX_NOISE = 0.3

Weights = np.ndarray[Any, np.dtype[np.float32]]


def feature_extractor(size: int, seed: int) -> Any:
    """An ``onnx.ModelProto`` mapping ``image`` to ``features``: every stage's pooled channels."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    graph = _GraphBuilder()
    first = designed_filters(rng)
    # Centre the [0, 1] input inside the first bias: w * (x - 0.5) = w * x - 0.5 * sum(w).
    graph.conv(first, (-0.5 * first.sum(axis=(1, 2, 3))).astype(np.float32))
    graph.global_pool()
    for stage, widths in enumerate(STAGES):
        for width in widths:
            graph.conv(mixing_filters(rng, width, graph.channels), np.zeros(width, np.float32))
        graph.global_pool()
        if stage < len(STAGES) - 1:
            graph.max_pool()
    graph.nodes.append(helper.make_node("Concat", graph.pooled, [FEATURES_NAME], axis=1))
    width = sum(graph.pooled_widths)
    return helper.make_model(
        helper.make_graph(
            graph.nodes,
            "image-classifier",
            [
                helper.make_tensor_value_info(
                    INPUT_NAME, TensorProto.FLOAT, ["batch", 3, size, size]
                )
            ],
            [helper.make_tensor_value_info(FEATURES_NAME, TensorProto.FLOAT, ["batch", width])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="endpointlab",
    )


@dataclass
class _GraphBuilder:
    """Appends layers to a growing list of ONNX nodes, tracking the current tensor and width."""

    current: str = INPUT_NAME
    channels: int = 3
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)
    pooled: list[str] = field(default_factory=list)
    pooled_widths: list[int] = field(default_factory=list)

    def conv(self, weight: Weights, bias: Weights) -> None:
        """A same-padded convolution followed by a ReLU."""
        from onnx import helper, numpy_helper

        name = f"conv{len(self.initializers) // 2}"
        self.initializers.append(numpy_helper.from_array(weight, f"{name}.weight"))
        self.initializers.append(numpy_helper.from_array(bias, f"{name}.bias"))
        inputs = [self.current, f"{name}.weight", f"{name}.bias"]
        self.nodes.append(
            helper.make_node("Conv", inputs, [name], pads=[weight.shape[-1] // 2] * 4)
        )
        self.nodes.append(helper.make_node("Relu", [name], [f"{name}.relu"]))
        self.current, self.channels = f"{name}.relu", int(weight.shape[0])

    def max_pool(self) -> None:
        """Halve the resolution with a 2x2 max pool."""
        from onnx import helper

        name = f"maxpool{len(self.pooled)}"
        self.nodes.append(
            helper.make_node("MaxPool", [self.current], [name], kernel_shape=[2, 2], strides=[2, 2])
        )
        self.current = name

    def global_pool(self) -> None:
        """Record the current tensor's per-channel means as a side output for ``features``."""
        from onnx import helper

        name = f"gap{len(self.pooled)}"
        self.nodes.append(helper.make_node("GlobalAveragePool", [self.current], [name]))
        self.nodes.append(helper.make_node("Flatten", [name], [f"{name}.flat"], axis=1))
        self.pooled.append(f"{name}.flat")
        self.pooled_widths.append(self.channels)


def with_classifier_head(extractor: Any, weight: Weights, bias: Weights) -> Any:
    """A copy of ``extractor`` whose output is ``softmax(features @ weight.T + bias)``.

    ``weight`` has shape (classes, features). The result's only output is ``probabilities``.
    """
    from onnx import TensorProto, helper, numpy_helper

    model = type(extractor)()
    model.CopyFrom(extractor)
    graph = model.graph
    graph.initializer.extend(
        [numpy_helper.from_array(weight, "head.weight"), numpy_helper.from_array(bias, "head.bias")]
    )
    graph.node.extend(
        [
            helper.make_node(
                "Gemm", [FEATURES_NAME, "head.weight", "head.bias"], ["logits"], transB=1
            ),
            helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=1),
        ]
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", weight.shape[0]])
    )
    return model


def designed_filters(rng: np.random.Generator) -> Weights:
    """FIRST_FILTERS 5x5 filters over RGB, each of unit L2 norm.

    Gabor-like edges (4 orientations, 2 phases, 2 frequencies) on luminance, centre-surround
    (both signs), colour-opponent blobs, plain colour means, and seeded zero-mean random filters.
    """
    rows, cols = np.mgrid[-2:3, -2:3].astype(np.float64)
    envelope = np.exp(-(rows**2 + cols**2) / (2 * 1.5**2))
    luminance = np.full(3, 1.0 / 3.0)
    kernels: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    for wavelength in (4.0, 8.0):
        for angle in np.deg2rad([0.0, 45.0, 90.0, 135.0]):
            along = rows * np.cos(angle) + cols * np.sin(angle)
            for phase in (0.0, np.pi / 2):
                wave = envelope * np.cos(2 * np.pi * along / wavelength + phase)
                kernels.append(luminance[:, None, None] * (wave - wave.mean()))
    surround = envelope / envelope.sum() - np.full((5, 5), 1.0 / 25.0)
    kernels += [sign * luminance[:, None, None] * surround for sign in (1.0, -1.0)]
    for opponent in ([1.0, -1.0, 0.0], [0.5, 0.5, -1.0], [-1.0, 1.0, 0.0], [-0.5, -0.5, 1.0]):
        kernels.append(np.asarray(opponent)[:, None, None] * envelope)
    for colour in [*np.eye(3).tolist(), luminance.tolist()]:
        kernels.append(np.asarray(colour)[:, None, None] * envelope)
    while len(kernels) < FIRST_FILTERS:
        noise = rng.standard_normal((3, 5, 5))
        kernels.append(noise - noise.mean())
    stack = np.stack(kernels)
    stack /= np.linalg.norm(stack.reshape(len(stack), -1), axis=1)[:, None, None, None]
    return stack.astype(np.float32)


def mixing_filters(rng: np.random.Generator, width: int, channels: int) -> Weights:
    """3x3 filters that pass input channel ``o % channels`` to output ``o`` plus He-scaled noise."""
    scale = np.sqrt(2.0 / (channels * 9))
    weight = rng.standard_normal((width, channels, 3, 3)) * scale * MIX_NOISE
    weight[np.arange(width), np.arange(width) % channels, 1, 1] += 1.0
    return np.asarray(weight, dtype=np.float32)
