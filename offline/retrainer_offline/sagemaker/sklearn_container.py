"""SageMaker's scikit-learn serving container and serial inference pipelines, in-process.

Two documented contracts the deployed model (a serial pipeline: the feature model Preprocess wrote,
then built-in XGBoost; sagemaker_jobs/INPUT_CONTRACT.md) relies on:

- The scikit-learn serving container ("Deploy a Scikit-learn model", sagemaker-python-sdk
  doc/frameworks/sklearn/using_sklearn.rst; sagemaker-scikit-learn-container `serving.py`): the
  model artifact is extracted to `/opt/ml/model`, the user script `$SAGEMAKER_SUBMIT_DIRECTORY/
  $SAGEMAKER_PROGRAM` is imported, `model_fn(model_dir)` is called once, then per request
  `input_fn(request_body, request_content_type)` -> `predict_fn(input_data, model)` ->
  `output_fn(prediction, accept)`; an `output_fn` that returns a `(body, content_type)` tuple sets
  the response's content type (else it is the Accept). An exception in a handler answers 500 with
  the traceback (sagemaker-containers `_transformer.Transformer.transform`).
- Serial inference pipelines ("Host models along with pre-processing logic as serial inference
  pipeline behind one endpoint", docs.aws.amazon.com/sagemaker/latest/dg/inference-pipelines.html;
  `CreateModel` `Containers` with `InferenceExecutionConfig.Mode` `Serial`): the first container takes
  the client's request, each intermediate response is the next container's request (its body and
  content type), the last container's response is the client's; an error in any container ends the
  request with that container's status.

`load_model` is the one entry for endpoints and batch transform: one container is served as it
was (built-in XGBoost, `serving.py`), several as a pipeline.
"""

from __future__ import annotations

import importlib.util
import io
import tarfile
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from retrainer_offline.sagemaker.serving import ModelLoadError, load_model_server

SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
SUPPORTED_SKLEARN_TAGS = {"1.2-1-cpu-py3"}
MODEL_DIR = "/opt/ml/model"
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn")


class ModelServer(Protocol):
    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[int, bytes, str]: ...


def is_sklearn_image(image: str) -> bool:
    repository, _, tag = image.rpartition("/")[2].partition(":")
    return repository == SKLEARN_REPOSITORY and tag in SUPPORTED_SKLEARN_TAGS


class SklearnServer:
    """One feature model answering invocations the way the scikit-learn 1.2-1 serving container does."""

    def __init__(self, module: ModuleType, model: Any) -> None:
        self.module = module
        self.model = model

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[int, bytes, str]:
        wanted = accept or "text/csv"
        try:
            data = self.module.input_fn(body, content_type)
            prediction = self.module.predict_fn(data, self.model)
            answer = self.module.output_fn(prediction, wanted)
        except Exception:  # the container answers every handler error with a 500
            return 500, traceback.format_exc().encode(), "text/plain"
        output, output_type = answer if isinstance(answer, tuple) else (answer, wanted)
        return 200, output.encode() if isinstance(output, str) else bytes(output), str(output_type)


class SerialPipeline:
    """`InferenceExecutionConfig.Mode: Serial`: each container's response is the next one's request."""

    def __init__(self, containers: list[ModelServer]) -> None:
        self.containers = containers

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[int, bytes, str]:
        status, output, output_type = 200, body, content_type
        for container in self.containers:
            status, output, output_type = container.invoke(output, output_type, accept)
            if status >= 400:
                break
        return status, output, output_type


_loaded: dict[str, SklearnServer] = {}
_lock = threading.Lock()
_workdirs: list[tempfile.TemporaryDirectory[str]] = []


def _scratch() -> Path:
    """Where endpoints extract feature models (made on first use: a job process extracts into its folder)."""
    if not _workdirs:
        _workdirs.append(tempfile.TemporaryDirectory(prefix="retrainer-sklearn-models-"))
    return Path(_workdirs[0].name)


def load_sklearn(
    model_data_url: str,
    environment: dict[str, str],
    read_object: Callable[[str], bytes],
    model_dir: Path | None = None,
) -> SklearnServer:
    """Extract the artifact to `model_dir` (what /opt/ml/model is; a temporary folder by default), import
    the program, call `model_fn` once per model."""
    program = environment.get("SAGEMAKER_PROGRAM", "")
    submit_dir = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", f"{MODEL_DIR}/code")
    key = f"{model_data_url}|{submit_dir}|{program}|{model_dir}"
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if not program:
            raise ModelLoadError("the scikit-learn container needs SAGEMAKER_PROGRAM (the inference script)")
        model_dir = model_dir or _scratch() / str(len(_loaded))
        _extract(model_data_url, read_object, model_dir)
        script = model_dir / submit_dir.removeprefix(MODEL_DIR).lstrip("/") / program
        module = _import(script, f"retrainer_offline_sklearn_program_{len(_loaded)}")
        try:
            model = module.model_fn(str(model_dir))
        except Exception as exc:
            raise ModelLoadError(f"model_fn of {program} failed: {exc}") from exc
        _loaded[key] = SklearnServer(module, model)
        return _loaded[key]


def _extract(model_data_url: str, read_object: Callable[[str], bytes], target: Path) -> None:
    try:
        archive = read_object(model_data_url)
    except Exception as exc:
        raise ModelLoadError(f"cannot read model data {model_data_url}: {exc}") from exc
    target.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(target, filter="data")
    except tarfile.TarError as exc:
        raise ModelLoadError(f"{model_data_url} is not a model.tar.gz: {exc}") from exc


def _import(script: Path, name: str) -> ModuleType:
    if not script.is_file():
        raise ModelLoadError(f"the model artifact has no {script.name} under its code directory")
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {script.name}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ModelLoadError(f"importing {script.name} failed: {exc}") from exc
    missing = [handler for handler in HANDLERS if not hasattr(module, handler)]
    if missing:  # the container's defaults expect a pickled estimator; the feature model defines all four
        raise ModelLoadError(f"{script.name} does not define {', '.join(missing)}")
    return module


def load_container(
    container: dict[str, Any], read_object: Callable[[str], bytes], batch: bool = False, model_dir: Path | None = None
) -> ModelServer:
    image = container.get("Image", "")
    if is_sklearn_image(image):
        url, environment = container.get("ModelDataUrl", ""), container.get("Environment") or {}
        return load_sklearn(url, environment, read_object, model_dir)
    return load_model_server(
        image, container.get("ModelDataUrl", ""), container.get("Environment") or {}, read_object, batch
    )


def load_model(
    containers: list[dict[str, Any]],
    read_object: Callable[[str], bytes],
    batch: bool = False,
    model_root: Path | None = None,
) -> ModelServer:
    """A model's containers as one server: a single container as is, several as a serial pipeline
    (`InferenceExecutionConfig.Mode` Serial). Container i's /opt/ml/model is `model_root/i` when given."""
    if not containers:
        raise ModelLoadError("the model has no container")
    servers = [
        load_container(container, read_object, batch, model_root / str(index) if model_root else None)
        for index, container in enumerate(containers)
    ]
    return servers[0] if len(servers) == 1 else SerialPipeline(servers)


def model_containers(model: Any) -> list[dict[str, Any]]:
    """A moto model's containers in order: PrimaryContainer, else Containers."""
    if model.primary_container:
        return [dict(model.primary_container)]
    return [dict(container) for container in model.containers or []]
