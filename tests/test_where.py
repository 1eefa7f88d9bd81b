"""Colab-proof runs: Google Drive as the run root (tested with a stand-in `google.colab`), the device line,
and the notebooks' pinned install."""

import sys
import types
from pathlib import Path

import nbformat
import pytest

import tfgan
from tfgan.errors import TfganError
from tfgan.runs import where

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture
def colab(monkeypatch, tmp_path):
    """A stand-in for Colab: `google.colab.drive.mount` makes the mount point, or fails when told to."""
    mounts, state = [], {"fail": None}

    def mount(path):
        if state["fail"]:
            raise state["fail"]
        mounts.append(path)
        (tmp_path / "drive" / "MyDrive").mkdir(parents=True, exist_ok=True)

    colab_module = types.ModuleType("google.colab")  # beside the real `google` namespace (protobuf's)
    colab_module.drive = types.SimpleNamespace(mount=mount)
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    monkeypatch.setattr(where, "DRIVE_MOUNT", str(tmp_path / "drive"))
    monkeypatch.delenv("TFGAN_RUN_ROOT", raising=False)
    return types.SimpleNamespace(mounts=mounts, state=state, drive=tmp_path / "drive")


def test_in_colab_runs_go_to_drive_and_resume(colab, tmp_path):
    said = []
    root = where.run_root(None, local=tmp_path / "runs", say=said.append)
    assert root == colab.drive / "MyDrive" / "tfgan" / "runs" and root.is_dir()
    assert colab.mounts == [str(colab.drive)] and "Google Drive" in said[0]
    assert where.on_drive(root / "01_mnist_dcgan")
    assert where.start_over(None, root / "01_mnist_dcgan") is False  # a new VM resumes the run
    assert where.start_over(True, root / "01_mnist_dcgan") is True  # unless FRESH says otherwise


def test_a_drive_that_does_not_mount_falls_back_to_the_vm_saying_so(colab, tmp_path):
    colab.state["fail"] = ValueError("mount failed: user declined")
    said = []
    assert where.run_root(None, local=tmp_path / "runs", say=said.append) == tmp_path / "runs"
    assert "did not mount" in said[0] and "lost when Colab recycles" in said[0]
    assert where.start_over(None, tmp_path / "runs" / "01") is True
    with pytest.raises(ValueError, match="user declined"):  # ON_DRIVE = True insists
        where.run_root(True, local=tmp_path / "runs", say=said.append)


def test_on_drive_false_keeps_the_vm_disk_with_a_warning(colab, tmp_path):
    said = []
    assert where.run_root(False, local=tmp_path / "runs", say=said.append) == tmp_path / "runs"
    assert colab.mounts == [] and "lost when Colab recycles the VM" in said[0]


def test_outside_colab_runs_stay_local_and_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("TFGAN_RUN_ROOT", raising=False)
    assert "google.colab" not in sys.modules
    assert where.run_root(None, local=tmp_path) == tmp_path
    with pytest.raises(TfganError, match="needs Colab"):
        where.run_root(True)
    monkeypatch.setenv("TFGAN_RUN_ROOT", str(tmp_path / "elsewhere"))
    assert where.run_root(None) == tmp_path / "elsewhere"


def test_the_device_line_on_a_cpu_says_how_long_and_how_to_get_a_gpu(monkeypatch, colab):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    line = where.device_line(cpu_minutes=15)
    assert line.startswith("training on the CPU") and "about 15 minutes on a 2-core CPU" in line
    assert "Runtime → Change runtime type → GPU" in line  # in (stand-in) Colab
    monkeypatch.delitem(sys.modules, "google.colab")
    assert "tensorflow[and-cuda]" in where.device_line(cpu_minutes=15)
    gpu = types.SimpleNamespace(name="/physical_device:GPU:0")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda g: {"device_name": "Tesla T4"})
    assert where.device_line(cpu_minutes=15) == "training on a GPU (Tesla T4)"


def test_a_cpu_with_bfloat16_instructions_is_told_so(monkeypatch, tmp_path):
    import tensorflow as tf

    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert where.native_bfloat16(with_bf16) and not where.native_bfloat16(without)
    assert not where.native_bfloat16(tmp_path / "missing")  # not Linux: no claim
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(where, "native_bfloat16", lambda: True)
    assert "mixed_precision='bfloat16' in start_run (--bfloat16) may train faster" in where.device_line(10)
    monkeypatch.setattr(where, "native_bfloat16", lambda: False)
    assert "bfloat16" not in where.device_line(cpu_minutes=10)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_pins_this_release_says_its_device_and_can_keep_runs_on_drive(path):
    code = "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code")
    assert f'TFGAN_VERSION = "{tfgan.__version__}"' in code
    assert 'git+https://github.com/tfgan/tfgan@v{TFGAN_VERSION}' in code
    assert '"git+https://github.com/tfgan/tfgan"' not in code  # the unpinned default branch
    assert code.count("where.device_line(") == 1
    assert "ON_DRIVE = None" in code and "where.run_root(ON_DRIVE)" in code
    assert 'os.environ.get("TFGAN_RUN_ROOT"' not in code  # one rule, in where.run_root
