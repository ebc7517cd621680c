"""Audio I/O and validation, runtime, the on-disk cache, records and training plumbing: the floor every other part stands on."""
