"""Knobs into real systems: templates in command, env and files; values as written; ranges of
any size, with units. Pure: no Docker."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from tuner import app
from tuner.errors import JobError, TrialFailed
from tuner.job import parse_job
from tuner.runner.specs import TrialContext, container_spec, file_path
from tuner.space import Space
from tuner.templates import Templates, duration, size


def load(text: str, tmp_path: Path, **files: str) -> app.Validated:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "job.yaml"
    path.write_text(textwrap.dedent(text))
    return app.validate(str(path))


def error(text: str, tmp_path: Path, **files: str) -> str:
    with pytest.raises(JobError) as exc:
        load(text, tmp_path, **files)
    return exc.value.message


JOB = """
parameters:
  sharedBuffers: {range: {min: 16m, max: 2g, step: 16m}, default: 128m}
  journal: {enum: [delete, truncate, wal, memory, off], default: off}
  ratio: {enum: [1.10, 1.2, 4g]}
spec:
  containers:
    db:
      image: x
      command: ["postgres", "-c", "shared_buffers={{ sharedBuffers | size('MB') }}",
                "-c", "journal={{ journal }}"]
      env: {PGOPTIONS: "-c ratio={{ ratio }}", FIXED: off, HOME: "${HOME:-/root}"}
      files:
        /etc/app.conf: {content: "{% if journal == 'off' %}fast{% else %}safe{% endif %}\\n"}
        /etc/pg/extra.conf: {template: extra.conf.j2}
"""


def rendered(validated: app.Validated, **params):
    values = validated.space.values({**validated.space.defaults(), **params})
    return validated.templates.render(values)


def test_templates_render_command_env_and_files(tmp_path):
    v = load(JOB, tmp_path, **{"extra.conf.j2": "work_mem = {{ (sharedBuffers // 4) | size }}\n"})
    r = rendered(v, sharedBuffers=256 * 2**20, journal="wal")["db"]
    assert r.command == ["postgres", "-c", "shared_buffers=256MB", "-c", "journal=wal"]
    assert r.env["PGOPTIONS"] == "-c ratio=1.10"
    assert r.env["FIXED"] == "off"
    assert r.env["HOME"]  # ${VAR} still reads the host environment, at load
    assert r.files == {"/etc/app.conf": "safe\n", "/etc/pg/extra.conf": "work_mem = 64m\n"}
    assert rendered(v)["db"].files["/etc/app.conf"] == "fast\n"


def test_string_command_is_rendered_too(tmp_path):
    v = load("""
        parameters: {n: {range: {min: 1, max: 9}, default: 3}}
        spec: {containers: {s: {image: x, command: "run --n {{ n * 2 }}"}}}
    """, tmp_path)
    assert rendered(v)["s"].command == "run --n 6"


def test_rendered_files_are_mounted_read_only_from_the_trial_folder(tmp_path):
    v = load(JOB, tmp_path, **{"extra.conf.j2": "x\n"})
    r = rendered(v)
    ctx = TrialContext(study="s", number=3, env={"JOURNAL": "off"}, outdir="/res/s/3",
                       worker="w", rendered=r)
    spec = container_spec(v.job, "db", ctx, None)
    assert spec.host_config["binds"][file_path("/res/s/3", "db", "/etc/app.conf")] == \
        {"bind": "/etc/app.conf", "mode": "ro"}
    assert file_path("/res/s/3", "db", "/etc/app.conf") == "/res/s/3/files/db/etc/app.conf"
    assert spec.create["command"][2] == "shared_buffers=128MB"
    assert spec.create["environment"]["JOURNAL"] == "off"  # parameters stay env values too


def test_unknown_name_is_a_job_error_with_line_and_hint(tmp_path):
    msg = error("""
        parameters: {sharedBuffers: {range: {min: 1, max: 9}}}
        spec:
          containers:
            db:
              image: x
              command: ["pg", "-c", "sb={{ sharedBufers }}"]
    """, tmp_path)
    assert "job.yaml:7: spec.containers.db.command.2: unknown name 'sharedBufers'" in msg
    assert "did you mean 'sharedBuffers'?" in msg


def test_unknown_name_in_a_template_file_names_that_file_and_its_line(tmp_path):
    msg = error(JOB, tmp_path, **{"extra.conf.j2": "a = 1\nb = {{ nope }}\n"})
    assert "spec.containers.db.files./etc/pg/extra.conf.template" in msg
    assert "extra.conf.j2:2: unknown name 'nope'" in msg


def test_template_syntax_error_and_missing_template_file(tmp_path):
    msg = error(JOB.replace("journal={{ journal }}", "journal={{ journal "), tmp_path,
                **{"extra.conf.j2": "x"})
    assert "spec.containers.db.command.4: template does not parse" in msg
    (tmp_path / "extra.conf.j2").unlink()
    msg = error(JOB, tmp_path)
    assert "files./etc/pg/extra.conf.template: cannot read the template extra.conf.j2: " \
           "no such file" in msg


def test_a_template_that_fails_on_one_trial_fails_that_trial(tmp_path):
    v = load("""
        parameters: {n: {range: {min: 0, max: 3}, default: 1}}
        spec: {containers: {s: {image: x, command: ["x", "{{ 10 // n }}"]}}}
    """, tmp_path)
    assert rendered(v, n=2)["s"].command == ["x", "5"]
    with pytest.raises(TrialFailed, match=r"template spec.containers.s.command.1: .*"
                                          r"ZeroDivisionError"):
        rendered(v, n=0)


def test_templates_are_sandboxed(tmp_path):
    msg = error("""
        parameters: {n: {range: {min: 0, max: 3}}}
        spec: {containers: {s: {image: x, command: ["{{ n.__class__.__mro__ }}"]}}}
    """, tmp_path)
    assert "spec.containers.s.command.0" in msg


@pytest.mark.parametrize("written", ["on", "off", "yes", "no", "y", "n", "1.10", "4g", "0x10",
                                     "1e3", "010", "1_000", ".5", "1:30", "~x"])
def test_values_as_written(written, tmp_path):
    v = load(f"""
        parameters: {{v: {{enum: [{written}, other]}}, n: {{enum: [1, 2.5, true]}}}}
        spec:
          containers:
            s: {{image: x, command: [echo, "{{{{ v }}}}", {written}], env: {{E: {written}}}}}
    """, tmp_path)
    assert v.space.dims["v"].choices == (written, "other")
    assert v.space.env({"v": written, "n": 1})["V"] == written
    r = rendered(v, v=written)["s"]
    assert r.command == ["echo", written, written] and r.env["E"] == written
    # Values that read back as written stay typed; booleans only from true/false.
    assert v.space.dims["n"].choices == (1, 2.5, True)
    assert v.space.env({"v": written, "n": True})["N"] == "true"


def test_numeric_enum_as_written_keeps_its_default_and_sorts_as_numbers(tmp_path):
    from tuner.reports.axes import axis_of_dimension

    v = load("""
        parameters: {ver: {enum: [1.10, 1.9, 1.2], default: 1.10}}
        spec: {containers: {s: {image: x}}}
    """, tmp_path)
    d = v.space.dims["ver"]
    assert d.choices == ("1.10", "1.9", "1.2") and v.space.defaults() == {"ver": "1.10"}
    assert axis_of_dimension(d).values() == ["1.10", "1.2", "1.9"]
    assert axis_of_dimension(d).ordered


def test_yaml_1_1_booleans_are_text_and_strict_bool_fields_say_so(tmp_path):
    msg = error("""
        parameters: {n: {range: {min: 0, max: 3}}}
        spec: {containers: {s: {image: x, privileged: yes}}}
    """, tmp_path)
    assert "spec.containers.s.privileged" in msg and "'yes'" in msg


def test_a_byte_range_is_instant_and_states_its_size(tmp_path):
    t0 = time.process_time()  # CPU time: a busy machine does not slow it
    v = load("""
        parameters:
          cache: {range: {min: 1048576, max: 8589934592, log: true}}
          other: {range: {min: 0, max: 100000000000}}
        spec: {containers: {s: {image: x}}}
    """, tmp_path)
    assert v.space.dims["cache"].count == 8589934592 - 1048576 + 1
    assert v.space.grid_size == (8589934592 - 1048576 + 1) * 100000000001
    with pytest.raises(JobError, match=r"the grid has \d+ points .*use --sampler tpe"):
        v.space.grid()
    assert time.process_time() - t0 < 1.0
    dist = v.space.distributions()["cache"]
    assert (dist.low, dist.high, dist.log) == (1048576, 8589934592, True)


def test_sizes_and_durations_in_ranges(tmp_path):
    v = load("""
        parameters:
          buf: {range: {min: 1m, max: 8g, step: 1m}, default: 128m}
          wait: {range: {min: 30s, max: 5min, step: 30s}, default: 1min}
          lat: {range: {min: 100ms, max: 2s}}
          plain: {range: {min: 1, max: 8}}
        spec:
          containers:
            s: {image: x, command: ["{{ buf | size }}", "{{ wait | duration }}",
                                    "{{ wait | duration('min') }}", "{{ buf | size('kB') }}"]}
    """, tmp_path)
    buf, wait, lat = (v.space.dims[n] for n in ("buf", "wait", "lat"))
    assert (buf.kind, buf.low, buf.high, buf.step, buf.unit) == \
        ("int", 2**20, 8 * 2**30, 2**20, "bytes")
    assert buf.count == 8192 and buf.default == 128 * 2**20
    assert (wait.kind, wait.low, wait.high, wait.step, wait.unit) == \
        ("int", 30, 300, 30, "seconds")
    assert (lat.kind, lat.low, lat.high, lat.unit) == ("float", 0.1, 2.0, "seconds")
    assert buf.describe() == "1m .. 8g step 1m" and wait.describe() == "30s .. 5m step 30s"
    assert rendered(v)["s"].command == ["128m", "60s", "1min", "131072kB"]
    assert v.space.dims["plain"].unit is None


def test_size_and_duration_filters():
    assert size(8 * 2**30) == "8g" and size(1536 * 2**20) == "1536m" and size(1000) == "1000"
    assert size(3 * 2**20, "MB") == "3MB" and size("4g", "GB") == "4GB"
    assert size(2**20 + 2**19, "MB") == "1.5MB"
    assert duration(90) == "90s" and duration(0.25, "ms") == "250ms" and duration(7200, "h") == "2h"
    with pytest.raises(ValueError, match="unknown unit"):
        size(1, "parsecs")


def test_bad_units_are_job_errors(tmp_path):
    msg = error("""
        parameters: {buf: {range: {min: 1m, max: lots}}}
        spec: {containers: {s: {image: x}}}
    """, tmp_path)
    assert "parameters.buf.range" in msg and "'lots'" in msg


def test_alias_bombs_are_bounded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    t0 = time.process_time()  # CPU time: a busy machine does not slow it
    with pytest.raises(JobError, match="expands to more than 100000 values"):
        parse_job(bomb + "parameters: *i\nspec: {}\n", "bomb.yaml")
    assert time.process_time() - t0 < 1.0


def test_jobs_without_templates_render_their_plain_values(tmp_path):
    v = load("""
        parameters: {n: {range: {min: 1, max: 9}}}
        spec: {containers: {s: {image: x, command: [run, 3], env: {A: 1.50, B: true}}}}
    """, tmp_path)
    r = Templates(v.job).render(v.space.values({"n": 1}))["s"]
    assert r.command == ["run", "3"] and r.env == {"A": "1.50", "B": "true"}
    assert Space(v.job).env({"n": 1}) == {"N": "1"}


def test_tpe_runs_on_a_byte_range(tmp_path):
    import optuna

    from tuner.optimize import suggest

    v = load("""
        parameters: {cache: {range: {min: 1048576, max: 8589934592, log: true}}}
        spec: {containers: {s: {image: x}}}
    """, tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1, n_startup_trials=5))
    study.optimize(lambda t: abs(suggest(t, v.space)["cache"] - 2**30), n_trials=15)
    values = [t.params["cache"] for t in study.trials]
    assert all(isinstance(x, int) and 2**20 <= x <= 8 * 2**30 for x in values)
    assert len(set(values)) == 15


def test_shell_syntax_is_not_template_syntax(tmp_path):
    v = load("""
        parameters: {n: {range: {min: 1, max: 9}, default: 2}}
        spec:
          containers:
            s: {image: x, command: [sh, -c, 'echo ${#N} {#x#} {{ n }} ${N%0}']}
    """, tmp_path)
    assert rendered(v)["s"].command == ["sh", "-c", "echo ${#N} {#x#} 2 ${N%0}"]


def test_a_file_path_cannot_climb_out_of_the_trial_folder(tmp_path):
    msg = error("""
        parameters: {n: {range: {min: 1, max: 2}}}
        spec: {containers: {s: {image: x, files: {/etc/../../../x: {content: a}}}}}
    """, tmp_path)
    assert "spec.containers.s.files./etc/../../../x" in msg and "'..'" in msg


RUNAWAY = """
    parameters: {n: {range: {min: 1, max: 3}, default: 1}}
    spec:
      containers:
        s:
          image: x
          command: [x, "{{ n }}"]
          env: {BIG: "RUNAWAY"}
"""


@pytest.mark.parametrize("runaway, said", [
    ("{{ 'a' * 10**9 }}", "'*' would make 1,000,000,000 characters"),
    ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
    ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
     "still rendering after 1 s"),
    ("{% for i in range(99999) %}{% for j in range(99999) %}xy{% endfor %}{% endfor %}",
     "the rendered text is over 1,048,576 characters"),
    ("{{ 'a'.ljust(10**9) }}", "ljust() would make"),
    ("{{ '%999999999s' % n }}", "a width in a format string"),
    ("{{ ('a' * 10**6)|replace('a', 'aa') }}", "replace() would make 2,000,000"),
    ("{{ (['a' * 10**6] * 1000)|join }}", "join would make 1,000,000,000"),
    ("{{ 10**(10**9) }}", "'**' would make a number of about 4,000,000,000 bits"),
])
def test_a_runaway_template_is_a_job_error_at_once(runaway, said, tmp_path):
    started = time.monotonic()
    msg = error(RUNAWAY.replace("RUNAWAY", runaway), tmp_path)
    assert time.monotonic() - started < 10  # about 1 s for the slow one; no machine needs 10
    assert "job.yaml:8: spec.containers.s.env.BIG: template stopped" in msg or \
        "job.yaml:8: spec.containers.s.env.BIG: template failed" in msg, msg
    assert said in msg


def test_a_template_runaway_for_one_trial_fails_that_trial(tmp_path):
    v = load(RUNAWAY.replace("RUNAWAY", "{{ 'a' * 10**(3 * n) }}"), tmp_path)
    assert len(rendered(v, n=2)["s"].env["BIG"]) == 10**6
    with pytest.raises(TrialFailed, match=r"template spec.containers.s.env.BIG: template "
                                          r"stopped: '\*' would make 1,000,000,000"):
        rendered(v, n=3)
    # The time limit left nothing behind: the next render is not interrupted.
    assert rendered(v, n=1)["s"].command == ["x", "1"]


def test_bounded_templates_still_do_the_ordinary_things(tmp_path):
    v = load(RUNAWAY.replace("RUNAWAY", "{{ [1, 2]|sum }} {{ ['a', 'b']|join(',') }} "
                             "{{ 'a,b'.replace(',', ';') }} {{ 2**40 }} {{ 'x' * 3 }} "
                             "{{ '%3s' % n }} {{ '{:>3}'.format(n) }} {{ 'a'|center(3) }} "
                             "{{ [[1], [2]]|sum(start=[]) }} {{ 'a\\nb'|indent(2) }}"),
             tmp_path)
    assert rendered(v, n=2)["s"].env["BIG"] == \
        "3 a,b a;b 1099511627776 xxx   2   2  a  [1, 2] a\n  b"


def test_the_time_limit_stops_a_trial_rendered_in_a_worker_thread(tmp_path):
    import threading

    v = load(RUNAWAY.replace("RUNAWAY", "{% for i in range(99999 * (n - 1)) %}{% for j in "
                             "range(99999) %}{% endfor %}{% endfor %}"), tmp_path)
    got = []

    def render():
        try:
            rendered(v, n=2)
        except TrialFailed as exc:
            got.append(str(exc))

    t = threading.Thread(target=render)
    t.start()
    t.join(30)
    assert got and "still rendering after 1 s" in got[0]


OMIT_JOB = """
    parameters:
      long: {enum: ['off', 27, 30], default: 'off'}
      omitted: {enum: [a, b]}
    spec:
      containers:
        z:
          image: x
          command: [zstd, "{{ ('--long=' ~ long) if long != 'off' else omit }}",
                    "{% if long == 'off' %}{{ omit }}{% else %}-T2{% endif %}", "", data.tar]
          env: {ZSTD_CLEVEL: "{{ omit if long == 'off' else 19 }}", KEEP: ""}
"""


def test_omit_leaves_out_a_command_word_or_an_env_variable(tmp_path):
    v = load(OMIT_JOB, tmp_path)
    off = rendered(v)["z"]
    assert off.command == ["zstd", "", "data.tar"]  # a word written empty stays: it may matter
    assert off.env == {"KEEP": ""} and off.omitted == ("command.1", "command.2",
                                                        "env.ZSTD_CLEVEL")
    on = rendered(v, long="27")["z"]
    assert on.command == ["zstd", "--long=27", "-T2", "", "data.tar"]
    assert on.env == {"ZSTD_CLEVEL": "19", "KEEP": ""} and on.omitted == ()
    ctx = TrialContext(study="s", number=0, env={"LONG": "off"}, outdir="/r", worker="w",
                       rendered={"z": off})
    create = container_spec(v.job, "z", ctx, None).create
    assert create["command"] == ["zstd", "", "data.tar"]
    assert "ZSTD_CLEVEL" not in create["environment"] and create["environment"]["LONG"] == "off"
    assert v.default_commands() == {"z": (["zstd", "", "data.tar"], off.omitted)}


def test_omit_inside_a_text_is_an_error(tmp_path):
    for where, field in (('command: "zstd {{ omit }}"', "spec.containers.z.command"),
                         ('files: {/etc/z: {content: "{{ omit }}"}}',
                          "spec.containers.z.files./etc/z.content")):
        msg = error(f"""
            parameters: {{n: {{range: {{min: 1, max: 3}}}}}}
            spec: {{containers: {{z: {{image: x, {where}}}}}}}
        """, tmp_path)
        assert f"job.yaml:3: {field}: omit leaves out a word of a list command or an env " \
               "variable" in msg, msg
    v = load("""
        parameters: {n: {range: {min: 1, max: 3}, default: 1}}
        spec: {containers: {z: {image: x, command: "zstd {{ omit if n == 2 else n }}"}}}
    """, tmp_path)
    with pytest.raises(TrialFailed, match="template spec.containers.z.command: omit leaves"):
        rendered(v, n=2)


def test_a_parameter_named_omit_is_that_parameter(tmp_path):
    v = load("""
        parameters: {omit: {enum: [x, y]}}
        spec: {containers: {z: {image: x, command: [echo, "{{ omit }}"]}}}
    """, tmp_path)
    assert rendered(v)["z"].command == ["echo", "x"]
