"""The public test API: a user's own test file run by pytest through the installed plugin, the
failure output it explains with, and a cloud's teardown leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from altsim_lab.testing import Cloud, CloudError
from altsim_lab.testing import cloud as cloud_module

USER_TEST = """\
def test_first_spawn_fails(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2"])
    altsim_cloud.fail_spawn("host1")
    server = altsim_cloud.boot("vm", "small")
    altsim_cloud.wait_for_state(server, "ACTIVE")
    assert server.host == server.selection[1] == "host2"
    assert altsim_cloud.usage("host1")["VCPU"] == 0
"""


def _pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a folder outside the project, as a user runs it after `pip install altsim`:
    nothing but the installed entry point brings the plugin in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=directory, capture_output=True, text=True, timeout=300,
                          env=env)


def test_a_users_ten_line_test_runs_with_the_installed_plugin(tmp_path: Path) -> None:
    assert len(USER_TEST.splitlines()) <= 10
    (tmp_path / "test_mine.py").write_text(USER_TEST)

    result = _pytest(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_failing_test_shows_each_servers_story_and_its_timeline(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(USER_TEST.replace('== "host2"', '== "host1"'))

    result = _pytest(tmp_path, "--altsim-report-dir", str(tmp_path / "reports"))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "altsim servers" in result.stdout
    assert "selection: host1, host2" in result.stdout
    assert "attempt 1: host1 rescheduled: simulated spawn failure" in result.stdout
    assert "attempt 2: host2 active" in result.stdout
    timelines = list((tmp_path / "reports").glob("*/timeline.png"))
    assert len(timelines) == 1 and timelines[0].stat().st_size > 0


def test_without_a_broker_the_rabbit_mode_skips_saying_why(tmp_path: Path) -> None:
    (tmp_path / "test_mine.py").write_text(USER_TEST)
    url = "rabbit://guest:guest@127.0.0.1:1/"  # nothing listens on port 1

    before = os.environ.get("CI")
    try:
        os.environ.pop("CI", None)  # on a user's machine: a skip
        skipped = _pytest(tmp_path, "--altsim-transport-url", url, "-rs")
        os.environ["CI"] = "true"  # under CI: a failure
        failed = _pytest(tmp_path, "--altsim-transport-url", url)
    finally:
        os.environ.pop("CI") if before is None else os.environ.update(CI=before)

    assert "1 skipped" in skipped.stdout and "no RabbitMQ on 127.0.0.1:1" in skipped.stdout
    assert failed.returncode == 1 and "no RabbitMQ on 127.0.0.1:1" in failed.stdout


def test_teardown_leaves_no_thread_file_or_bus_behind(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from altsim import memory_driver

    # A temporary folder of this test's own: other runs on the machine make altsim-* too.
    # Both where the cloud's folder goes (/dev/shm by default) and any other temporary file.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(cloud_module, "WORKDIR_ROOT", str(tmp_path))
    threads_before = set(threading.enumerate())
    cloud = Cloud(cells={"cell1": ["host1", "host2"]})
    cloud.fail_spawn("host1")
    server = cloud.boot("vm", "small")
    workdir = Path(cloud._workdir.name)  # type: ignore[union-attr]
    vhosts = cloud.deployment._vhosts()
    assert server.status == "ACTIVE" and workdir.exists() and workdir.parent == tmp_path

    cloud.close()

    assert set(threading.enumerate()) - threads_before == set()
    assert not workdir.exists()
    assert list(tmp_path.iterdir()) == []
    for vhost in vhosts:
        with pytest.raises(KeyError):
            memory_driver.vhost_stats(vhost)


def test_the_shape_is_refused_once_started_and_typos_at_once() -> None:
    with Cloud(cells={"cell1": 2}) as cloud:
        with pytest.raises(CloudError, match="scheduler.max_attempt: no such option"):
            cloud.set_config("scheduler.max_attempt", 2)
        with pytest.raises(CloudError, match="no host named 'host9'"):
            cloud.fail_spawn("host9")
        server = cloud.boot("vm", "small")
        assert server.host in {"cell1-host-001", "cell1-host-002"}
        with pytest.raises(CloudError, match="the cloud has started"):
            cloud.set_config("scheduler.max_attempts", 2)
        with pytest.raises(CloudError, match="already used"):
            cloud.boot("vm", "small")


def test_a_compute_started_and_stopped_mid_test() -> None:
    with Cloud(cells={"cell1": ["host1"]}) as cloud:
        cloud.start()
        cloud.stop_compute("host1")
        cloud.start_compute("host2", resources={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 10})
        cloud.add_flavor("big", VCPU=2, MEMORY_MB=1024)

        server = cloud.boot("vm", "big")

        cloud.wait_for_state(server, "ACTIVE")
        assert server.selection == ["host2"]
        assert cloud.usage("host2")["VCPU"] == 2
        assert [e["event"] for e in cloud.events(server)][-1] == \
            "compute_build_and_run_instance"


def test_a_new_host_in_no_cell_or_with_bad_resources_is_refused_and_not_added() -> None:
    with Cloud(cells={"cell1": ["host1"]}) as cloud:
        with pytest.raises(CloudError, match="start_compute: no cell named 'cell9'"):
            cloud.start_compute("host2", cell="cell9")
        with pytest.raises(CloudError, match="start_compute 'host2': resources.VCPU: Input "
                                             "should be greater than or equal to 1"):
            cloud.start_compute("host2", resources={"VCPU": 0})
        assert cloud.spec.host_names() == ["host1"]


def test_a_hung_spawn_times_out_the_wait_saying_where_it_is() -> None:
    with Cloud(cells={"cell1": ["host1", "host2"]}) as cloud:
        cloud.fail_spawn("host1", action="hang")
        with pytest.raises(TimeoutError, match="still building"):
            cloud.boot("vm", "small", timeout=0.5)
        with pytest.raises(CloudError, match="ACTIVE or ERROR"):
            cloud.wait_for_state(cloud.servers[0], "BUILD")


def test_run_periodics_writes_the_failed_builds_the_compute_counted() -> None:
    with Cloud() as cloud:
        cloud.fail_spawn("host1", times=None)
        cloud.boot("vm", "small")
        assert cloud.failed_builds("host1") == 0  # counted by the compute, not in the row
        assert next(h for h in cloud.report()["hosts"]
                    if h["name"] == "host1")["failed_builds"] == 0

        assert cloud.run_periodics() == 1  # host1's row only: the others are as written
        assert cloud.failed_builds("host1") == 1
        assert next(h for h in cloud.report()["hosts"]
                    if h["name"] == "host1")["failed_builds"] == 1
        assert cloud.run_periodics() == 0


def test_meanwhile_is_refused_over_a_broker_before_anything_starts() -> None:
    cloud = Cloud(transport_url="rabbit://guest:guest@127.0.0.1:5672/")
    with pytest.raises(CloudError, match="`meanwhile` only in an embedded cloud"):
        cloud.fail_spawn("host1", meanwhile=lambda: None)
    assert cloud.deployment is None  # refused before reaching a broker


def test_an_embedded_clouds_folder_is_in_memory_unless_tmpdir_names_a_place(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMPDIR", raising=False)
    shm_usable = os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)
    assert cloud_module._ram_folder() == ("/dev/shm" if shm_usable else None)

    monkeypatch.setenv("TMPDIR", "/var/tmp")
    assert cloud_module._ram_folder() is None
