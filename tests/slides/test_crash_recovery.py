"""kill -9 of the slides service mid-upload, with a second replica sharing its
folder: the live upload is left alone, the dead one's debris goes at the next start.
Real processes (`python -m services.slides`), real gRPC, one slides folder."""

from __future__ import annotations

import queue
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import grpc
import pytest

from micrographia.slides.v1 import slides_pb2 as pb
from micrographia.slides.v1 import slides_pb2_grpc
from tests.harness import free_port
from tests.platform.test_entrypoints import process, wait_serving

pytestmark = pytest.mark.slow


def upload_debris(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name.startswith(".upload-"))


class OpenUpload:
    """An UploadSlide stream that sent its header and some bytes and stays open."""

    def __init__(self, address: str) -> None:
        self._messages: queue.Queue[pb.UploadSlideRequest | None] = queue.Queue()
        self._messages.put(pb.UploadSlideRequest(header=pb.UploadSlideHeader(filename="a.svs")))
        self._messages.put(pb.UploadSlideRequest(chunk=b"half a slide" * 1000))
        self._channel = grpc.insecure_channel(address)
        self._future = slides_pb2_grpc.SlidesServiceStub(self._channel).UploadSlide.future(
            iter(self._messages.get, None), timeout=120
        )

    def close(self) -> None:
        self._future.cancel()
        self._messages.put(None)
        self._channel.close()


def slides_service(env: dict[str, str]) -> tuple[int, AbstractContextManager[subprocess.Popen]]:
    """A port, and `python -m services.slides` listening on it once entered."""
    port = free_port()
    return port, process(["-m", "services.slides"], {**env, "MICROGRAPHIA_SLIDES_PORT": str(port)})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_kill_9_mid_upload_with_a_live_replica(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "slides"
    env = {"MICROGRAPHIA_DATABASE_URL": database_url, "MICROGRAPHIA_SLIDES_DIR": str(folder)}
    first_port, first = slides_service(env)
    second_port, second = slides_service(env)
    with first as first_child, second as second_child:
        wait_serving(f"127.0.0.1:{first_port}", first_child)
        wait_serving(f"127.0.0.1:{second_port}", second_child)
        dying = OpenUpload(f"127.0.0.1:{first_port}")
        wait_for(lambda: len(upload_debris(folder)) == 2, "the first upload reaches the disk")
        dead_files = upload_debris(folder)
        assert {Path(name).suffix for name in dead_files} == {".lock", ".part"}
        living = OpenUpload(f"127.0.0.1:{second_port}")
        try:
            wait_for(lambda: len(upload_debris(folder)) == 4, "the second upload reaches the disk")
            both = upload_debris(folder)
            first_child.kill()  # SIGKILL: no cleanup of any kind
            first_child.wait(10)
            assert upload_debris(folder) == both

            # A replica starting now sweeps the dead upload and leaves the live one.
            third_port, third = slides_service(env)
            with third as third_child:
                wait_serving(f"127.0.0.1:{third_port}", third_child)
                assert upload_debris(folder) == sorted(set(both) - set(dead_files))
        finally:
            dying.close()
            living.close()
        # The live upload, cancelled, cleans up after itself.
        wait_for(lambda: upload_debris(folder) == [], "the cancelled upload is removed")
