"""monitor_violation's service on fakes: what it decides when the event alone does not tell.

The handler on the stack's resources (alarms, Model Monitor runs, the ledger, StartExecution): tests/functional.
"""

from __future__ import annotations

import pytest

from retrainer.errors import EventRejected
from retrainer.events import ProcessingJobStateChangeEvent
from retrainer.ports import ProcessingJobSummary
from retrainer.services.monitor_violation import start_from_monitoring_run
from retrainer.services.runs import Adapters
from retrainer.settings import MonitorViolationSettings
from tests.fakes import FakeObjects, FakeProcessingJobs, FakeStarter, FreeLedger
from tests.samples import ENVIRONMENT, load_event

MONITORING = load_event("monitoring_run_completed.json")
JOB = MONITORING["detail"]["ProcessingJobName"]


def _adapters(starter: FakeStarter) -> Adapters:
    data = FakeObjects({(ENVIRONMENT["DATA_BUCKET"], "incoming/churn/part-1.csv"): b"label,age\n1,40\n"})
    return Adapters(config_store=FakeObjects(), data_catalog=data, ledger=FreeLedger(), starter=starter)


def _without_exit_message() -> ProcessingJobStateChangeEvent:
    detail = {k: v for k, v in MONITORING["detail"].items() if k != "ExitMessage"}
    return ProcessingJobStateChangeEvent.model_validate({**MONITORING, "detail": detail})


def test_event_without_exit_message_is_confirmed_with_describe() -> None:
    # Given a state-change event that does not carry ExitMessage (sagemaker-contracts.md §8: [U])
    # And SageMaker says the job completed with violations
    jobs = FakeProcessingJobs(
        {JOB: ProcessingJobSummary(exit_message="CompletedWithViolations: 2 violations", environment={})}
    )
    starter = FakeStarter()
    settings = MonitorViolationSettings.model_validate({**ENVIRONMENT})
    # When the handler's service sees it
    outcome = start_from_monitoring_run(_without_exit_message(), settings, _adapters(starter), jobs)
    # Then it asked SageMaker and started the run
    assert jobs.asked == [JOB]
    assert outcome.status == "started" and starter.started == [outcome.run_id]


def test_a_described_job_without_violations_starts_nothing() -> None:
    # Given the same event, and SageMaker says the job completed cleanly
    jobs = FakeProcessingJobs({JOB: ProcessingJobSummary(exit_message="Completed: no violations", environment={})})
    starter = FakeStarter()
    settings = MonitorViolationSettings.model_validate({**ENVIRONMENT})
    # When the handler's service sees it
    # Then it is rejected with the reason, and no run starts
    with pytest.raises(EventRejected, match="completed without violations"):
        start_from_monitoring_run(_without_exit_message(), settings, _adapters(starter), jobs)
    assert jobs.asked == [JOB] and starter.started == []


def test_a_monitoring_run_of_a_job_nobody_created_is_rejected() -> None:
    # Given the event without ExitMessage, naming a processing job SageMaker does not know
    starter = FakeStarter()
    settings = MonitorViolationSettings.model_validate({**ENVIRONMENT})
    # When the handler's service sees it
    # Then it is rejected as naming a job that does not exist, and no run starts
    with pytest.raises(EventRejected, match="names a processing job that does not exist"):
        start_from_monitoring_run(_without_exit_message(), settings, _adapters(starter), FakeProcessingJobs())
    assert starter.started == []
