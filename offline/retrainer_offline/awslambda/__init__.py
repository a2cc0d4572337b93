"""Lambda imitated: functions run in-process from their code folders, with the Lambda runtime's errors and retries."""
