"""EventBridge imitated beyond moto: S3 events in AWS's shape, rule targets, schedules on the scaled clock."""
