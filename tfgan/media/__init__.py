"""Pictures of training: grids, progress frames, history plots, animations, notebook display."""
