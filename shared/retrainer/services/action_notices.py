""" "Action needed" notices: a trigger that cannot start a run for a reason only the user can fix says so, once.

The event itself still goes where it went before (rejected, or retried and then the dead-letter queue);
the notice tells a person what to fix (the file and the problem). Lambda retries and EventBridge
redeliveries of the same problem are deduplicated through the trigger table, so one problem gives one
notification (again after NOTICE_TTL_SECONDS if it is still there).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from retrainer.errors import InvalidModelConfig
from retrainer.ports import Notifier, TriggerLedger

logger = Logger(child=True)

OUTCOME = "action needed"
STACK_WIDE = "stack"  # the notice's model name when the problem is not one model's


@dataclass(frozen=True)
class ActionNotices:
    ledger: TriggerLedger
    notifier: Notifier | None

    def once(self, *, model_name: str, problem: str, details: dict[str, Any]) -> bool:
        """Publish the notice unless the same problem was already notified; never raises (the caller's
        own outcome, a rejection or a retry, matters more than the notice)."""
        if self.notifier is None:
            return False
        subject_model = model_name or STACK_WIDE
        notice_id = hashlib.sha256(f"{subject_model}\x1f{problem}".encode()).hexdigest()[:24]
        try:
            if not self.ledger.first_notice(subject_model, notice_id, problem[:500]):
                return False
            self.notifier.publish(
                f"retrainer: {subject_model} {OUTCOME}",
                {
                    "outcome": OUTCOME,
                    "model_name": model_name,
                    "headline": f"ACTION NEEDED: {problem}",
                    "problem": problem,
                    **details,
                },
                OUTCOME,
                subject_model,
            )
        except Exception:  # a failed notice is logged; the event's own outcome stands
            logger.exception("could not send the action-needed notice", extra={"problem": problem[:500]})
            return False
        return True

    def invalid_config(self, invalid: InvalidModelConfig) -> bool:
        """The notice for a broken `config/<model>.json` (the same one from a trigger or the sweep)."""
        return self.once(
            model_name=invalid.model_name,
            problem=f"the model's configuration is invalid: {invalid}",
            details={"file": invalid.file},
        )
