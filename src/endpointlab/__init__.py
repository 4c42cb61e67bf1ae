"""endpointlab: a local SageMaker inference emulator and a benchmark pipeline for hosting."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("endpointlab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
