"""The busy-machine note (`ganaug.busy_machine`) where training happens outside `ganaug train`: the job worker that
`ganaug app` starts, `ganaug benchmark` and `ganaug demo`. They trained just as slowly and said nothing."""

from __future__ import annotations

import pytest

from ganaug.busy_machine import BusyMachine
from tests.cli.helpers import run
from tests.cli.test_train_notes import busy

NOTE = "note: this machine is busy (load 6.3 on 2 cores): torch's 2 threads wait on each other"


def test_the_worker_says_so_as_it_starts_and_as_a_training_job_starts(home, monkeypatch, capsys):
    from ganaug.worker import execute_job, run_worker, submit

    busy(monkeypatch, 6.3)
    run_worker(once=True, command="ganaug app")
    assert f"worker: {NOTE}" in capsys.readouterr().err
    job = submit("benchmark", {"dataset": "nope"})  # trains classifiers; fails at once on the unknown dataset
    assert execute_job(job, command="ganaug app") == "failed"
    err = capsys.readouterr().err
    assert f"worker: job {job}: {NOTE}" in err and "`OMP_NUM_THREADS=1 ganaug app`" in err, err
    sleeping = submit("sleep", {"seconds": 0, "steps": 1})  # no training: nothing to say
    assert execute_job(sleeping) == "done"
    assert "busy" not in capsys.readouterr().err

    busy(monkeypatch, 0.4)  # a quiet machine
    run_worker(once=True)
    assert "busy" not in capsys.readouterr().err


@pytest.mark.parametrize("started_by", [None, "app", "demo"])
def test_the_worker_names_the_command_that_started_it(home, monkeypatch, started_by):
    import ganaug.worker
    from ganaug.cli.serve import worker_command

    once = ganaug.worker.run_worker
    monkeypatch.setattr(ganaug.worker, "run_worker", lambda **kwargs: once(**kwargs, once=True))
    job = ganaug.worker.submit("benchmark", {"dataset": "nope"})  # a training job: said again as it starts
    busy(monkeypatch, 6.3)
    # A worker started by hand was told to run `ganaug app` with the variable; the one `ganaug app` or `ganaug demo`
    # starts has their environment, so they are what to start again.
    args = ["worker"] if started_by is None else worker_command(started_by)[3:]
    result = run(*args)
    assert result.exit_code == 0, result.output
    said = f"`OMP_NUM_THREADS=1 ganaug {started_by or 'worker'}`"
    assert f"worker: {NOTE}" in result.stderr and f"worker: job {job}: {NOTE}" in result.stderr, result.stderr
    assert result.stderr.count(said) == 2 and result.stderr.count("OMP_NUM_THREADS=1") == 2, result.stderr


def test_the_demo_serves_with_a_worker_that_names_the_demo(home, monkeypatch):
    from ganaug.cli import serve as serve_module
    from ganaug.demo import DemoInfo

    served = []
    monkeypatch.setattr("ganaug.demo.prepare_demo", lambda **k: DemoInfo("digits", 1, [1], None, None, None, steps=1000))
    monkeypatch.setattr(serve_module, "check_can_listen", lambda host, port: host)
    monkeypatch.setattr(serve_module, "serve", lambda host, port, **kwargs: served.append(kwargs) or 0)
    assert run("demo").exit_code == 0
    assert served == [{"started_by": "demo"}]
    assert run("worker", "--started-by", "nope").exit_code == 2  # only ours pass it; not in `ganaug worker --help`
    assert "--started-by" not in run("worker", "--help").stdout


def test_benchmark_says_so_before_it_trains(home, monkeypatch):
    busy(monkeypatch, 6.3)
    result = run("benchmark", "--dataset", "nope", "--quick")
    assert result.exit_code == 2, result.output
    assert NOTE in " ".join(result.stderr.split()) and "`OMP_NUM_THREADS=1 ganaug benchmark ...`" in result.stderr
    assert max(map(len, result.stderr.splitlines())) <= 80, result.stderr  # wrapped: it was 289 columns


def test_the_demo_says_so_naming_the_command_that_trains_its_run_further(monkeypatch):
    from ganaug.demo import DemoInfo

    monkeypatch.setattr("ganaug.demo.typed_command", lambda: "ganaug")
    info = DemoInfo(dataset="digits", run_id=3, batch_ids=[1], user=None, password=None, role=None, steps=152,
                    busy=BusyMachine(6.3, 2, 2))
    assert f"{NOTE} and training may run several times slower than it could; `OMP_NUM_THREADS=1 ganaug train " \
           "--resume 3 --minutes 2`" in info.notes()[1]
    assert "this machine is busy" not in " ".join(DemoInfo("digits", 3, [1], None, None, None, steps=152).notes())


def test_the_demo_reads_the_load_before_it_trains_not_after(home, monkeypatch):
    # Its own training loads the machine: read after it, every demo on 2 cores would be "busy". (Training, generating
    # and scoring are stood in for: only the order matters here.)
    import ganaug.demo as demo
    from db.engine import session_scope
    from db.models import Run
    from tests.db.helpers import make_dataset

    with session_scope() as s:
        dataset = make_dataset(s, home, name="digits")
        trained = Run(dataset_id=dataset.id, status="done", run_dir="runs/1", config={}, config_sha256="c" * 64,
                      code_version="test", step=2)
        s.add(trained)
        s.flush()
        run_id = trained.id
    seen = []
    monkeypatch.setattr(demo, "busy_machine", lambda device: seen.append("load") or BusyMachine(6.3, 2, 2))
    monkeypatch.setattr("ganaug.runs.train_run", lambda *a, **k: seen.append("train") or run_id)
    monkeypatch.setattr(demo, "_minority_classes", lambda name: [])
    info = demo.prepare_demo(steps=2)
    assert seen == ["load", "train"] and info.busy == BusyMachine(6.3, 2, 2)
    assert "`OMP_NUM_THREADS=1" in " ".join(info.notes())
