import json

import numpy as np
import pytest

from tfgan import presets, run, trained
from tfgan.data import Images
from tfgan.errors import TfganError
from tfgan.evaluation import evaluate

TINY = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                          sample_every=5, checkpoint_every=5)


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, digits):
    run_dir = tmp_path_factory.mktemp("eval") / "run"
    trainer, images = run.start_run(TINY, run_dir, images=Images(digits[:128], None, "digits"), verbose=False)
    callback = evaluate.EvalCallback(digits, every=5, num=200, metric="fd")
    trainer.callbacks.append(callback)
    result = trainer.fit(images.images, 10, progress=False)
    return run_dir, result, callback


def test_eval_during_training_logs_and_keeps_the_best(evaluated_run):
    run_dir, result, callback = evaluated_run
    scored = [row for row in result.history if "eval/fd" in row]
    assert [row["step"] for row in scored] == [5, 10]
    best = json.loads((run_dir / "best" / "best.json").read_text())
    assert best["fd"] == min(row["eval/fd"] for row in scored) == callback.best_value
    assert list((run_dir / "logs").glob("events.out.tfevents.*"))  # TensorBoard
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    assert "eval/confident_share" in header


def test_best_checkpoint_loads(evaluated_run):
    run_dir, _, _ = evaluated_run
    _, config, step = trained.load_generator(run_dir, best=True)
    best_step = json.loads((run_dir / "best" / "best.json").read_text())["step"]
    assert step == best_step and config["latent_dim"] == 16


def test_evaluate_run_reports_metrics_with_floor(evaluated_run, monkeypatch, digits):
    run_dir, _, _ = evaluated_run
    monkeypatch.setattr(evaluate, "real_images", lambda config, image_size=None: Images(digits, None, "digits"))
    result = evaluate.evaluate_run(run_dir, num=200)
    assert result["step"] == 10 and result["samples"] == 200
    # A 10-step generator is far from real digits; real-vs-real is near its floor.
    assert result["fd"] > 5 * result["fd_floor"]
    assert result["confident_share"] < result["confident_share_real"]
    report = evaluate.format_metrics(result)
    assert "real-vs-real floor" in report and "FD" in report


def test_eval_by_time_scores_at_chunk_ends_only(tmp_path, digits):
    trainer, images = run.start_run(TINY, tmp_path / "run", images=Images(digits[:128], None, "digits"),
                                    verbose=False, steps_per_call=3)
    trainer.callbacks.append(evaluate.EvalCallback(digits, num=200, every_seconds=1e-9))
    sizes, compiled = [], trainer.train_steps
    trainer.train_steps = lambda iterator, k: (sizes.append(int(k)), compiled(iterator, k))[1]
    result = trainer.fit(images.images, 9, progress=False)
    # It does not cut chunks short (only TINY's frames and checkpoints do), and scores where a chunk ends
    # and the networks are exact, the first chunk end included.
    assert sizes == [3, 2, 3, 1]  # frames and checkpoints at 5: chunks of 3 end at 3, 5, 8, 9
    assert [row["step"] for row in result.history if "eval/fd" in row] == [3, 5, 8, 9]


def test_unknown_metric_is_a_clear_error(digits):
    with pytest.raises(TfganError, match="unknown metric"):
        evaluate.EvalCallback(digits, metric="accuracy")


def test_sample_shapes():
    import keras

    g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(28 * 28, activation="tanh"),
                          keras.layers.Reshape((28, 28, 1))])
    x = trained.sample_images(g, 1234, 4, batch_size=500)
    assert x.shape == (1234, 28, 28, 1) and np.abs(x).max() <= 1
