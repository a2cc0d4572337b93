"""The runtime core: the emulated clock, drainable background work, fault injection, TLS-only bucket policies."""
