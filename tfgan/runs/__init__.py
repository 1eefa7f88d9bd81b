"""A run directory on disk and what keeps it safe: its files, config, checkpoints, signals, health."""
