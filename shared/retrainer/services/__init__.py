"""What the functions do, written against `retrainer.ports`."""
