"""What the stack's SNS topic published (moto keeps every notification a topic sent)."""

from __future__ import annotations

import json
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from tests.samples import ENVIRONMENT


def published(outcome: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(subject, body) of each notification on the stack's topic, optionally of one `outcome` only."""
    arn = ENVIRONMENT["NOTIFICATION_TOPIC_ARN"]
    topic = sns_backends[DEFAULT_ACCOUNT_ID][arn.split(":")[3]].topics[arn]
    sent = [(subject, json.loads(message)) for _id, message, subject, *_ in topic.sent_notifications]
    return [(subject, body) for subject, body in sent if outcome is None or body.get("outcome") == outcome]
