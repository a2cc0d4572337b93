"""Step Functions imitated beyond moto: service integrations, timeouts on the emulated clock, status-change events."""
