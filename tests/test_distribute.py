"""The train step under tf.distribute: two logical CPU devices stand in for two GPUs.

Logical devices must be set before TensorFlow starts, so the run happens in a fresh interpreter.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tfgan import trained

pytestmark = pytest.mark.slow  # several logical devices and worker processes

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfgan import presets, run
    from tfgan.data import Images

    digits = Images(np.load(sys.argv[2])["x"], None, "digits")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out = {"replicas": strategy.num_replicas_in_sync}
    tiny = presets.get_preset("mnist-dcgan").replace(width=8, latent_dim=16, batch_size=16, num_samples=16,
                                              sample_every=4, checkpoint_every=4, ema=0.9)
    for name, preset in [("dcgan", tiny), ("wgan", presets.with_loss(tiny, "wgan-gp").replace(d_steps=2))]:
        trainer, images = run.start_run(preset, f"{sys.argv[1]}/{name}", images=digits, verbose=False,
                                        strategy=strategy, steps_per_call=2)
        result = trainer.fit(images.images, 4, progress=False)
        out[name] = {"step": result.step, "g_iterations": int(trainer.g_optimizer.iterations.numpy()),
                     "d_iterations": int(trainer.d_optimizer.iterations.numpy()),
                     "last": result.history[-1], "traces": trainer.train_steps.experimental_get_tracing_count(),
                     "steps": [row["step"] for row in result.history]}
    print("RESULT " + json.dumps(out))
""")


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, digits):
    np.savez(tmp_path / "digits.npz", x=digits[:128])
    script = tmp_path / "distributed.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "runs"), str(tmp_path / "digits.npz")],
                          capture_output=True, text=True, check=False, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert result["replicas"] == 2
    dcgan, wgan = result["dcgan"], result["wgan"]
    assert dcgan["step"] == 4 and dcgan["g_iterations"] == 4 and dcgan["d_iterations"] == 4
    assert wgan["step"] == 4 and wgan["d_iterations"] == 8  # two critic steps per generator step
    assert dcgan["traces"] == 1 and dcgan["steps"] == wgan["steps"] == [1, 2, 3, 4]  # two calls of 2 steps
    assert all(np.isfinite(v) for v in dcgan["last"].values())
    assert {"wasserstein", "gp", "grad_norm"} <= set(wgan["last"])

    # A checkpoint written under the strategy resumes on a single device.

    generator, config, step = trained.load_generator(tmp_path / "runs" / "dcgan")
    assert step == 4 and config["ema"] == 0.9
    assert generator(np.zeros((2, 16), np.float32)).shape == (2, 28, 28, 1)


def _free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_a_preempted_worker_makes_every_worker_save_at_the_same_step_and_resume(tmp_path, digits):
    """Two worker processes on this machine (MultiWorkerMirroredStrategy over localhost) stand in for
    two hosts, each with its own run directory. SIGTERM to one of them: TensorFlow's
    PreemptionCheckpointHandler has both save at one step and stop (status 143); both resume there."""
    import json
    import os
    import signal
    import time

    import tensorflow as tf

    np.savez(tmp_path / "tiny.npz", x_train=digits[:256])
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}

    def start(index: int, steps: int) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        args = ["train", "mnist-dcgan", "--distribute", "multiworker", "--dataset", tmp_path / "tiny.npz",
                "--width", 8, "--batch-size", 16, "--steps", steps, "--no-progress", "--checkpoint-secs", 0,
                "--checkpoint-every", 10**6, "--run-dir", tmp_path / f"worker{index}"]
        return subprocess.Popen(
            [sys.executable, "-m", "tfgan", *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    workers = [start(i, 10**9) for i in range(2)]
    frames = tmp_path / "worker1" / "frames"
    deadline = time.monotonic() + 240
    while len(list(frames.glob("step_*.png"))) < 2:  # step 0, then one after training started
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers), workers[1].stdout.read()
        time.sleep(0.1)
    workers[1].send_signal(signal.SIGTERM)
    outs = [w.communicate(timeout=240)[0] for w in workers]
    steps = []
    for w, out in zip(workers, outs, strict=True):
        assert w.returncode == 143 and "preempted, every worker saved at this step" in out, out[-2000:]
        steps.append(int(tf.train.latest_checkpoint(str(tmp_path / f"worker{len(steps)}" / "ckpt")).rsplit("-")[-1]))
    assert steps[0] == steps[1] > 0  # the same step on both: neither waits for the other forever
    assert f"stopped by SIGTERM at step {steps[0]}" in outs[0]

    workers = [start(i, steps[0] + 2) for i in range(2)]
    for w in workers:
        out = w.communicate(timeout=240)[0]
        assert w.returncode == 0 and f"from step {steps[0]} " in out and f"step {steps[0] + 2}:" in out, out[-2000:]
