"""CloudWatch imitated: metric alarms that evaluate, their history, and their state-change events."""
