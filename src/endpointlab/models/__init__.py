"""Model artifacts as SageMaker takes them: archives, the inference-handler contract, examples."""
