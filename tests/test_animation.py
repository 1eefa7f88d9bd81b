"""Re-exporting progress: formats, cell crops, step ranges and pace, captions, side by side, size budgets."""

import json

import numpy as np
import pytest
from PIL import Image

from tfgan.errors import TfganError
from tfgan.media import animation
from tfgan.media import images as pictures
from tfgan.media.frames import frame_layout, frame_path, frame_scale, list_frames

STEPS = list(range(0, 101, 10))  # 11 frames


def make_run(folder, steps=STEPS, samples=16, size=28, digits=None):
    """A run directory with a known config, frames and history: cell i of the frame at step s is grey
    level 8·i + 1.2·s, so every frame differs (or, with `digits`, real digits shifted by the step)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"num_samples": samples, "image_shape": [size, size, 1],
                                                    "batch_size": 64, "d_steps": 1}))
    for step in steps:
        if digits is not None:
            cells = np.roll(digits[:samples], step // 10, axis=2)
        else:
            cells = np.stack([np.full((size, size, 1), 8 * i + 12 * (step // 10), np.uint8) for i in range(samples)])
        pictures.save_grid(cells, frame_path(folder / "frames", step), scale=frame_scale(size))
    lines = ["step,epoch,d_loss,images/s,eval/fd"] + [f"{s},{s // 50},1.0,640.0,{100 - s}" if s % 20 == 0 else
                                                      f"{s},{s // 50},1.0,640.0," for s in range(1, 101)]
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    return folder


def durations(path):
    with Image.open(path) as img:
        out = []
        for i in range(img.n_frames):
            img.seek(i)
            img.load()  # WebP reports a frame's duration once it is decoded
            out.append(img.info["duration"])
        return out, img.size


def test_layout_and_cell_crops(tmp_path):
    run = make_run(tmp_path / "run")
    layout = frame_layout(run)
    assert (layout.rows, layout.cols, layout.cell, layout.pad) == (4, 4, 56, 4)
    frame = pictures.read_image(frame_path(run / "frames", 0))
    crop = animation.crop_cells(frame, layout, [0, 5, 15])
    # two columns of 56-px cells with 4 px padding; the cells keep their grey levels
    assert crop.shape == (2 * 60 + 4, 2 * 60 + 4, 3)
    assert crop[4 + 28, 4 + 28, 0] == 0 and crop[4 + 28, 64 + 28, 0] == 40 and crop[64 + 28, 4 + 28, 0] == 120
    assert animation.parse_cells("0,5,9-12", 16) == [0, 5, 9, 10, 11, 12]
    for bad, message in (("3,16", "cells 0 to 15, not 16"), ("a-b", "cannot read"), ("", "cells 0 to 15")):
        with pytest.raises(TfganError, match=message):
            animation.parse_cells(bad, 16)


def test_pace_and_step_ranges():
    steps = list(range(0, 10001, 100))
    linear = animation.choose_steps(steps, every=10)
    log = animation.choose_steps(steps, every=10, pace="log")
    assert linear == list(range(0, 10001, 1000))
    assert log[-1] == 10000 and len(log) <= 11
    assert sum(s < 1000 for s in log) >= 4 > sum(s < 1000 for s in linear)  # the early steps get frames
    assert animation.choose_steps(steps, step_range=(500, 800)) == [500, 600, 700, 800]
    with pytest.raises(TfganError, match="no frames in that step range"):
        animation.choose_steps(steps, step_range=(20000, None))


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_gif_and_webp_frame_counts_sizes_and_durations(tmp_path, suffix):
    run = make_run(tmp_path / "run")
    out = tmp_path / f"p{suffix}"
    result = animation.export_progress(run, out, fps=4, samples=4, hold_last=2.0, caption="step {step}")
    assert result["frames"] == 11
    got, size = durations(out)
    assert got == [250] * 10 + [2000]
    assert size == (2 * 60 + 4, 2 * 60 + 4 + 14)  # a 2×2 crop and its caption strip
    result = animation.export_progress(run, tmp_path / f"d{suffix}", duration=2.0, every=2, steps="20:80", caption=None,
                                   hold_last=0)
    got, size = durations(tmp_path / f"d{suffix}")
    assert result["frames"] == 4 and got == [500] * 4  # steps 20, 40, 60, 80 over two seconds
    assert size == (4 * 60 + 4,) * 2  # the full 4×4 grid, no caption


def test_rows_keep_whole_grid_rows_and_captions_know_metrics(tmp_path):
    run = make_run(tmp_path / "run")
    out = tmp_path / "rows.gif"
    animation.export_progress(run, out, rows="1,3", caption="step {step} epoch {epoch} fd {fd:.0f} {minutes:.2f} min")
    with Image.open(out) as gif:
        assert gif.size == (4 * 60 + 4, 2 * 60 + 4 + 20)  # a caption strip of 20 px under wide frames
        gif.seek(2)
        frame = np.asarray(gif.convert("L"))
    # cells 4 and 12 at step 20 (the GIF keeps 64 grey levels: within 2 of the frame's values)
    assert abs(int(frame[4 + 28, 4 + 28]) - 56) <= 2 and abs(int(frame[64 + 28, 4 + 28]) - 120) <= 2
    assert animation.caption_text("fd {fd:.0f} at {minutes:.2f} min", run, 20,
                                  {20: {"eval/fd": 80.0, "epoch": 0}}, {20: 0.0333}) == "fd 80 at 0.03 min"
    # Between evaluations a caption shows the last value logged; before the first, nan.
    history = {10: {"epoch": 0}, 20: {"eval/fd": 80.0}, 30: {}}
    assert [animation.caption_text("{fd:.0f}", run, s, history, {}) for s in (10, 20, 30)] == ["nan", "80", "80"]
    with pytest.raises(TfganError, match=r"cannot be filled at step 0 .*\{step\}"):
        animation.export_progress(run, tmp_path / "x.gif", caption="{kid}")  # never logged
    assert not (tmp_path / "x.gif").exists()


def test_without_ffmpeg_mp4_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "imageio_ffmpeg", None)  # as if not installed
    with pytest.raises(TfganError, match="pip install imageio-ffmpeg"):
        animation.export_progress(make_run(tmp_path / "run"), tmp_path / "p.mp4", fps=5)
    assert not (tmp_path / "p.mp4").exists()


def test_mp4_frames_and_rate(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="MP4 is optional: pip install imageio-ffmpeg (requirements-dev has it)")
    run = make_run(tmp_path / "run")
    out = tmp_path / "p.mp4"
    result = animation.export_progress(run, out, fps=5, hold_last=1.0, samples=9)
    import imageio.v2 as imageio

    reader = imageio.get_reader(out, format="FFMPEG")
    frames = [f for f in reader]
    assert reader.get_meta_data()["fps"] == pytest.approx(5)
    assert len(frames) == 10 + 5  # ten frames, the last held for a second at 5 fps
    assert frames[0].shape[:2] == (3 * 60 + 4 + 14, 3 * 60 + 4)  # a 3×3 crop over its caption (both even)
    assert result["frames"] == 11


def test_side_by_side_by_step_and_by_time(tmp_path):
    a = make_run(tmp_path / "a")
    b = make_run(tmp_path / "b", steps=[0, 20, 40, 60, 80, 100], size=64)  # DCGAN-sized frames, fewer of them
    result = animation.export_progress([a, b], tmp_path / "ab.gif", titles=["A", "B"], samples=4)
    assert result["frames"] == 6  # the common steps
    _, size = durations(tmp_path / "ab.gif")
    assert size[1] == 16 + 124 + 20  # both panels scaled to A's height under their titles; a caption strip
    result = animation.export_progress([a, b], tmp_path / "t.gif", align="time", samples=4)
    assert result["frames"] == 11  # every frame of the first run, beside the nearest in time
    with pytest.raises(TfganError, match="no frame at a common step"):
        animation.export_progress([a, make_run(tmp_path / "c", steps=[5])], tmp_path / "x.gif")


def test_size_budget_and_bad_input(tmp_path, digits):
    run = make_run(tmp_path / "run", steps=list(range(0, 401, 10)), digits=digits[:16])
    full = animation.export_progress(run, tmp_path / "full.gif")
    budget = full["bytes"] / 2**20 * 0.4
    fitted = animation.export_progress(run, tmp_path / "fit.gif", max_mb=budget)
    assert fitted["bytes"] <= budget * 2**20 and fitted["note"].startswith(f"fit {budget:g} MB")
    assert (tmp_path / "fit.gif").stat().st_size == fitted["bytes"]
    with pytest.raises(TfganError, match="cannot fit 0.0001 MB"):
        animation.export_progress(run, tmp_path / "tiny.gif", max_mb=0.0001)
    empty = tmp_path / "empty"
    (empty / "frames").mkdir(parents=True)
    cases = [((empty, tmp_path / "e.gif"), {}, "no frames in"),
             ((run, tmp_path / "e.avi"), {}, "name the file .gif, .webp or .mp4"),
             ((run, tmp_path / "e.gif"), {"cells": "0,99"}, "cells 0 to 15, not 99"),
             ((run, tmp_path / "e.gif"), {"samples": 2, "rows": "1"}, "choose one of"),
             ((run, tmp_path / "e.gif"), {"steps": "5"}, "use A:B")]
    for args, options, message in cases:
        with pytest.raises(TfganError, match=message):
            animation.export_progress(*args, **options)
    assert sorted(p.name for p in tmp_path.glob("*.*")) == ["fit.gif", "full.gif"]


def test_default_gif_is_smaller_than_the_old_writer_at_the_same_frames(tmp_path, digits):
    import imageio.v2 as imageio

    run = make_run(tmp_path / "run", steps=list(range(0, 301, 10)), digits=digits[:64], samples=64)
    old_frames = [pictures.with_caption(pictures.read_image(p), f"step {s}") for s, p in list_frames(run / "frames")]
    imageio.mimsave(tmp_path / "old.gif", old_frames, format="GIF", duration=125, loop=0)  # the writer until now
    new = animation.export_progress(run, tmp_path / "new.gif")
    made = animation.make_gif(run / "frames", tmp_path / "made.gif")  # what training writes uses the same encoder
    assert new["frames"] == animation.gif_frame_count(made) == 31
    assert new["bytes"] < 0.8 * (tmp_path / "old.gif").stat().st_size  # measured: 75%
    assert made.stat().st_size < 0.8 * (tmp_path / "old.gif").stat().st_size


def test_a_stray_file_named_like_a_frame_is_skipped_as_by_the_training_gif(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    frame_path(run / "frames", 55).write_bytes(b"not a png")
    result = animation.export_progress(run, tmp_path / "p.gif")
    assert result["frames"] == 11 and "skipped 1 unreadable frame file(s): step_0000055.png" in capsys.readouterr().out
    for path in (run / "frames").iterdir():
        if path.name != "step_0000055.png":
            path.write_bytes(b"")
    with pytest.raises(TfganError, match="none of the frames"):
        animation.export_progress(run, tmp_path / "q.gif")
