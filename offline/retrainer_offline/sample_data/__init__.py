"""Sample data of tests and the demo, made on this machine (nothing is downloaded)."""
