"""Lambda functions run in-process from their code folders, as the Lambda runtime would run them.

moto runs Lambda code in Docker; this replaces `LambdaFunction._invoke_lambda`, the one seam every
path goes through (Step Functions tasks, the Invoke API, rule targets), with an in-process runner:

- the handler module is loaded from the function's code folder under a name unique to the
  function, so two functions whose code is `app.py` never collide (Lambda: one container each);
- the function's environment (from its configuration, as the template set it) plus the runtime's
  own variables (`AWS_LAMBDA_FUNCTION_NAME`, ...) is in `os.environ` while the handler runs;
  `os.environ` is process-wide, so invocations are serialized by one lock;
- an exception comes back in the Lambda runtime's error shape, `{"errorMessage", "errorType",
  "stackTrace"}`, with the function error flag set, so Step Functions matches `errorType` in
  Retry/Catch exactly as on AWS;
- asynchronous invocations run on a worker thread with Lambda's retry policy (2 retries by default,
  `MaximumRetryAttempts` from the event invoke config) and then go to the function's dead-letter
  queue with the `ErrorCode`/`ErrorMessage`/`RequestID` message attributes Lambda sets.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda import models as lambda_models

from retrainer_offline.core import clock
from retrainer_offline.core.background import BackgroundThreads
from retrainer_offline.sagemaker import job_logs

# One lock for the process environment: a handler sees only its own function's variables.
_ENVIRONMENT_LOCK = threading.RLock()
ASYNC_RETRY_DELAYS = (60.0, 120.0)  # Lambda retries an async event after ~1 and ~2 minutes


@dataclass
class FunctionCode:
    function_name: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    module: ModuleType | None = None
    cold_start_seconds: float = 0.0
    # This function's own copies of its layers' modules (their caches, clients, settings): one container each.
    layer_modules: dict[str, ModuleType] = field(default_factory=dict)


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: float
    log_group_name: str = ""
    log_stream_name: str = ""
    function_version: str = "$LATEST"
    _deadline: float = field(default=0.0, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    payload: str
    errored: bool
    logs: str


class LambdaRegistry:
    """Function name -> code, filled by the deployer before anything can invoke a function."""

    def __init__(self) -> None:
        self._functions: dict[str, FunctionCode] = {}
        self._background = BackgroundThreads()
        self.invocations: list[tuple[str, bool]] = []
        self._injected: dict[str, list[tuple[str, str]]] = {}
        self._timeouts: dict[str, list[Callable[[Any], bool] | None]] = {}
        self.logs: dict[str, list[str]] = {}
        self._fresh_layers: set[Path] = set()
        self.dead_letter_targets: dict[str, str] = {}

    def time_out_after_work(
        self, function_name: str, times: int = 1, when: Callable[[Any], bool] | None = None
    ) -> None:
        """Fault injection: the handler runs to completion, then the invocation is reported as timed out
        (Lambda's `Sandbox.Timedout`), as when a function is cut off after its side effects happened.
        With `when`, only invocations whose event it accepts are cut off."""
        self._timeouts.setdefault(function_name, []).extend([when] * times)

    def inject_error(self, function_name: str, error_type: str, message: str, times: int = 1) -> None:
        """Fault injection for tests: the next `times` invocations of the function raise this error."""
        self._injected.setdefault(function_name, []).extend([(error_type, message)] * times)

    def register(
        self,
        function_name: str,
        code_dir: Path,
        handler: str,
        layer_dirs: list[Path],
        dead_letter_target: str | None = None,
    ) -> None:
        for layer in layer_dirs:
            if layer not in self._fresh_layers:
                _forget_modules_under(layer)
                self._fresh_layers.add(layer)
        self._functions[function_name] = FunctionCode(function_name, Path(code_dir), handler, list(layer_dirs))
        if dead_letter_target:
            # moto does not keep a function's DeadLetterConfig; the registry does.
            self.dead_letter_targets[function_name] = dead_letter_target

    def knows(self, function_name: str) -> bool:
        return function_name in self._functions

    # ------------------------------------------------------------------ running handlers
    def run(self, function: lambda_models.LambdaFunction, event: Any) -> Invocation:
        """Run `function`'s handler on `event` as the Lambda runtime would (one synchronous invoke)."""
        code = self._functions.get(function.function_name)
        if code is None:
            return _error_invocation(
                "Runtime.ImportModuleError", f"no code registered for function {function.function_name}"
            )
        queued = self._injected.get(function.function_name)
        if queued:
            self.invocations.append((function.function_name, True))
            return _error_invocation(*queued.pop(0))
        request_id = str(uuid.uuid4())
        environment = _runtime_environment(function, request_id)
        context = LambdaContext(
            function_name=function.function_name,
            memory_limit_in_mb=int(function.memory_size or 128),
            invoked_function_arn=function.function_arn,
            aws_request_id=request_id,
            timeout_seconds=float(function.timeout or 3),
            log_group_name=f"/aws/lambda/{function.function_name}",
            log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
            _deadline=time.monotonic() + float(function.timeout or 3),
        )
        started = time.monotonic()
        with _ENVIRONMENT_LOCK, _environment(environment), _own_modules(code), _captured_output() as output:
            try:
                handler = self._handler(code)
                result = handler(event, context)
            except Exception as exc:
                invocation = _error_invocation(type(exc).__name__, str(exc), traceback.format_exc())
            else:
                invocation = Invocation(payload=json.dumps(result), errored=False, logs="")
        invocation = Invocation(invocation.payload, invocation.errored, output.getvalue() + invocation.logs)
        if self._cut_off(function.function_name, event):
            invocation = _error_invocation(
                "Sandbox.Timedout", f"Task timed out after {float(function.timeout or 3):.2f} seconds"
            )
        self.logs.setdefault(function.function_name, []).append(invocation.logs)
        job_logs.lambda_output(
            function.function_name, context.log_stream_name, request_id, invocation.logs, time.monotonic() - started
        )
        self.invocations.append((function.function_name, invocation.errored))
        return invocation

    def _cut_off(self, function_name: str, event: Any) -> bool:
        pending = self._timeouts.get(function_name) or []
        for index, when in enumerate(pending):
            if when is None or when(event):
                del pending[index]
                return True
        return False

    def _handler(self, code: FunctionCode) -> Any:
        if code.module is None:
            started = time.perf_counter()
            code.module = _load_module(code)
            code.cold_start_seconds = time.perf_counter() - started
        module_name, _, attribute = code.handler.rpartition(".")
        del module_name
        return getattr(code.module, attribute)

    # ------------------------------------------------------------------ asynchronous invocations
    def invoke_async(self, function_name: str, event: Any) -> None:
        """InvocationType Event: queue the event; retry on error; then the dead-letter queue."""
        self._background.start(self._run_async, function_name, event, name=f"lambda-{function_name}")

    def _run_async(self, function_name: str, event: Any) -> None:
        function = _function(function_name)
        retries = _maximum_retry_attempts(function)
        invocation = self.run(function, event)
        for delay in ASYNC_RETRY_DELAYS[:retries]:
            if not invocation.errored:
                return
            clock.current().sleep(delay)
            invocation = self.run(function, event)
        if invocation.errored and function_name in self.dead_letter_targets:
            _send_to_dead_letter_queue(self.dead_letter_targets[function_name], function, event, invocation)

    def drain(self, timeout: float = 60) -> None:
        self._background.drain(timeout)


class _OutputRouter(io.TextIOBase):
    """sys.stdout/stderr while a handler runs: what it prints is its log (CloudWatch Logs on AWS).

    Loggers bind the stream they see at import time, so the router stays installed and sends each
    write to the buffer of the invocation running on that thread, or to the real stream otherwise.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self.local = threading.local()

    def write(self, text: str) -> int:
        target = getattr(self.local, "buffer", None)
        return (target or self.real).write(text)

    def flush(self) -> None:
        self.real.flush()


_ROUTERS: dict[str, _OutputRouter] = {}


@contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if not isinstance(current, _OutputRouter):
            _ROUTERS[name] = _OutputRouter(current)
            setattr(sys, name, _ROUTERS[name])
        _ROUTERS[name].local.buffer = buffer
    try:
        yield buffer
    finally:
        for router in _ROUTERS.values():
            router.local.buffer = None


@contextmanager
def _own_modules(code: FunctionCode) -> Iterator[None]:
    """While a handler runs, the modules of its layers in sys.modules are its function's own.

    On Lambda every function has its own containers, so module-level state in a layer (cached settings,
    clients, a per-container memory of handled triggers) is never shared between two functions. Here all
    functions share one interpreter: the function's copies are swapped in for the invocation (invocations
    are serialized by the environment lock) and kept for its next one (a warm container)."""
    roots = tuple(str(folder.resolve()) for folder in code.layer_dirs)

    def from_layers() -> dict[str, ModuleType]:
        return {
            name: module
            for name, module in list(sys.modules.items())
            if (getattr(module, "__file__", None) or "").startswith(roots)
        }

    others = from_layers() if roots else {}
    for name in others:
        del sys.modules[name]
    sys.modules.update(code.layer_modules)
    try:
        yield
    finally:
        if roots:
            code.layer_modules = from_layers()
            for name in code.layer_modules:
                del sys.modules[name]
            sys.modules.update(others)


def _forget_modules_under(folder: Path) -> None:
    """A new deployment starts new containers: layer modules (and their cached settings and clients)
    imported by an earlier runtime in this process are imported afresh."""
    root = str(folder.resolve())
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None) or ""
        if location.startswith(root) and not name.startswith("_retrainer_lambda_"):
            del sys.modules[name]


def _error_invocation(error_type: str, message: str, trace: str = "") -> Invocation:
    body = {"errorMessage": message, "errorType": error_type, "stackTrace": trace.splitlines()[-20:]}
    return Invocation(payload=json.dumps(body), errored=True, logs=trace)


def _runtime_environment(function: lambda_models.LambdaFunction, request_id: str) -> dict[str, str]:
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.run_time}",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "_HANDLER": function.handler,
        "_X_AMZN_TRACE_ID": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Parent={request_id[:16]};Sampled=0",
    }
    environment.update({k: str(v) for k, v in (function.environment_vars or {}).items()})
    return environment


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The function's variables in os.environ while its handler runs.

    Keys are never removed afterwards (a key the process did not have is left empty): other threads
    (Step Functions, jobs, boto3 building clients) iterate os.environ, and a key deleted mid-iteration
    raises KeyError there.
    """
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            os.environ[key] = "" if old is None else old


def _load_module(code: FunctionCode) -> ModuleType:
    """Import the handler file under a name unique to the function (two app.py never collide)."""
    module_file, _, _ = code.handler.rpartition(".")
    path = code.code_dir / f"{module_file.replace('.', '/')}.py"
    for layer in code.layer_dirs:
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))
    unique = f"_retrainer_lambda_{code.function_name.replace('-', '_')}_{module_file.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return module


def _function(function_name: str) -> lambda_models.LambdaFunction:
    for backend in _lambda_backends():
        try:
            return backend.get_function(function_name)
        except Exception:  # noqa: S112 - try the next account/region
            continue
    raise LookupError(f"function {function_name} not found")


def _lambda_backends() -> Iterator[Any]:
    for account in lambda_models.lambda_backends.values():
        yield from account.values()


def _maximum_retry_attempts(function: lambda_models.LambdaFunction) -> int:
    for item in getattr(function, "event_invoke_config", None) or []:
        config = getattr(item, "config", item)
        if isinstance(config, dict) and "MaximumRetryAttempts" in config:
            return int(config["MaximumRetryAttempts"])
    return 2


def _send_to_dead_letter_queue(
    target: str, function: lambda_models.LambdaFunction, event: Any, invocation: Invocation
) -> None:
    import boto3

    error = json.loads(invocation.payload)
    queue_name = target.rsplit(":", 1)[-1]
    sqs = boto3.client("sqs", region_name=function.region)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(event),
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {
                "DataType": "String",
                "StringValue": f"{error['errorType']}: {error['errorMessage']}"[:256],
            },
        },
    )


class LambdaPatch:
    """Installed handle: moto's Lambda runs functions through `registry`."""

    def __init__(self, registry: LambdaRegistry) -> None:
        self.registry = registry
        self._original = lambda_models.LambdaFunction._invoke_lambda

        def _invoke_lambda(function: lambda_models.LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            if isinstance(event, str):
                event = json.loads(event) if event else {}
            invocation = registry.run(function, event if event is not None else {})
            return invocation.payload, invocation.errored, invocation.logs

        lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda

    def uninstall(self) -> None:
        lambda_models.LambdaFunction._invoke_lambda = self._original


def install(registry: LambdaRegistry) -> LambdaPatch:
    return LambdaPatch(registry)
