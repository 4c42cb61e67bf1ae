"""Asynchronous inference (AsyncInferenceConfig): requests wait in a durable queue in the data
directory and run on the variant's instances; results and failures go to S3, notifications to a
JSONL file, Prometheus and optionally an HTTP endpoint. Only ``endpoints.kinds`` imports it."""
