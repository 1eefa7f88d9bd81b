import numpy as np
import pytest
from PIL import Image

from tfgan.errors import TfganError
from tfgan.media import animation
from tfgan.media import images as pictures
from tfgan.media.frames import frame_path
from tfgan.media.history import plot_history
from tfgan.runs.files import atomic_write_bytes
from tfgan.samples import to_uint8


def test_grid_layout_and_scaling():
    images = np.linspace(-1, 1, 5 * 4 * 3 * 1, dtype=np.float32).reshape(5, 4, 3, 1)
    picture = pictures.grid(images, cols=3, pad=1)
    assert picture.shape == (2 * (4 + 1) + 1, 3 * (3 + 1) + 1, 3) and picture.dtype == np.uint8
    assert picture[1, 1, 0] == 0  # the first pixel of the first image is -1 -> black
    assert to_uint8(np.array([1.0]))[0] == 255


def test_gif_from_frames(tmp_path):
    for step in (0, 10, 20, 30):
        pictures.save_grid(np.full((4, 8, 8, 1), step / 30 * 2 - 1, np.float32),
                        frame_path(tmp_path / "frames", step))
    (tmp_path / "frames" / "notes.txt").write_text("ignored")
    out = animation.make_gif(tmp_path / "frames", tmp_path / "p.gif", fps=5, every=2, scale=2)
    with Image.open(out) as gif:
        assert gif.n_frames == 3  # frames 0, 20 and the last one, 30
        assert gif.size[0] == 2 * 22
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] >= 1000  # the last frame is held
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".p.gif*"))


def test_gif_without_frames_is_a_clear_error(tmp_path):
    with pytest.raises(TfganError, match="no frames"):
        animation.make_gif(tmp_path / "frames", tmp_path / "p.gif")


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "a.png"
    atomic_write_bytes(target, b"old")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, None)  # fails mid-write
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_plot_history(tmp_path):
    rows = [{"step": i, "d_loss": 1.0, "g_loss": 2.0, "D(x)": 0.6, "D(G(z))": 0.4} for i in range(1, 50)]
    out = plot_history(rows, tmp_path / "losses.png")
    assert Image.open(out).size[0] > 500


def test_a_stray_file_named_like_a_frame_is_skipped_with_a_notice(tmp_path, capsys):
    frames = tmp_path / "frames"
    for step in (0, 10):
        pictures.save_grid(np.full((4, 8, 8, 1), step / 10 - 1, np.float32), frame_path(frames, step))
    frame_path(frames, 5).write_text("not a picture")  # a stray file with a frame's name
    pictures.save_grid(np.ones((1, 8, 8, 1), np.float32), frame_path(frames, 20))  # another size
    gif = animation.make_gif(frames, tmp_path / "out.gif")
    assert animation.gif_frame_count(gif) == 3
    assert "skipped 1 unreadable frame file(s): step_0000005.png" in capsys.readouterr().out
    with Image.open(gif) as img:
        sizes = set()
        for i in range(img.n_frames):
            img.seek(i)
            sizes.add(img.size)
    assert len(sizes) == 1
    for path in frames.iterdir():
        path.write_text("junk")
    with pytest.raises(TfganError, match="none of the frames"):
        animation.make_gif(frames, tmp_path / "none.gif")
