"""The local cloud: SageMaker control plane and runtime, CloudWatch, autoscaling and S3, emulated.

Requests flow one way, wire -> services -> control / endpoints -> workers; ``workers`` serve one
model through the handler contract and know nothing about AWS.
"""
