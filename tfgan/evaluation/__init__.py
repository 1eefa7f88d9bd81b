"""Measuring a generator: classifier features, Fréchet distance, KID, mode counts, copies, scoring a run."""
