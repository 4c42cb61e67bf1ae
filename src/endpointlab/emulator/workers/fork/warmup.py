"""What the fork server does once, so that each worker forked from it does not: imports, warm-up.

A worker's memory is mostly pages it shares with the fork server. Whatever a worker has to
initialise itself is private to it, and so is every page of the fork server it writes to. So the
fork server imports the model libraries and then runs the whole inference path once on a tiny
XGBoost model of its own (``warm_up``): lazily imported modules, XGBoost's native globals, the
codecs' paths and numpy's caches are then set up in pages every worker shares. Nothing of any
worker's model is loaded here: each worker still loads its own model after the fork, and that is
its cold start. Measured on ``rtb-ctr``: 0.8 to 1 MB less private memory per worker.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

# Imported whatever ``serve --preload`` says: what every worker runs.
ALWAYS = (
    "threadpoolctl",
    "endpointlab.models.contract",
    "endpointlab.emulator.workers.fork.framed_child",
)
# One row of the warm-up model's features, in each request format the codecs decode.
_FEATURES = 4
_ROW = ",".join(["1.5"] * _FEATURES)


def preload(libraries: Sequence[str], stop: Callable[[], bool] = lambda: False) -> bool:
    """Import ``libraries`` and what every worker needs (a missing optional one is skipped);
    False when ``stop()`` said to give up between two imports."""
    for name in (*libraries, *ALWAYS):
        if stop():
            return False
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    return True


def warm_up() -> None:
    """Load a tiny XGBoost model through the handler contract and invoke it in every request
    format, if XGBoost was preloaded. Model-independent state only: the model is the fork
    server's own and discarded. A failure here costs workers memory, not correctness: it is
    reported and ignored."""
    if "xgboost" not in sys.modules:
        return
    try:
        _warm_up()
    except Exception:  # the fork server must start whatever happens here
        print("endpointlab fork server: warm-up failed (workers are unaffected)", file=sys.stderr)
        traceback.print_exc()


def _warm_up() -> None:
    import io

    import numpy as np
    import xgboost

    from endpointlab.models import codecs
    from endpointlab.models.contract import InvocationRequest, load_handler

    # nthread=1: the fork server must never start an OpenMP thread team (a forked child cannot
    # use one it inherited), so that workers can start their own with more threads.
    rows = np.arange(8 * _FEATURES, dtype=np.float32).reshape(8, _FEATURES)
    labels = (rows[:, 0] > rows[:, 0].mean()).astype(np.float32)
    train = xgboost.DMatrix(rows, label=labels, nthread=1)
    params = {"objective": "binary:logistic", "max_depth": 2, "nthread": 1, "verbosity": 0}
    booster = xgboost.train(params, train, num_boost_round=2)
    npy = io.BytesIO()
    np.save(npy, np.ones((1, _FEATURES)), allow_pickle=False)
    requests = [
        (_ROW.encode() + b"\n", codecs.CSV),
        (f"[[{_ROW}]]".encode(), codecs.JSON),
        (npy.getvalue(), codecs.NPY),
    ]
    with tempfile.TemporaryDirectory(prefix="endpointlab-warm-up-") as directory:
        booster.save_model(str(Path(directory) / "xgboost-model.ubj"))
        handler = load_handler(Path(directory), {}, 1)
        for body, content_type in requests:
            for accept in (codecs.CSV, codecs.JSON, codecs.NPY):
                handler.invoke(InvocationRequest(body, content_type, accept))
