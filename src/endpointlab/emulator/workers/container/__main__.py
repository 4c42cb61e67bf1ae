"""``python -m endpointlab.emulator.workers.container MODEL_TAR_GZ``: one container, as configured.

Settings come from the SAGEMAKER_* environment variables a real container reads
(SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MODEL_SERVER_WORKERS, SAGEMAKER_MODEL_SERVER_TIMEOUT, ...);
the URL is printed once every worker answers pings. ``endpointlab container`` is the user entry.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from endpointlab.config import ContainerSettings, SettingsError
from endpointlab.emulator.workers.container.run import run_container
from endpointlab.models.errors import ArtifactError

USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(
            "usage: python -m endpointlab.emulator.workers.container MODEL_TAR_GZ", file=sys.stderr
        )
        return USAGE_ERROR
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return run_container(Path(args[0]), ContainerSettings.from_env())
    except (ArtifactError, SettingsError) as exc:
        print(f"endpointlab: error: {exc}", file=sys.stderr, flush=True)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
