"""The load engine: load shapes, a signing runtime client and the asyncio runner.

It reaches endpoints only through HTTP with the SageMaker runtime API's semantics (and boto3
for the control plane) and writes ``endpointlab.results`` records; it never imports the
emulator.
"""
