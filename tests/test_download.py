"""Download code against a real HTTP server on 127.0.0.1 serving files the tests make."""

import functools
import http.server
import threading

import pytest
from idx_files import small_images

from digitlab.errors import DatasetError
from digitlab.mnist.data import download, load_file


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """Serves good/, corrupt/ and (by absence) 404 copies of a small IDX file."""
    root = tmp_path_factory.mktemp("mirror")
    content, spec = small_images()
    (root / "good").mkdir()
    (root / "good" / spec.name).write_bytes(content)
    (root / "corrupt").mkdir()
    (root / "corrupt" / spec.name).write_bytes(content[: len(content) // 2])
    (root / "missing").mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", spec, content
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_good_file_is_downloaded_verified_and_cached(mirror, tmp_path):
    url, spec, content = mirror
    images = download(spec, tmp_path, (f"{url}/good/",))
    assert images.shape == (5, 28, 28)
    assert (tmp_path / spec.name).read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [spec.name]  # no partial file left


def test_corrupt_download_fails_and_leaves_nothing(mirror, tmp_path):
    url, spec, _ = mirror
    with pytest.raises(DatasetError, match="not a complete gzip file"):
        download(spec, tmp_path, (f"{url}/corrupt/",))
    assert list(tmp_path.iterdir()) == []


def test_missing_file_names_every_mirror_tried_and_the_offline_fix(mirror, tmp_path):
    url, spec, _ = mirror
    with pytest.raises(DatasetError) as error:
        download(spec, tmp_path, (f"{url}/missing/", f"{url}/corrupt/"))
    message = str(error.value)
    assert f"{url}/missing/{spec.name}: HTTP Error 404" in message
    assert f"{url}/corrupt/{spec.name}" in message
    assert "DIGITLAB_MNIST_DIR" in message
    assert list(tmp_path.iterdir()) == []


def test_next_mirror_is_tried_after_a_failure(mirror, tmp_path):
    url, spec, _ = mirror
    mirrors = (f"{url}/missing/", f"{url}/corrupt/", f"{url}/good/")
    assert download(spec, tmp_path, mirrors).shape == (5, 28, 28)
    assert [p.name for p in tmp_path.iterdir()] == [spec.name]


def test_unreachable_host_gives_a_clear_error(tmp_path):
    _, spec = small_images()
    with pytest.raises(DatasetError, match="Could not obtain"):
        download(spec, tmp_path, ("http://127.0.0.1:9/",), timeout=2)


def test_corrupt_cached_file_is_replaced_by_a_fresh_download(mirror, tmp_path):
    url, spec, content = mirror
    (tmp_path / spec.name).write_bytes(b"not gzip at all")
    images = load_file(spec, cache_dir=tmp_path, mirrors=(f"{url}/good/",))
    assert images.shape == (5, 28, 28)
    assert (tmp_path / spec.name).read_bytes() == content


def test_valid_cached_file_is_used_without_downloading(mirror, tmp_path):
    _, spec, content = mirror
    (tmp_path / spec.name).write_bytes(content)
    assert load_file(spec, cache_dir=tmp_path, mirrors=()).shape == (5, 28, 28)
