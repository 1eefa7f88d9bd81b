"""Time the notebooks top to bottom, as a reader runs them: `python benchmarks/notebooks.py 01 06`.

Each notebook is executed with nbclient in its own folder, in full mode unless `--smoke`; runs go to
`--run-root` (default `notebooks/runs/`, where the notebooks write and find each other's runs). The executed copies
are written to `--out` for reading, never over the committed (output-free) notebooks.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(path: Path, out_dir: Path, timeout: int) -> float:
    """Execute `path`, write the executed copy into `out_dir`, return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out_dir / path.name)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="+", help="notebook numbers, e.g. 01 05")
    parser.add_argument("--smoke", action="store_true", help="TFGAN_SMOKE=1: tiny runs")
    parser.add_argument("--run-root", default=str(NOTEBOOKS / "runs"), help="where the notebooks' runs go")
    parser.add_argument("--out", default="executed_notebooks", help="where the executed copies go")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may take")
    args = parser.parse_args()
    os.environ["TFGAN_RUN_ROOT"] = str(Path(args.run_root).resolve())
    if args.smoke:
        os.environ["TFGAN_SMOKE"] = "1"
    else:
        os.environ.pop("TFGAN_SMOKE", None)
    # The kernel imports tfgan from this checkout, installed or not.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NOTEBOOKS.parent), os.environ.get("PYTHONPATH")]))
    for number in args.numbers:
        (path,) = sorted(NOTEBOOKS.glob(f"{number}_*.ipynb"))
        seconds = run_notebook(path, Path(args.out), args.timeout)
        print(f"{path.name}: {seconds:.0f} s ({'smoke' if args.smoke else 'full'})", flush=True)


if __name__ == "__main__":
    main()
