"""The retraining state machine, written with the Step Functions Data Science SDK, phase by phase.

Render it with `make render` (this module's `--output`); SAM deploys the rendered
`retraining.asl.json`, filling the `${...}` names and ARNs from `DefinitionSubstitutions`
(`statemachines.tasks.SUBSTITUTIONS`). `make test` fails when the committed file differs from a fresh render.

Flow (execution input: `retrainer.run_data.RetrainingRequest`), one module per phase:

    coordination   Debounce (quiet window) -> ClaimTriggers -> Settled? (else Debounce again)
    training       Preprocess -> Train -> CreateModel -> RegisterModel (registry version, PendingManualApproval)
    evaluation     FindChampion -> Validate: ScoreChallenger || ScoreChampion -> Evaluate -> QualityGate
                   (failed: RejectAtGate -> NotifyGateFailed -> ReleaseAfterGate -> QualityGateFailed)
    rollouts       PlanRollout -> ChooseRollout: first_deployment (no champion), or a RolloutStrategy
                   (weights, the default; blue_green), each endpoint change through
                   endpoint_switch.switch_and_verify
    endings        Promote -> monitoring_setup (StopRetiredMonitoring -> PlanBaseline -> MonitoringOn?
                   -> Baseline -> StartMonitoring; failures reported, never rolled back)
                   -> NotifyDeployed -> ReleaseAfterDeploy -> Deployed
    restore        alarm, failed update, timeout, config mismatch or error during a rollout:
                   StartRestore -> PlanRestore <-> (RestoreWeights | RestoreConfig | WaitRestore)
                   -> RejectChallenger -> NotifyRolledBack -> ReleaseAfterRollback -> RolledBack
                   (champion not back in time: NotifyRollbackFailed -> ReleaseAfterFailure -> RetrainingFailed)
    endings        any other error -> RejectAfterFailure -> NotifyFailure -> ReleaseAfterFailure -> RetrainingFailed

Steps that need a decision (who is the champion, did an update take, did an alarm fire, what does a
restore change next) call ManageRolloutFunction (`retrainer.services.rollout`); every endpoint change is
the state machine's own SageMaker call.
"""

from __future__ import annotations

import sys

from stepfunctions.steps.states import Graph

from retrainer.run_data import EXECUTION_TIMEOUT_SECONDS
from statemachines import rendering
from statemachines.coordination import debounce_then
from statemachines.endings import endings, promote
from statemachines.evaluation import evaluation
from statemachines.monitoring_setup import monitoring_setup
from statemachines.restore import undo
from statemachines.rollouts import RolloutExits, choose_rollout
from statemachines.rollouts.first_deployment import first_deployment
from statemachines.training import training

COMMENT = (
    "retrainer: preprocess, train (built-in XGBoost), register, score challenger and champion on the "
    "same test split, gate, then roll out: first deployment, a weighted canary on the live endpoint "
    "with alarm-driven rollback, or SageMaker blue/green; notify. "
    "Rendered by statemachines/retraining_workflow.py; do not edit by hand."
)


def build() -> Graph:
    """The phases, wired from the ends back to the start (a phase is built once its exits exist)."""
    ends = endings()
    rollback = undo(ends)
    promoted = promote(ends.deployed, monitoring_setup(ends.deployed))
    exits = RolloutExits(promote=promoted, problem=rollback.problem, error=rollback.error, rollback=rollback.restore)
    rollout = choose_rollout(first_deployment(promoted, ends.failed), exits)
    evaluated = evaluation(passed=rollout, failed=ends.gate_failed, on_error=ends.failed)
    trained = training(then_step=evaluated, on_error=ends.failed)
    return Graph(debounce_then(trained, ends.failed), comment=COMMENT, timeout_seconds=EXECUTION_TIMEOUT_SECONDS)


def render() -> str:
    return rendering.render(build)


def main(argv: list[str] | None = None) -> int:
    return rendering.main(build, "Render the retraining state machine to ASL.", argv)


if __name__ == "__main__":
    sys.exit(main())
