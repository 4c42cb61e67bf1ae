"""``endpointlab bench``: plans, targets (local emulator or AWS), the deploy-load-teardown
runner and the run directory. Reaches endpoints only through boto3 and the load engine."""
