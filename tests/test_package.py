"""The installed package: every module of every folder is there and imports, and so are the assets."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run where the repository is not on the path: only the installed copy can be imported.
CHECK = r"""
import importlib, pathlib, sys
import tfgan
from tfgan import assets
root = pathlib.Path(tfgan.__file__).parent
assert str(root).startswith(sys.argv[1]), f"imported {root}, not the installed copy"
names = sorted(".".join(("tfgan", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
               for p in root.rglob("*.py") if p.name != "__main__.py")
for name in names:
    importlib.import_module(name)
missing = [p.name for p in (assets.MNIST_SUBSET, assets.MNIST_CLASSIFIER_WEIGHTS, assets.FACE_CLASSIFIER_WEIGHTS)
           if not p.is_file()]
assert not missing, f"assets missing from the installed package: {missing}"
from tfgan.runs import bands
assert sorted(p.name for p in bands.BANDS_DIR.glob("*.json")) == sys.argv[2].split(","), "band files missing"
print(len(names), "modules")
"""


@pytest.mark.slow
def test_installed_package_has_every_module_and_the_assets(tmp_path):
    # Built from a copy, so that the build leaves nothing (build/, *.egg-info) in the working tree.
    source, target = tmp_path / "source", tmp_path / "site"
    shutil.copytree(ROOT / "tfgan", source / "tfgan", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # With setuptools at hand, build with it: no download needed.
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *isolation,
                    "--target", str(target), str(source)], check=True, capture_output=True, text=True, timeout=600)
    env = {**os.environ, "PYTHONPATH": str(target), "TF_CPP_MIN_LOG_LEVEL": "3"}
    shipped_bands = ",".join(sorted(p.name for p in (ROOT / "tfgan" / "assets" / "bands").glob("*.json")))
    done = subprocess.run([sys.executable, "-c", CHECK, str(target), shipped_bands], check=False, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[0]) >= 40  # the top-level modules and those of every folder


# Import every script as a module (their work is behind `if __name__ == "__main__"`), in one process.
SCRIPTS = r"""
import importlib.util, pathlib, sys
failed = []
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location(pathlib.Path(path).stem, path)
    try:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except Exception as exc:  # noqa: BLE001 - report every script that cannot start
        failed.append(f"{path}: {type(exc).__name__}: {exc}")
print("\n".join(failed))
"""


def test_every_script_and_benchmark_imports():
    # The README tells people to run these; a renamed name in tfgan must not break them unseen.
    paths = sorted(str(p) for folder in ("scripts", "benchmarks") for p in (ROOT / folder).glob("*.py"))
    assert len(paths) >= 10
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", SCRIPTS, *paths], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout
