"""Peak memory and CPU time read exactly from a cgroup per container (local engine, cgroup v1),
checked against what the container was made to use; nothing of the cgroups is left."""

from __future__ import annotations

import os
import textwrap

import pytest

from tuner.app import validate
from tuner.runner import TrialContext, cgroups
from tuner.runner.docker import DockerRunner

pytestmark = pytest.mark.docker

JOB = """
name: meter
objective: {{container: main, regex: 'total ([0-9]+)'}}
parameters:
  x: {{range: {{min: 1, max: 3}}}}
spec:
  containers:
    main:
      image: {image}
      # A 48 MiB buffer held by dd, then a busy loop: memory and CPU we know the size of.
      command: [sh, -c, 'dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null; i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo total $X']
      ram: 256m
  timeout: 30s
"""


def run_one(tmp_path, image: str, number: int = 0):
    job = tmp_path / "job.yaml"
    job.write_text(textwrap.dedent(JOB.format(image=image)))
    v = validate(str(job))
    with DockerRunner(v.job, "meter") as runner:
        out = tmp_path / str(number)
        out.mkdir()
        done = runner.run(TrialContext(study="meter", number=number, env={"X": "1"},
                                       outdir=str(out), worker=runner.worker))
        return runner, done.containers["main"]


def test_peak_memory_and_cpu_time_are_exact_and_nothing_is_left(busybox, tmp_path,
                                                                docker_client):
    runner, c = run_one(tmp_path, busybox)
    assert c.exit_code == 0
    if not runner.cgroups:
        info = docker_client.info()
        pytest.fail(f"cgroup metering should be on for a local cgroupfs v1 engine "
                    f"(driver {info.get('CgroupDriver')}, v{info.get('CgroupVersion')})")
    # dd's 48 MiB buffer is charged to the container: the high-water mark is at least that,
    # and the stats stream (one sample a second) would have missed this short a container.
    assert c.peak_memory is not None and 48 << 20 <= c.peak_memory < 256 << 20
    assert c.cpu_seconds is not None and 0.05 < c.cpu_seconds < 10
    left = [d for d in os.listdir(os.path.join(cgroups.ROOT, "memory", cgroups.PARENT))
            if d.startswith("tuner-meter-")] \
        if os.path.isdir(os.path.join(cgroups.ROOT, "memory", cgroups.PARENT)) else []
    assert not left, f"cgroups left behind: {left}"
