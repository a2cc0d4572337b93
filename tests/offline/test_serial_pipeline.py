"""The deployed model as SageMaker runs it: a serial inference pipeline of the scikit-learn serving
container (Preprocess's feature model) and built-in XGBoost, offline (`sklearn_container.py`).

Pinned contracts: the scikit-learn container ("Deploy a Scikit-learn model", sagemaker-python-sdk
doc/frameworks/sklearn/using_sklearn.rst: `model_fn` once, `input_fn` -> `predict_fn` -> `output_fn` per
request, a `(body, content_type)` answer, a handler exception is a 500); serial pipelines
(docs.aws.amazon.com/sagemaker/latest/dg/inference-pipelines.html: each container's response is the next
one's request, the last one's is the client's); InvokeEndpoint (a model error is ModelError 424 and
counts in the variant's Invocation5XXErrors); data capture records the request as the client sent it.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from botocore.exceptions import ClientError

from retrainer_jobs import preprocess
from retrainer_offline.runtime import OfflineRuntime
from retrainer_offline.sample_data import churn as datasets
from tests.offline.conftest import ROLE, XGBOOST

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture(scope="module")
def pipeline(runtime: OfflineRuntime, bucket: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Preprocess on a churn table, XGBoost trained on its files, both artifacts in S3, one model."""
    root = tmp_path_factory.mktemp("pipeline")
    datasets.write_csv(datasets.table(800, seed=3), root / "input" / "a.csv")
    arguments = ["--input-dir", str(root / "input"), "--output-dir", str(root / "output")]
    arguments += ["--target-column", "churned", "--positive-label", "Yes", "--id-column", "customer_id"]
    assert preprocess.main(arguments) == 0
    train = np.loadtxt(root / "output" / "train" / "train.csv", delimiter=",", ndmin=2)
    booster = xgboost.train({"objective": "binary:logistic"}, xgboost.DMatrix(train[:, 1:], label=train[:, 0]), 10)
    s3 = runtime.client("s3")
    prefix = f"pipeline-{uuid.uuid4().hex[:6]}"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/xgb/model.tar.gz", Body=_xgboost_artifact(booster))
    encoder = (root / "output" / "encoder" / "model.tar.gz").read_bytes()
    s3.put_object(Bucket=bucket, Key=f"{prefix}/encoder/model.tar.gz", Body=encoder)
    test_raw = (root / "output" / "test-raw" / "test.csv").read_text()
    s3.put_object(Bucket=bucket, Key=f"{prefix}/test-raw/test.csv", Body=test_raw.encode())
    name = f"pipeline-{uuid.uuid4().hex[:6]}"
    runtime.client("sagemaker").create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        Containers=[
            {
                "ContainerHostname": "features",
                "Image": SKLEARN,
                "ModelDataUrl": f"s3://{bucket}/{prefix}/encoder/model.tar.gz",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                },
            },
            {
                "ContainerHostname": "xgboost",
                "Image": XGBOOST,
                "ModelDataUrl": f"s3://{bucket}/{prefix}/xgb/model.tar.gz",
            },
        ],
        InferenceExecutionConfig={"Mode": "Serial"},
    )
    schema = json.loads((root / "output" / "schema" / "schema.json").read_text())
    return {"model": name, "prefix": prefix, "columns": [c["name"] for c in schema["columns"]], "test_raw": test_raw}


def _xgboost_artifact(booster: xgboost.Booster) -> bytes:
    raw = bytes(booster.save_raw("json"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def endpoint(runtime: OfflineRuntime, bucket: str, pipeline: dict[str, Any]) -> str:
    sm = runtime.client("sagemaker")
    name = f"raw-{uuid.uuid4().hex[:6]}"
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": pipeline["model"],
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{bucket}/capture-{name}",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 30
    while sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return name


def _invoke(runtime: OfflineRuntime, endpoint: str, body: str, content_type: str, accept: str = "text/csv") -> str:
    response = runtime.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType=content_type, Accept=accept, Body=body
    )
    return str(response["Body"].read().decode())


ROW = {
    "tenure_months": "5",
    "monthly_charges": "79.5",
    "contract": "month-to-month",
    "payment_method": "card",
    "paperless_billing": "Yes",
    "senior": "False",
}


def test_raw_csv_rows_and_json_records_are_scored_by_the_pipeline(
    runtime: OfflineRuntime, endpoint: str, pipeline: dict[str, Any]
) -> None:
    # Given a client's rows as uploaded (text categories, Yes/No, a blank cell), in the upload's column order
    row = ",".join(ROW[c] for c in pipeline["columns"])
    blank = ",".join("" if c == "monthly_charges" else ROW[c] for c in pipeline["columns"])
    # When it sends them as headerless CSV; Then it gets one score per row
    scores = _invoke(runtime, endpoint, f"{row}\n{blank}\n", "text/csv").split()
    assert len(scores) == 2 and all(0.0 <= float(s) <= 1.0 for s in scores)
    # When it sends the same row as a JSON record by name, asking for JSON; Then the same score, as XGBoost's JSON
    answer = json.loads(_invoke(runtime, endpoint, json.dumps([ROW]), "application/json", "application/json"))
    assert answer["predictions"][0]["score"] == pytest.approx(float(scores[0]))


def test_a_category_never_seen_in_training_is_scored_not_refused(
    runtime: OfflineRuntime, endpoint: str, pipeline: dict[str, Any]
) -> None:
    # Given a row with a payment method the model never saw
    row = ",".join("crypto" if c == "payment_method" else ROW[c] for c in pipeline["columns"])
    # When it is sent; Then it is answered (the category encodes as unknown, the shape is unchanged)
    assert 0.0 <= float(_invoke(runtime, endpoint, row, "text/csv")) <= 1.0


def test_a_feature_container_error_is_a_model_error_counted_as_5xx(runtime: OfflineRuntime, endpoint: str) -> None:
    # Given a row with the wrong number of columns
    # When it is sent; Then the scikit-learn container's 500 reaches the client as ModelError (424)
    with pytest.raises(ClientError) as raised:
        _invoke(runtime, endpoint, "1,2,3", "text/csv")
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError" and error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "Received server error (500)" in error["Error"]["Message"] and "columns" in error["Error"]["Message"]
    # And the variant's Invocation5XXErrors counts it
    stats = runtime.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "main"}],
        StartTime=time.time() - 3600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in stats["Datapoints"]) >= 1


def test_data_capture_records_the_raw_request_the_client_sent(
    runtime: OfflineRuntime, bucket: str, endpoint: str, pipeline: dict[str, Any]
) -> None:
    # Given a raw row sent to the endpoint
    row = ",".join(ROW[c] for c in pipeline["columns"])
    _invoke(runtime, endpoint, row, "text/csv")
    # Then the capture holds the row as sent (what Model Monitor compares with the upload), not the features
    s3 = runtime.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"capture-{endpoint}/")["Contents"]]
    records = [json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]
    assert row in [r["captureData"]["endpointInput"]["data"] for r in records]


def test_batch_transform_of_raw_test_rows_keeps_label_and_score(
    runtime: OfflineRuntime, bucket: str, pipeline: dict[str, Any], tmp_path: Path
) -> None:
    # Given the raw test rows (label first), one of them with a quoted comma in a category
    prefix = pipeline["prefix"]
    rows = list(csv.reader(io.StringIO(pipeline["test_raw"])))
    index = pipeline["columns"].index("payment_method") + 1
    rows[0][index] = "card, gold"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    runtime.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/quoted/test.csv", Body=buffer.getvalue().encode())
    sm = runtime.client("sagemaker")
    name = f"raw-transform-{uuid.uuid4().hex[:6]}"
    # When the pipeline model transforms them with the state machine's filters
    sm.create_transform_job(
        TransformJobName=name,
        ModelName=pipeline["model"],
        BatchStrategy="MultiRecord",
        TransformInput={
            "ContentType": "text/csv",
            "SplitType": "Line",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/quoted/"}},
        },
        TransformOutput={
            "S3OutputPath": f"s3://{bucket}/{prefix}/scored",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        TransformResources={"InstanceCount": 1, "InstanceType": "ml.m5.large"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    deadline = time.monotonic() + 60
    while (job := sm.describe_transform_job(TransformJobName=name))["TransformJobStatus"] == "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    # Then every row comes back as `label,score`, the quoted row included
    out = runtime.client("s3").get_object(Bucket=bucket, Key=f"{prefix}/scored/test.csv.out")["Body"].read().decode()
    lines = out.splitlines()
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        label, score = line.split(",")
        assert label == row[0] and 0.0 <= float(score) <= 1.0
