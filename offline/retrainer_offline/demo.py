"""`make demo`: three retraining runs of a real model, offline, with predictions from the endpoint.

1. upload the first part of the Breast Cancer Wisconsin (Diagnostic) data set -> run 1 deploys;
2. invoke the endpoint on held-out rows and print predictions with the variant that served them;
3. upload the second part -> run 2 retrains on the whole folder and updates the endpoint;
4. put a drift alarm's "CloudWatch Alarm State Change" on the bus -> run 3;
5. print a summary; exit non-zero if a run failed or the endpoint does not answer.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from retrainer_offline.runtime import ExecutionReport, OfflineRuntime, StateRun

MODEL = "breast-cancer"
HOLDOUT_ROWS = 12
MIN_FIRST_AUC = 0.95
MODEL_CONFIG = {"target_column": "diagnosis", "positive_label": "M", "drop_columns": ["id"]}


@dataclass
class Dataset:
    parts: list[bytes]
    holdout_features: list[str]
    holdout_labels: list[str]
    columns: list[str]


def breast_cancer(parts: int = 2, seed: int = 7) -> Dataset:
    """scikit-learn's copy of the UCI data set as the header CSV a user would upload."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.copy()
    # sklearn codes malignant as 0; the original file has an id and an M/B diagnosis column.
    frame.insert(0, "diagnosis", frame.pop("target").map({0: "M", 1: "B"}))
    frame.insert(0, "id", range(842302, 842302 + len(frame)))
    frame.columns = [str(c).replace(" ", "_") for c in frame.columns]
    frame = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    holdout, rest = frame.iloc[:HOLDOUT_ROWS], frame.iloc[HOLDOUT_ROWS:]
    first = int(len(rest) * 0.6)
    chunks = [rest.iloc[:first], rest.iloc[first:]] if parts == 2 else [rest]
    features = holdout.drop(columns=["id", "diagnosis"])
    return Dataset(
        parts=[chunk.to_csv(index=False).encode() for chunk in chunks],
        holdout_features=[",".join(f"{v:.6g}" for v in row) for row in features.itertuples(index=False)],
        holdout_labels=list(holdout["diagnosis"]),
        columns=list(frame.columns),
    )


def drift_alarm_event(stack_name: str, model: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    alarm = f"{stack_name}-drift-{model}--feature-mean_radius"
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "previousState": {"value": "OK", "reason": "Threshold not crossed", "timestamp": now},
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed: 1 datapoint [0.31] was greater than the threshold (0.1).",
                "timestamp": now,
            },
            "configuration": {"description": f"Model Monitor drift of mean_radius on {stack_name}-{model}"},
        },
    }


@dataclass
class Summary:
    reports: list[ExecutionReport] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    problems: list[str] = field(default_factory=list)


class Demo:
    def __init__(self, out: TextIO = sys.stdout, data: Dataset | None = None) -> None:
        self.out = out
        self.data = data or breast_cancer()
        self.summary = Summary()

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def run(self, runtime: OfflineRuntime) -> int:
        started = time.perf_counter()
        self.say(f"deployed template.yaml as stack '{runtime.stack_name}' in {runtime.deploy_seconds:.1f} s")
        runtime.put_model_config(MODEL, MODEL_CONFIG)
        self.say(f"model config: s3://{runtime.output('ArtifactsBucketName')}/config/{MODEL}.json {MODEL_CONFIG}")

        first = self.upload_and_follow(runtime, "part-1.csv", self.data.parts[0], "1: first upload")
        self.predict(runtime)
        if len(self.data.parts) > 1:
            self.upload_and_follow(runtime, "part-2.csv", self.data.parts[1], "2: second upload")
        self.say("\n== run 3: drift alarm goes to ALARM")
        runtime.put_event(drift_alarm_event(runtime.stack_name, MODEL))
        self.follow(runtime, runtime.next_execution())
        self.check_first_auc(first)
        self.print_summary(runtime, time.perf_counter() - started)
        return 1 if self.summary.problems else 0

    def upload_and_follow(self, runtime: OfflineRuntime, name: str, body: bytes, title: str) -> ExecutionReport:
        rows = body.count(b"\n") - 1
        self.say(
            f"\n== run {title}: {name} ({rows} rows) to s3://"
            f"{runtime.output('DataBucketName')}/{runtime.output('DataPrefix')}{MODEL}/{name}"
        )
        runtime.upload(MODEL, name, body)
        return self.follow(runtime, runtime.next_execution())

    def follow(self, runtime: OfflineRuntime, arn: str) -> ExecutionReport:
        self.say(f"   execution {arn.rsplit(':', 1)[-1]}")

        def on_state(state: StateRun) -> None:
            mark = f"  !! {state.failed}" if state.failed else ""
            self.say(f"   {state.name:<22} {state.state_type:<8} {state.seconds:7.2f} s{mark}")
            self.summary.stage_seconds[state.name] += state.seconds

        report = runtime.follow(arn, on_state=on_state)
        self.summary.reports.append(report)
        evaluation = (report.output or {}).get("evaluation", {})
        metrics = evaluation.get("metrics", {})
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        self.say(f"   => {report.status} in {report.seconds:.1f} s" + (f"; test metrics: {shown}" if shown else ""))
        if report.status != "SUCCEEDED":
            error = (report.output or {}).get("error") or {"Error": report.error, "Cause": report.cause}
            self.say(f"   !! {error.get('Error')}: {str(error.get('Cause'))[:600]}")
            self.summary.problems.append(f"{report.name} {report.status}: {report.error} {report.cause}")
        return report

    def predict(self, runtime: OfflineRuntime) -> None:
        endpoint = f"{runtime.stack_name}-{MODEL}"
        self.say(f"\n== predictions from endpoint {endpoint} on {HOLDOUT_ROWS} held-out rows")
        smr = runtime.client("sagemaker-runtime")
        served: Counter[str] = Counter()
        correct = 0
        for features, label in zip(self.data.holdout_features, self.data.holdout_labels, strict=True):
            try:
                response = smr.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=features)
            except Exception as exc:
                self.summary.problems.append(f"endpoint {endpoint} did not answer: {exc}")
                self.say(f"   endpoint did not answer: {exc}")
                return
            score = float(response["Body"].read().decode().strip().splitlines()[0])
            variant = response.get("InvokedProductionVariant", "?")
            served[variant] += 1
            predicted = "M" if score >= 0.5 else "B"
            correct += predicted == label
            self.say(f"   p(malignant)={score:.3f} -> {predicted}  actual {label}  variant {variant}")
        self.say(f"   {correct}/{HOLDOUT_ROWS} correct; served by {dict(served)}")

    def check_first_auc(self, first: ExecutionReport) -> None:
        auc = (first.output or {}).get("evaluation", {}).get("metrics", {}).get("auc")
        if auc is None or auc < MIN_FIRST_AUC:
            self.summary.problems.append(f"first model's test AUC {auc} is below {MIN_FIRST_AUC}")

    def print_summary(self, runtime: OfflineRuntime, seconds: float) -> None:
        self.say("\n== summary")
        for report in self.summary.reports:
            metrics = (report.output or {}).get("evaluation", {}).get("metrics", {})
            auc = f"auc {metrics['auc']:.4f}" if "auc" in metrics else ""
            self.say(f"   {report.name:<28} {report.status:<10} {report.seconds:6.1f} s  {auc}")
        endpoint = runtime.client("sagemaker").describe_endpoint(EndpointName=f"{runtime.stack_name}-{MODEL}")
        self.say(
            f"   endpoint {endpoint['EndpointName']} {endpoint['EndpointStatus']} "
            f"config {endpoint['EndpointConfigName']}"
        )
        for variant in endpoint.get("ProductionVariants", []):
            self.say(f"     variant {variant['VariantName']} weight {variant.get('CurrentWeight')}")
        self.say(
            "   time per stage (all runs): "
            + ", ".join(
                f"{name} {secs:.1f}s"
                for name, secs in sorted(self.summary.stage_seconds.items(), key=lambda x: -x[1])
                if secs >= 0.05
            )
        )
        self.say(
            f"   wall time {seconds:.1f} s (+ {runtime.deploy_seconds:.1f} s deploy); "
            f"emulated waiting skipped: {runtime.clock.slept_aws_seconds:.0f} s"
        )
        for problem in self.summary.problems:
            self.say(f"   PROBLEM: {problem}")
        self.say("   result: " + ("FAILED" if self.summary.problems else "all runs SUCCEEDED, endpoint answered"))


def main(out: TextIO = sys.stdout) -> int:
    with OfflineRuntime() as runtime:
        return Demo(out).run(runtime)


def capture() -> tuple[int, str]:
    buffer = io.StringIO()
    code = main(buffer)
    return code, buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Demo", "breast_cancer", "drift_alarm_event", "json", "main"]
