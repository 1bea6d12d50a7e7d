"""Tests of sagan_tf.metrics.hub_download: a module served on 127.0.0.1 in TF-Hub's
compressed format is downloaded by tensorflow_hub's own resolver into the cache, found
there with the server stopped, and not fetched offline."""

import http.server
import io
import os
import tarfile
import threading

import numpy as np
import pytest

from sagan_tf import compat
from sagan_tf.metrics import ClassifierNotFoundError, classifier_loaders, hub_download
from tests.local_ports import free_ports


class ModuleServer:
    """Serves `module_dir` as `GET /<anything>?tf-hub-format=compressed` (a tar.gz of
    the SavedModel's files, as tfhub.dev serves it); counts the requests."""

    def __init__(self, module_dir):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name in os.listdir(module_dir):
                tar.add(os.path.join(module_dir, name), arcname=name)
        payload, server = buffer.getvalue(), self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if not self.path.endswith("?tf-hub-format=compressed"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-tar")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]),
                                                     Handler)
        self.handle = f"http://127.0.0.1:{self.httpd.server_port}/stand-in/inception/1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(fake_inception_dir):
    served = ModuleServer(fake_inception_dir)
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def compressed_format(monkeypatch):
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    monkeypatch.delenv(hub_download.OFFLINE_ENV, raising=False)


def test_downloads_once_then_uses_the_cache_with_the_server_stopped(
        server, tmp_path, random_images, fake_inception_dir, capsys):
    cache = str(tmp_path / "cache")
    first = classifier_loaders.inception_classifier(
        input_size=16, hub_cache_dir=cache, handles=(server.handle,))
    assert server.requests == ["/stand-in/inception/1?tf-hub-format=compressed"]
    folder = os.path.join(cache, compat.tfhub_cache_folder(server.handle))
    assert sorted(os.listdir(folder)) == sorted(os.listdir(fake_inception_dir))
    out = capsys.readouterr().out
    assert f"Downloading TF-GAN's Inception module from {server.handle}" in out
    assert "Downloaded TF-GAN's Inception module into" in out
    images = random_images(3, 16)
    direct = classifier_loaders.inception_classifier(fake_inception_dir, input_size=16)
    np.testing.assert_allclose(first(images)[1], direct(images)[1], rtol=1e-6)

    server.stop()
    again = classifier_loaders.inception_classifier(
        input_size=16, hub_cache_dir=cache, handles=(server.handle,), offline=True)
    np.testing.assert_allclose(again(images)[1], direct(images)[1], rtol=1e-6)
    assert "Downloading" not in capsys.readouterr().out


def test_a_url_classifier_is_downloaded_the_same_way(server, tmp_path):
    classifier = classifier_loaders.load_classifier(
        server.handle, input_size=16, hub_cache_dir=str(tmp_path / "cache"))
    assert classifier.num_features == 5 and len(server.requests) == 1


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_offline_with_an_empty_cache_fails_by_name(server, tmp_path, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv(hub_download.OFFLINE_ENV, "1")
    with pytest.raises(ClassifierNotFoundError,
                       match=r"--classifier=inception.*not in the TF-Hub cache.*"
                             r"downloads are off \(--offline or \$SAGAN_OFFLINE\)"):
        classifier_loaders.inception_classifier(
            hub_cache_dir=str(tmp_path / "empty"), handles=(server.handle,),
            offline=True if how == "flag" else None)
    assert server.requests == []


def test_a_failed_download_names_the_handle(tmp_path):
    port, = free_ports(1)  # nothing listens there
    handle = f"http://127.0.0.1:{port}/missing/1"
    with pytest.raises(ClassifierNotFoundError, match=f"Downloading {handle} through "
                                                      "tensorflow_hub failed"):
        classifier_loaders.load_classifier(handle, hub_cache_dir=str(tmp_path / "c"))


def test_offline_follows_the_argument_then_the_environment(monkeypatch):
    assert hub_download.is_offline(True) and not hub_download.is_offline(False)
    assert not hub_download.is_offline()
    monkeypatch.setenv(hub_download.OFFLINE_ENV, "true")
    assert hub_download.is_offline() and not hub_download.is_offline(False)


def test_the_cache_directory_reaches_tensorflow_hub_only_while_it_resolves(
        server, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "users_cache"))
    path = hub_download.resolve_module(server.handle, str(tmp_path / "given"))
    assert path == os.path.join(str(tmp_path / "given"),
                                compat.tfhub_cache_folder(server.handle))
    assert os.environ["TFHUB_CACHE_DIR"] == str(tmp_path / "users_cache")
    assert not os.path.exists(tmp_path / "users_cache")
