"""Preemption of multi-worker training: TensorFlow's `PreemptionCheckpointHandler`.

On one machine a SIGTERM stops training at the end of its chunk and saves (`signals.StopRequests`).
Under `MultiWorkerMirroredStrategy` that is not enough: every step is a collective operation, so a worker
that stops alone leaves the others waiting forever, and workers that save at different steps resume
from different places. `tf.distribute.experimental.PreemptionCheckpointHandler` solves both: the
preempted worker tells the others (through the coordination service) at which run count to save, all
of them save there, then they exit and the cluster manager restarts the job, which resumes from that
checkpoint. Here it saves through the trainer's own checkpoint (frames, history, the NaN check) and
then raises `Preempted`, which the loop turns into its usual clean stop (status 143).

The handler counts calls, so every worker must make the same calls: under this strategy the number of
steps per call is fixed (`--steps-per-call`, default 1), not sized by each worker's own clock.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


class Preempted(Exception):
    """Every worker saved at the run count the preempted one chose: stop training now."""


def _hide_deprecation(record) -> bool:
    """TensorFlow's own save path reads its deprecated `total_run_calls`: a warning users can do nothing about."""
    return "total_run_calls" not in record.getMessage()


def uses_handler(strategy: tf.distribute.Strategy | None) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def make_handler(strategy: tf.distribute.Strategy, manager: tf.train.CheckpointManager,
                 save: Callable[[], None]) -> tf.distribute.experimental.PreemptionCheckpointHandler:
    """A handler that saves with `save` and then raises Preempted. It restores `manager`'s newest
    checkpoint when created (the trainer has already done so: the same values again) and takes over
    SIGTERM, so create it after any other SIGTERM handler."""

    def stop() -> None:
        raise Preempted()

    logger = tf.get_logger()
    if _hide_deprecation not in logger.filters:  # once, not once per fit()
        logger.addFilter(_hide_deprecation)
    config = tf.distribute.experimental.TerminationConfig(exit_fn=stop, save_fn=lambda *a, **k: save())
    return tf.distribute.experimental.PreemptionCheckpointHandler(strategy.cluster_resolver, manager,
                                                                  termination_config=config)

