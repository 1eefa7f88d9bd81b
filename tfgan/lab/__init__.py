"""Notebook 06's lab: the same settings trained over several seeds and scored, and sample trails."""
