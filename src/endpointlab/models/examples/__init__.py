"""Example models built reproducibly from synthetic data, ready to deploy and to benchmark.

``rtb-ctr`` is an XGBoost click-through model (sub-millisecond, CSV); ``image-classifier`` is an
ONNX CNN (tens of milliseconds, JSON). ``build_examples`` writes each one's ``model.tar.gz`` and
sample ``invoke_args.jsonl``; ``list_examples`` names them.
"""

from endpointlab.models.examples.latency import measure_predict_latency
from endpointlab.models.examples.registry import (
    EXAMPLES,
    build_examples,
    get_example,
    list_examples,
)
from endpointlab.models.examples.spec import BuiltExample, ExampleSpec, InvokeArgs

__all__ = [
    "EXAMPLES",
    "BuiltExample",
    "ExampleSpec",
    "InvokeArgs",
    "build_examples",
    "get_example",
    "list_examples",
    "measure_predict_latency",
]
