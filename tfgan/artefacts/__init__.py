"""Files made from a finished run: the exported generator with its model card, redrawn progress frames."""
