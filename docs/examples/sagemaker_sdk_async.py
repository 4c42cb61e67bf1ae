"""The SageMaker Python SDK (v2) against `endpointlab serve`: asynchronous inference as its docs
show it. Not run by the test suite (the SDK is heavy and not a dependency of endpointlab).

    python3 -m venv /tmp/sdkvenv && /tmp/sdkvenv/bin/pip install "sagemaker<3"
    uv run endpointlab serve --port 4599 --data-dir /tmp/sdk-data &
    export AWS_ENDPOINT_URL=http://127.0.0.1:4599 AWS_DEFAULT_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    /tmp/sdkvenv/bin/python docs/examples/sagemaker_sdk_async.py [MODEL_TAR_GZ]

MODEL_TAR_GZ: a model.tar.gz whose code/inference.py takes and returns JSON; without it a small
echo model is packed in /tmp; the SDK uploads it to the emulator's S3. The SDK needs
``Session(default_bucket=...)`` and an explicit role: it sends STS calls to sts.amazonaws.com
whatever AWS_ENDPOINT_URL says. ``TRACE=1`` prints every API call the SDK makes.
"""

import io
import os
import sys
import tarfile

import boto3
import sagemaker
from sagemaker.async_inference import AsyncInferenceConfig, WaiterConfig
from sagemaker.deserializers import JSONDeserializer
from sagemaker.model import Model
from sagemaker.predictor import Predictor
from sagemaker.serializers import JSONSerializer

BUCKET = "sdk-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"  # recorded only
WAIT = WaiterConfig(max_attempts=60, delay=0.5)
ECHO_MODEL = b"""import json


def model_fn(model_dir):
    return "echo"


def transform_fn(model, data, content_type, accept):
    return json.dumps({"model": model, "echo": json.loads(data)}), "application/json"
"""


def echo_archive(path: str = "/tmp/sdk-echo-model.tar.gz") -> str:
    with tarfile.open(path, "w:gz") as archive:
        entry = tarfile.TarInfo("code/inference.py")
        entry.size = len(ECHO_MODEL)
        archive.addfile(entry, io.BytesIO(ECHO_MODEL))
    return path


boto_session = boto3.Session(region_name="us-east-1")
if os.environ.get("TRACE"):

    def _trace(http_response, model, **_):
        print(f"  [{model.service_model.service_name}.{model.name} {http_response.status_code}]")

    boto_session.events.register("after-call", _trace)
session = sagemaker.Session(boto_session=boto_session, default_bucket=BUCKET)
archive = sys.argv[1] if len(sys.argv) > 1 else echo_archive()
model_data = session.upload_data(archive, key_prefix="model")  # creates the bucket

model = Model(
    image_uri=IMAGE,
    model_data=model_data,
    role=ROLE,
    sagemaker_session=session,
    predictor_cls=Predictor,
)
predictor = model.deploy(
    initial_instance_count=1,
    instance_type="ml.m5.large",
    async_inference_config=AsyncInferenceConfig(
        output_path=f"s3://{BUCKET}/out", failure_path=f"s3://{BUCKET}/failed"
    ),
    serializer=JSONSerializer(),
    deserializer=JSONDeserializer(),
)
print(type(predictor).__name__, predictor.endpoint_name)  # AsyncPredictor

# The SDK uploads the input, calls InvokeEndpointAsync, then polls S3 for the output.
response = predictor.predict_async(data={"x": 1})
print("output:", response.output_path, "failure:", response.failure_path)
print("get_result:", response.get_result(WAIT))

# An input already in S3.
boto_session.client("s3").put_object(Bucket=BUCKET, Key="inputs/two.json", Body=b'{"x": 2}')
response = predictor.predict_async(input_path=f"s3://{BUCKET}/inputs/two.json")
print("get_result (input_path):", response.get_result(WAIT))

# predict() waits for the output itself.
print("predict:", predictor.predict({"x": 3}, waiter_config=WAIT))

# One look, no waiter: the result, or ObjectNotExistedError while it is still running.
response = predictor.predict_async(data={"x": 4})
try:
    print("one look:", response.get_result())
except Exception as error:
    print("one look:", type(error).__name__)

predictor.delete_endpoint()
model.delete_model()
print("deleted")
