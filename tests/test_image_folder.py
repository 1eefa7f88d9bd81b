"""Loading folders of mixed, messy images into one uint8 array."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tfgan.data import image_folder
from tfgan.data.image_folder import list_image_files, load_image_folder
from tfgan.errors import DataError

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _solid(size: tuple[int, int], color, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def _animated_gif(path: Path) -> None:
    frames = [_solid((20, 20), RED), _solid((20, 20), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _palette_with_transparency(path: Path) -> None:
    im = Image.new("P", (20, 20), 0)
    im.putpalette([0, 0, 0] + [255, 0, 0] * 255)  # index 0 black, the rest red
    im.paste(1, (5, 5, 15, 15))
    im.save(path, transparency=0)  # the black border is transparent


def _make_mixed_folder(root: Path) -> int:
    """Fill ``root`` with every kind of file a scraped dataset holds; return the good count."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".thumbs").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (70, 100, 3), dtype=np.uint8)).save(root / "odd.jpg")
    _solid((30, 40), 128, "L").save(root / "gray.png")
    _solid((30, 30), (0, 255, 0, 128), "RGBA").save(root / "rgba.png")
    _palette_with_transparency(root / "palette.png")
    _solid((24, 24), BLUE).save(root / "pic.webp")
    _solid((24, 24), RED).save(root / "pic.bmp")
    _animated_gif(root / "anim.gif")
    _solid((50, 50), WHITE).save(root / "UPPER.PNG")
    _solid((16, 16), RED).save(root / "sub" / "deeper" / "nested.png")
    # Broken or not images: counted as skipped.
    (root / "corrupt.jpg").write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    # Ignored altogether: not an image extension, or hidden.
    (root / "notes.txt").write_text("not an image")
    _solid((8, 8), RED).save(root / ".hidden.png")
    _solid((8, 8), RED).save(root / ".thumbs" / "thumb.png")
    return 9


def _load_single(tmp_path: Path, image: Image.Image, name: str, size: int = 8, **save) -> np.ndarray:
    folder = tmp_path / "one"
    folder.mkdir()
    image.save(folder / name, **save)
    out = load_image_folder(folder, size, progress=False, verbose=False, cache=False)
    assert out.shape == (1, size, size, 3)
    return out[0].astype(int)


def test_list_image_files_is_recursive_sorted_and_skips_hidden(tmp_path):
    _make_mixed_folder(tmp_path)
    names = [p.relative_to(tmp_path).as_posix() for p in list_image_files(tmp_path)]
    assert names == sorted(names)
    assert "sub/deeper/nested.png" in names
    assert "UPPER.PNG" in names and "corrupt.jpg" in names
    assert "notes.txt" not in names
    assert not any(part.startswith(".") for n in names for part in n.split("/"))
    assert len(names) == 11


def test_mixed_folder_loads_every_good_image_and_reports_bad_ones(tmp_path, capsys):
    good = _make_mixed_folder(tmp_path)
    x = load_image_folder(tmp_path, 16, progress=False, cache=False)
    assert x.shape == (good, 16, 16, 3)
    assert x.dtype == np.uint8
    out = capsys.readouterr().out
    assert "skipped 2 of 11 files" in out
    assert "corrupt.jpg (cannot identify image file)" in out
    assert "truncated.png" in out
    assert "notes.txt" not in out


@pytest.mark.parametrize(
    ("image", "name", "expected"),
    [
        (_solid((30, 20), 100, "L"), "gray.png", (100, 100, 100)),
        (_solid((20, 20), 1, "1"), "bits.png", WHITE),
        (_solid((20, 20), (0, 0, 0, 0), "RGBA"), "clear.png", WHITE),  # alpha onto white
        (_solid((20, 20), (255, 0, 0, 255), "RGBA"), "opaque.png", RED),
        (_solid((20, 20), (0, 0), "LA"), "clear_la.png", WHITE),
        (_solid((20, 20), 32896, "I;16"), "gray16.png", (128, 128, 128)),  # 16-bit: rescaled
        (_solid((20, 20), (0, 255, 255, 0), "CMYK"), "cmyk.jpg", RED),
        (_solid((1600, 1200), (200, 50, 50)), "big.jpg", (200, 50, 50)),  # draft() path
        (_solid((20, 20), BLUE), "blue.webp", BLUE),
        (_solid((20, 20), RED), "red.bmp", RED),
    ],
)
def test_modes_and_formats_become_rgb(tmp_path, image, name, expected):
    pixel = _load_single(tmp_path, image, name)
    assert np.abs(pixel - np.array(expected)).max() <= 6, pixel[0, 0]


def test_palette_transparency_becomes_white(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    _palette_with_transparency(folder / "p.png")
    x = load_image_folder(folder, 20, progress=False, verbose=False, cache=False)[0].astype(int)
    assert (x[0, 0] >= 250).all()  # transparent border
    assert x[10, 10, 0] >= 250 and x[10, 10, 1:].max() <= 5  # opaque red centre


def test_gif_uses_first_frame(tmp_path):
    folder = tmp_path / "g"
    folder.mkdir()
    _animated_gif(folder / "anim.gif")
    r, _, b = load_image_folder(folder, 8, progress=False, cache=False)[0].mean(axis=(0, 1))
    assert r > 200 and b < 50


@pytest.mark.parametrize("size", [(90, 30), (30, 90)])
def test_centre_crop_drops_the_margins(tmp_path, size):
    w, h = size
    a = np.zeros((h, w, 3), dtype=np.uint8)  # black margins...
    if w > h:
        a[:, w // 3 : 2 * w // 3] = 255  # ...around a white centre square
    else:
        a[h // 3 : 2 * h // 3, :] = 255
    pixel = _load_single(tmp_path, Image.fromarray(a), "c.png", size=16)
    assert pixel.min() >= 250


def test_exif_orientation_is_applied(tmp_path):
    a = np.zeros((20, 20, 3), dtype=np.uint8)
    a[:, :10] = RED  # stored: red left, blue right
    a[:, 10:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    x = _load_single(tmp_path, Image.fromarray(a), "phone.png", size=8, exif=exif)
    # Shown upright, red is on top and blue at the bottom.
    assert x[0, :, 0].mean() > 200 and x[0, :, 2].mean() < 50
    assert x[-1, :, 2].mean() > 200 and x[-1, :, 0].mean() < 50


def test_worker_count_does_not_change_the_result(tmp_path):
    _make_mixed_folder(tmp_path)
    kw = {"image_size": 12, "progress": False, "verbose": False, "cache": False}
    np.testing.assert_array_equal(
        load_image_folder(tmp_path, workers=1, **kw), load_image_folder(tmp_path, workers=4, **kw)
    )


# ------------------------------------------------------------------ errors


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match=r"dataset folder not found: .*nope — pass --dataset"):
        load_image_folder(tmp_path / "nope")


def test_file_instead_of_folder(tmp_path):
    _solid((8, 8), RED).save(tmp_path / "a.png")
    with pytest.raises(DataError, match=r"is a file, not a folder.*--dataset"):
        load_image_folder(tmp_path / "a.png")


def test_empty_folder(tmp_path):
    with pytest.raises(DataError, match=r"dataset folder is empty"):
        load_image_folder(tmp_path)


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(DataError, match=r"no image files .* only 2 other files"):
        load_image_folder(tmp_path)


def test_folder_of_only_broken_images(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"<html>not found</html>")
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"none of the 2 image files .* could be read"):
        load_image_folder(tmp_path, progress=False, cache=False)


def test_bad_image_size(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(tmp_path, image_size=0)


# ------------------------------------------------------------------- cache


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.npy"))


def test_cache_hit_and_invalidation(tmp_path, monkeypatch, capsys):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    good = _make_mixed_folder(data)
    first = load_image_folder(data, 16, cache_dir=cache, progress=False)
    assert len(_cache_files(cache)) == 1
    assert not list(cache.glob("*.tmp"))  # the atomic write left nothing behind

    # A hit must not decode anything: make decoding impossible.
    real_decode = image_folder._decode_one

    def broken(*_args):
        raise AssertionError("decoded despite a cache hit")

    monkeypatch.setattr(image_folder, "_decode_one", broken)
    capsys.readouterr()
    second = load_image_folder(data, 16, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(first, second)
    assert "from cache" in capsys.readouterr().out

    # Another size is another cache entry.
    monkeypatch.setattr(image_folder, "_decode_one", real_decode)
    load_image_folder(data, 8, cache_dir=cache, progress=False, verbose=False)
    assert len(_cache_files(cache)) == 2

    # Adding a file invalidates the entry, and the stale file is removed.
    old_16 = [p for p in _cache_files(cache) if "-16px-" in p.name]
    _solid((20, 20), BLUE).save(data / "new.bmp")
    os.utime(data / "new.bmp", ns=(10**9, 10**9))
    third = load_image_folder(data, 16, cache_dir=cache, progress=False, verbose=False)
    assert len(third) == good + 1
    new_16 = [p for p in _cache_files(cache) if "-16px-" in p.name]
    assert len(new_16) == 1 and new_16 != old_16

    # Editing a file in place invalidates it too, even at the same byte size
    # (uncompressed BMP): the modification time tells.
    _solid((20, 20), RED).save(data / "new.bmp")
    os.utime(data / "new.bmp", ns=(2 * 10**9, 2 * 10**9))
    fourth = load_image_folder(data, 16, cache_dir=cache, progress=False, verbose=False)
    assert not np.array_equal(third, fourth)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    _solid((8, 8), RED).save(data / "a.png")
    monkeypatch.setenv("TFGAN_CACHE_DIR", str(tmp_path / "env_cache"))
    load_image_folder(data, 8, progress=False, verbose=False)
    assert len(_cache_files(tmp_path / "env_cache")) == 1


def test_cache_false_writes_nothing(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    _solid((8, 8), RED).save(data / "a.png")
    monkeypatch.setenv("TFGAN_CACHE_DIR", str(tmp_path / "env_cache"))
    load_image_folder(data, 8, progress=False, verbose=False, cache=False)
    assert not (tmp_path / "env_cache").exists()


def test_unwritable_cache_is_a_notice_not_an_error(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    _solid((8, 8), RED).save(data / "a.png")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    x = load_image_folder(data, 8, cache_dir=blocker / "cache", progress=False)
    assert x.shape == (1, 8, 8, 3)
    assert "not caching decoded images" in capsys.readouterr().out


def test_corrupt_cache_file_is_rebuilt(tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    _solid((8, 8), RED).save(data / "a.png")
    first = load_image_folder(data, 8, cache_dir=cache, progress=False, verbose=False)
    (entry,) = _cache_files(cache)
    entry.write_bytes(b"garbage")
    again = load_image_folder(data, 8, cache_dir=cache, progress=False, verbose=False)
    np.testing.assert_array_equal(first, again)


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels: a decompression bomb's first bytes."""
    import struct
    import zlib

    buf = io.BytesIO()
    _solid((1, 1), RED).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])  # keep depth, colour type, ...
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_hostile_files_are_skipped_and_counted_one_line(tmp_path, capsys):
    folder = tmp_path / "hostile"
    folder.mkdir()
    _solid((40, 40), RED).save(folder / "good.png")
    (folder / "bomb.png").write_bytes(_png_claiming(20000, 20000))
    (folder / "empty.jpg").write_bytes(b"")
    jpeg = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(jpeg, "JPEG")
    (folder / "cut.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    _solid((200, 2), BLUE).save(folder / "strip.png")  # 2 pixels tall
    os.symlink("loop.png", folder / "loop.png")  # a link to itself
    os.symlink(".", folder / "again")  # a folder link back to the folder: not followed
    bad_name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not valid UTF-8
    _solid((40, 40), BLUE).save(folder / bad_name)
    x = load_image_folder(folder, 16, progress=False, cache=True, cache_dir=tmp_path / "cache")
    assert x.shape == (2, 16, 16, 3)  # good.png and the oddly named one
    out = capsys.readouterr().out.strip().splitlines()
    skipped = [line for line in out if line.startswith("skipped")]
    assert len(skipped) == 1 and skipped[0].startswith("skipped 5 of 7 files")
    assert "bomb.png (Image size (400000000 pixels) exceeds limit" in skipped[0]
    assert "cut.jpg" in skipped[0] or "strip.png" in skipped[0]  # three names shown, then "…"
    names = {name: why for name, why in (
        (p.name, why) for p, why in image_folder._decode_all(
            list_image_files(folder), 16, 1, False)[1])}
    assert names["empty.jpg"] == "cannot identify image file"
    assert "truncated" in names["cut.jpg"]
    assert names["strip.png"] == "too small (200×2) to make a 16×16 image"
    assert "loop.png" in names
    assert image_folder.printable(bad_name) == "caf\\xe9.png"


def test_a_hundred_thousand_tiny_files_keep_progress_and_memory_sane(tmp_path, monkeypatch, capsys):
    """100,000 files: one bar that moves a few dozen times, not 100,000; memory for the images and
    little per file. Decoding is stubbed (the real decoder is tested above; here 100k of them would
    take 15 s): listing, hashing for the cache, the chunked thread pool and the bar are the real ones."""
    import shutil
    import tempfile

    # In memory where there is a tmpfs: 100,000 files on a busy disk take from 2 to 20 s to write.
    folder = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else tmp_path))
    try:
        _load_many(folder, tmp_path, monkeypatch, capsys)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_many(folder: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    n, size = 100_000, 16
    blob = io.BytesIO()
    _solid((6, 6), RED).save(blob, "PNG")
    for i in range(n):
        if i % 1000 == 0:
            (folder / f"{i // 1000:03d}").mkdir()
        (folder / f"{i // 1000:03d}" / f"{i:06d}.png").write_bytes(blob.getvalue())
    pixel = np.full((size, size, 3), 7, np.uint8)
    monkeypatch.setattr(image_folder, "_decode_one", lambda path, size: pixel)

    def kib(field: str) -> int:
        return int(Path("/proc/self/status").read_text().split(f"{field}:")[1].split()[0])

    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here (Linux)
    before = kib("VmRSS")
    x = load_image_folder(folder, size, cache_dir=tmp_path / "cache", workers=2)
    grown = (kib("VmHWM") - before) * 1024
    assert x.shape == (n, size, size, 3) and (x == 7).all()
    bar = capsys.readouterr().err
    updates = bar.count("\r")
    assert "100000/100000" in bar and 2 <= updates < 300, updates  # refreshed by time, not per file
    per_file = (grown - x.nbytes) / n
    print(f"peak +{grown / 2**20:.0f} MB for {x.nbytes / 2**20:.1f} MB of images: {per_file:.0f} bytes per file")
    assert per_file < 1200  # the paths and their stats; a second copy of the images would add 880
