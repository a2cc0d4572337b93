"""`make demo`: six retraining runs of two models, offline, with live traffic on their endpoints.

1. upload the first part of the Breast Cancer Wisconsin (Diagnostic) data set -> run 1 deploys the
   first model (the champion); predictions on held-out rows, with the variant that served them;
2. upload the second part -> run 2 trains a challenger on the whole folder, scores it against the
   champion on the same test split, and rolls it out by production-variant weights 10% -> 50% -> 100%
   while a client keeps invoking the endpoint: each step prints which variant answered its requests;
3. a drift alarm goes to ALARM with the model's hyperparameters made worse -> run 3's challenger loses
   to the champion and is rejected by the gate; production is untouched;
4. a drift alarm again, and the challenger's container answers 500 (injected) -> its 5XX alarm fires
   during the first bake and run 4 rolls back; the champion serves alone again;
5. a second model (churn) from raw rows with text columns; it answers a category it never saw;
6. the churn model's world changes (commands/quality_loop.py): drifted requests with InferenceIds, their outcomes
   uploaded late as ground truth, a model-quality run finds the drop, the quality alarm retrains on the labelled
   traffic, and the promoted challenger is measurably better on drifted rows nobody trained on (both AUCs printed);
then a summary; exit non-zero if any run did not end as described or the endpoint does not answer.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from retrainer_offline.commands import quality_loop
from retrainer_offline.runtime import ExecutionReport, OfflineRuntime, StateRun
from retrainer_offline.sagemaker.traffic import Traffic
from retrainer_offline.sample_data import churn
from retrainer_offline.sample_data.alarm_events import drift_alarm_event
from retrainer_offline.sample_data.breast_cancer import HOLDOUT_ROWS, MODEL_CONFIG, Dataset, breast_cancer

MODEL = "breast-cancer"
MIN_FIRST_AUC = 0.95
# Run 3's "worse" model: one shallow tree for two rounds. It clears a 0.5 bar, not the champion.
WORSE = {"hyperparameters": {"num_round": 2, "max_depth": 1, "eta": 0.1}, "threshold": 0.5}
# Each canary step bakes 20 emulated minutes (1.2 s here), its alarms checked every minute.
ROLLOUT = {"canary_steps": [10, 50, 100], "bake_seconds": 1200, "alarm_check_seconds": 60}


@dataclass
class Summary:
    reports: list[ExecutionReport] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    problems: list[str] = field(default_factory=list)


class Demo:
    def __init__(self, out: TextIO = sys.stdout, data: Dataset | None = None, live: bool = False) -> None:
        self.out = out
        self.data = data or breast_cancer()
        self.summary = Summary()
        self.live = live  # each state as it starts and ends, job logs, heartbeats (commands/progress.py)
        self.quality: quality_loop.QualityLoopResult | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def run(self, runtime: OfflineRuntime) -> int:
        started = time.perf_counter()
        self.say(f"deployed template.yaml as stack '{runtime.stack_name}' in {runtime.deploy_seconds:.1f} s")
        config = {**MODEL_CONFIG, "rollout": ROLLOUT}
        runtime.put_model_config(MODEL, config)
        self.say(f"model config: s3://{runtime.buckets.artifacts}/config/{MODEL}.json {config}")

        first = self.upload_and_follow(runtime, "part-1.csv", self.data.parts[0], "1: first upload")
        self.expect(first, "SUCCEEDED", None)
        self.predict(runtime)
        self.show_raw_requests(runtime)
        if len(self.data.parts) > 1:
            with self.traffic(runtime) as traffic:
                second = self.upload_and_follow(runtime, "part-2.csv", self.data.parts[1], "2: second upload")
            self.show_canary(second, traffic)
            self.expect(second, "SUCCEEDED", None)

        self.say("\n== run 3: drift alarm goes to ALARM; the model's hyperparameters were made worse")
        runtime.put_model_config(MODEL, {**config, **WORSE})
        self.say(f"   config/{MODEL}.json now sets {WORSE}")
        with self.traffic(runtime) as traffic:
            runtime.put_event(drift_alarm_event(runtime.stack_name, MODEL))
            third = self.follow(runtime, runtime.next_execution())
        self.expect(third, "FAILED", "QualityGateFailed")
        self.show_untouched(traffic)

        self.say("\n== run 4: drift alarm again; the challenger's container answers 500 (injected)")
        # The champion's rows and settings again: without retrain_unchanged the run would end NoNewData.
        runtime.put_model_config(MODEL, {**config, "retrain_unchanged": True})
        endpoint = f"{runtime.stack_name}-{MODEL}"
        with self.traffic(runtime) as traffic:
            runtime.put_event(drift_alarm_event(runtime.stack_name, MODEL))
            arn = runtime.next_execution()
            runtime.endpoints.fail_variant(endpoint, arn.rsplit(":", 1)[1])
            fourth = self.follow(runtime, arn)
        self.expect(fourth, "FAILED", "RolledBack")
        self.show_rollback(fourth, traffic)
        self.check_first_auc(first)
        churn_model = self.show_new_category(runtime)
        if churn_model is not None:
            self.show_quality_loop(runtime, churn_model)
            self.show_unseen_category(runtime)
        self.print_summary(runtime, time.perf_counter() - started)
        return 1 if self.summary.problems else 0

    def traffic(self, runtime: OfflineRuntime) -> Traffic:
        """A client invoking the model's endpoint all through the run, as production traffic would."""
        return Traffic(f"{runtime.stack_name}-{MODEL}", self.data.holdout_features)

    def expect(self, report: ExecutionReport, status: str, error: str | None) -> None:
        if report.status != status or report.error != error:
            self.summary.problems.append(
                f"{report.name} ended {report.status} {report.error or ''}; the demo expects {status} {error or ''}"
            )

    def show_canary(self, report: ExecutionReport, traffic: Traffic) -> None:
        """Which variant answered the client's requests during each canary step's bake."""
        evaluation = report.final_state.get("evaluation", {})
        self.say(f"   gate: {evaluation.get('verdict', '?')}")
        starts = [s.entered for s in report.states if s.name == "StartBake"]
        ends = [s.entered for s in report.states if s.name == "NextStep"]
        steps = report.final_state.get("rollout_plan", {}).get("steps", [])
        challenger = report.name
        for step, start, end in zip(steps, starts, ends, strict=False):
            served = traffic.served_during(start, end)
            total = sum(served.values()) or 1
            counts = ", ".join(
                f"{'challenger' if variant == challenger else 'champion' if variant != 'error' else 'failed'} "
                f"{count} ({count / total:.0%})"
                for variant, count in sorted(served.items(), key=lambda item: item[0] != challenger)
            )
            self.say(f"   canary step {step['challenger']:>3}%: {sum(served.values())} requests served by {counts}")
        self.say(f"   requests during the run: {len(traffic.requests)}, failed: {len(traffic.failures)}")
        if traffic.failures:
            self.summary.problems.append(f"{len(traffic.failures)} requests failed during the canary")

    def show_untouched(self, traffic: Traffic) -> None:
        served = traffic.served_during(traffic.requests[0].at) if traffic.requests else {}
        self.say(f"   production meanwhile: {len(traffic.requests)} requests, served by {dict(served)}")
        if traffic.failures:
            self.summary.problems.append(f"{len(traffic.failures)} requests failed while the gate rejected")

    def show_rollback(self, report: ExecutionReport, traffic: Traffic) -> None:
        rollback = report.final_state.get("rollback", {})
        self.say(f"   rolled back ({rollback.get('kind')}): {str(rollback.get('reason'))[:300]}")
        restored = next((s.entered for s in report.states if s.name == "RejectChallenger"), None)
        failed_after = [r for r in traffic.failures if restored is None or r.at >= restored]
        self.say(
            f"   clients: {len(traffic.requests)} requests, {len(traffic.failures)} failed (the injected 500s, "
            f"while the challenger had its {rollback_share(report)}%), {len(failed_after)} after the rollback; "
            f"served after it: {dict(traffic.served_during(restored)) if restored else '?'}"
        )
        if failed_after:
            self.summary.problems.append(f"{len(failed_after)} requests failed after the rollback")

    def upload_and_follow(self, runtime: OfflineRuntime, name: str, body: bytes, title: str) -> ExecutionReport:
        rows = body.count(b"\n") - 1
        self.say(
            f"\n== run {title}: {name} ({rows} rows) to s3://"
            f"{runtime.buckets.data}/{runtime.buckets.data_prefix}{MODEL}/{name}"
        )
        runtime.upload(MODEL, name, body)
        return self.follow(runtime, runtime.next_execution())

    def follow(self, runtime: OfflineRuntime, arn: str) -> ExecutionReport:
        self.say(f"   execution {arn.rsplit(':', 1)[-1]}")
        shown: set[str] = set()
        watcher = self.watch(runtime, arn)

        def on_state(state: StateRun) -> None:
            self.summary.stage_seconds[state.name] += state.seconds
            if watcher is not None or (state.name in shown and not state.failed):
                return  # loops (polls, bakes) print their first pass only
            shown.add(state.name)
            mark = f"  !! {state.failed}" if state.failed else ""
            self.say(f"   {state.name:<26} {state.state_type:<8} {state.seconds:7.2f} s{mark}")

        report = runtime.follow(arn, on_state=on_state)
        if watcher is not None:
            watcher.join(timeout=30)
        self.summary.reports.append(report)
        metrics = report.final_state.get("evaluation", {}).get("metrics", {})
        shown_metrics = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        self.say(
            f"   => {report.status}{' ' + report.error if report.error else ''} in {report.seconds:.1f} s"
            + (f"; test metrics: {shown_metrics}" if shown_metrics else "")
        )
        return report

    def watch(self, runtime: OfflineRuntime, arn: str) -> threading.Thread | None:
        """In live mode, the run's progress as `retrainer follow` shows it, printed while it runs."""
        if not self.live:
            return None
        from rich.console import Console

        from retrainer_offline.commands.progress import RunObserver

        console = Console(file=self.out, highlight=False, soft_wrap=True)
        observer = RunObserver(runtime.client("stepfunctions"), runtime.client("logs"), console, poll=0.5)
        thread = threading.Thread(target=observer.follow, args=(arn,), name="demo-progress", daemon=True)
        thread.start()
        return thread

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

    def show_raw_requests(self, runtime: OfflineRuntime) -> None:
        """Raw rows in (README "Calling the endpoint"): a JSON record by column name, and a CSV row with a
        blank cell; the deployed serial pipeline encodes both, a missing value is no error."""
        endpoint = f"{runtime.stack_name}-{MODEL}"
        names = [c for c in self.data.columns if c not in ("id", "diagnosis")]
        values = self.data.holdout_features[0].split(",")
        record = dict(zip(names, values, strict=True))
        blank = ",".join(["", *values[1:]])
        smr = runtime.client("sagemaker-runtime")
        self.say("\n== raw rows in: what a client sends is a row of the upload, by name or in file order")
        requests = [
            ("application/json", json.dumps(record), f'{{"{names[0]}": "{values[0]}", … {len(names)} columns}}'),
            ("text/csv", blank, f"{blank[:40]}… ({names[0]} left blank)"),
        ]
        for content_type, body, shown in requests:
            try:
                answer = smr.invoke_endpoint(
                    EndpointName=endpoint, ContentType=content_type, Accept="application/json", Body=body
                )
            except Exception as exc:
                self.summary.problems.append(f"a raw {content_type} request failed: {exc}")
                self.say(f"   {content_type} request failed: {exc}")
                continue
            self.say(f"   {content_type} {shown}\n     -> {answer['Body'].read().decode().strip()}")

    def show_new_category(self, runtime: OfflineRuntime) -> ExecutionReport | None:
        """A second model from a CSV with text columns, a Yes/No target and blank cells."""
        self.say(f"\n== run 5: a second model, {churn.MODEL}, from raw rows with text columns and blank cells")
        runtime.put_model_config(churn.MODEL, quality_loop.quality_config())
        upload = churn.table(900, seed=21)
        runtime.upload(churn.MODEL, "part-1.csv", upload.to_csv(index=False).encode())
        report = self.follow(runtime, runtime.next_execution())
        self.expect(report, "SUCCEEDED", None)
        return report if report.status == "SUCCEEDED" else None

    def show_unseen_category(self, runtime: OfflineRuntime) -> None:
        """Once the churn model is live, a client sends raw rows with a payment method no training row had; the
        feature container encodes an unseen category as unknown, so the client gets a score, not a shape error.
        (After run 6: a new category in the traffic is data drift, and its retraining would join run 6's.)"""
        self.say(f"\n== {churn.MODEL} answers a payment method no training row had")
        arriving = churn.table(200, seed=22, new_category="crypto", id_start=900)
        rows = arriving.drop(columns=[churn.TARGET, churn.ID_COLUMN])
        unseen = rows[rows["payment_method"] == "crypto"].head(2)
        smr = runtime.client("sagemaker-runtime")
        for line in unseen.to_csv(index=False, header=False).splitlines():
            try:
                answer = smr.invoke_endpoint(
                    EndpointName=f"{runtime.stack_name}-{churn.MODEL}", ContentType="text/csv", Body=line
                )
            except Exception as exc:
                self.summary.problems.append(f"a row with an unseen category failed: {exc}")
                self.say(f"   {line}\n     -> failed: {exc}")
                continue
            self.say(f"   {line}   (payment_method never seen in training)")
            self.say(f"     -> p(churn)={float(answer['Body'].read().decode().strip()):.3f}")

    def show_quality_loop(self, runtime: OfflineRuntime, promoted: ExecutionReport) -> None:
        """Run 6 (commands/quality_loop.py): late labels show a quality drop no input statistic shows; the quality
        alarm retrains on the labelled traffic; the challenger is better on drifted rows nobody trained on."""
        self.say("\n== run 6: the world changes under the churn model; its outcomes arrive late as ground truth")
        result = quality_loop.run_quality_loop(runtime, promoted, self.say, self.follow)
        self.quality = result
        self.summary.problems += result.problems

    def check_first_auc(self, first: ExecutionReport) -> None:
        auc = first.final_state.get("evaluation", {}).get("metrics", {}).get("auc")
        if auc is None or auc < MIN_FIRST_AUC:
            self.summary.problems.append(f"first model's test AUC {auc} is below {MIN_FIRST_AUC}")

    def print_summary(self, runtime: OfflineRuntime, seconds: float) -> None:
        self.say("\n== summary")
        for report in self.summary.reports:
            evaluation = report.final_state.get("evaluation", {})
            auc = f"auc {evaluation['metrics']['auc']:.4f}" if "auc" in evaluation.get("metrics", {}) else ""
            versus = evaluation.get("champion_value")
            against = f" vs champion {versus:.4f}" if versus is not None else ""
            ended = f"{report.status} {report.error or ''}".strip()
            self.say(f"   {report.name:<28} {ended:<28} {report.seconds:6.1f} s  {auc}{against}")
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
        self.say(
            "   result: "
            + (
                "FAILED"
                if self.summary.problems
                else "deployed, promoted through the canary, rejected at the gate, rolled back on an alarm; "
                "a second model answered a category it never saw; late labels showed its quality drop, the quality "
                "alarm retrained it on its labelled traffic"
                + (
                    f" (AUC on drifted rows {self.quality.auc_before:.3f} -> {self.quality.auc_after:.3f})"
                    if self.quality and self.quality.auc_before is not None and self.quality.auc_after is not None
                    else ""
                )
                + "; no client request failed outside the injected errors"
            )
        )


def rollback_share(report: ExecutionReport) -> int:
    return int(report.final_state.get("rollout", {}).get("current", {}).get("challenger", 0))


def main(out: TextIO = sys.stdout, live: bool = False) -> int:
    runtime = OfflineRuntime()
    if live:
        from rich.console import Console

        with Console(file=out).status("deploying template.yaml into the offline runtime"):
            runtime.__enter__()
    else:
        runtime.__enter__()
    try:
        return Demo(out, live=live).run(runtime)
    finally:
        runtime.__exit__(None, None, None)


def capture() -> tuple[int, str]:
    buffer = io.StringIO()
    code = main(buffer)
    return code, buffer.getvalue()


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Demo", "main"]
