"""Worker processes that load one model through the handler contract and serve it; no AWS here.

Two stacks that share nothing: ``container`` is the SageMaker container (``endpointlab
container``: a preforking HTTP supervisor), ``fork`` the emulator's instances (workers forked
from a preloaded fork server, driven over Unix sockets, held to their CPU and memory).
"""
