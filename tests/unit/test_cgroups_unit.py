"""When tuner reads a container's figures from cgroups, and when it keeps the stats stream."""

from __future__ import annotations

import pytest

from tuner.runner import cgroups


class FakeApi:
    def __init__(self, info):
        self._info = info

    def info(self):
        if isinstance(self._info, Exception):
            raise self._info
        return self._info


@pytest.mark.parametrize("host, info, why", [
    ("tcp://10.0.0.2:2375", {"CgroupDriver": "cgroupfs", "CgroupVersion": "1"}, "remote"),
    ("ssh://box", {"CgroupDriver": "cgroupfs", "CgroupVersion": "1"}, "remote"),
    (None, {"CgroupDriver": "systemd", "CgroupVersion": "1"}, "systemd driver"),
    (None, {"CgroupDriver": "cgroupfs", "CgroupVersion": "2"}, "cgroup v2"),
    (None, ConnectionError("gone"), "no answer"),
])
def test_the_stats_stream_is_kept_where_cgroups_cannot_be_read(monkeypatch, host, info, why):
    if host:
        monkeypatch.setenv("DOCKER_HOST", host)
    else:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert not cgroups.usable(FakeApi(info)), why


def test_figures_and_removal_under_a_parent(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroups, "ROOT", str(tmp_path))
    name = "tuner-s-0-main-w"
    for c in ("memory", "cpuacct", "pids", "blkio"):
        (tmp_path / c / cgroups.PARENT / name).mkdir(parents=True)
    (tmp_path / "memory" / cgroups.PARENT / name / "memory.max_usage_in_bytes").write_text(
        "52428800\n")
    (tmp_path / "cpuacct" / cgroups.PARENT / name / "cpuacct.usage").write_text("250000000\n")
    assert cgroups.parent(name) == f"/tuner/{name}"
    assert cgroups.read(name) == (52428800, 0.25)
    assert cgroups.read("another") == (None, None)  # not there: said, not guessed
    (tmp_path / "pids" / cgroups.PARENT / name / "busy").mkdir()  # still holds a container
    cgroups.remove(name)  # what is empty goes; the busy one stays (rmdir fails)
    assert not (tmp_path / "blkio" / cgroups.PARENT / name).exists()
    assert (tmp_path / "pids" / cgroups.PARENT / name).exists()
