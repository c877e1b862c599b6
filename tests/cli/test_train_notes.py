"""What `ganaug train` tells a team training on a busy machine or for a few steps, on a tiny colour dataset."""

from __future__ import annotations

import json

import numpy as np

from tests.cli.helpers import ganaug

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]


def ingest_parts(tmp_path) -> str:
    """8×8 RGB noise in two classes, 'crack' and 'ok': a generator two steps from initialisation varies less."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("crack", "ok"):
        (tmp_path / "src" / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "src" / name / f"{i}.png")
    result = ganaug("data", "ingest", str(tmp_path / "src"), "--name", "parts", "--resolution", "8")
    assert result.exit_code == 0, result.output
    return "parts"


def busy(monkeypatch, load: float) -> None:
    """A 2-core machine whose other work keeps `load` processes running; torch would train with 2 threads."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("torch.get_num_threads", lambda: 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (load, load, load))


def test_a_busy_machine_is_told_to_train_on_one_thread(home, tmp_path, monkeypatch):
    dataset = ingest_parts(tmp_path)
    busy(monkeypatch, 6.3)
    # On such a machine 86 steps took 3 minutes with torch's 2 threads; one thread ran 2–14× the steps/s. It said
    # nothing: the bar only crawled.
    result = ganaug("train", "--dataset", dataset, "--steps", 2, *TINY, "--json")
    assert result.exit_code == 0, result.output
    assert "note: this machine is busy (load 6.3 on 2 cores)" in result.stderr, result.stderr
    assert "`OMP_NUM_THREADS=1 ganaug train ...`" in result.stderr
    # Wrapped at 80 columns (it was 285), the command and the README section's title whole.
    note = result.stderr[result.stderr.index("note: this machine"):].split("heavy work\")")[0].splitlines()
    assert len(note) == 4 and max(map(len, note)) <= 80, result.stderr
    assert '"A machine shared with other heavy work")' in result.stderr
    assert json.loads(result.stdout)["status"] == "done"  # stdout stays the one JSON object

    busy(monkeypatch, 0.4)  # a quiet machine
    assert "this machine is busy" not in ganaug("train", "--dataset", dataset, "--steps", 2, *TINY).stderr
    busy(monkeypatch, 6.3)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the thread count is already chosen
    assert "this machine is busy" not in ganaug("train", "--dataset", dataset, "--steps", 2, *TINY).stderr


def test_a_run_of_few_steps_is_not_warned_of_mode_collapse(home, tmp_path):
    dataset = ingest_parts(tmp_path)
    result = ganaug("train", "--dataset", dataset, "--steps", 2, *TINY, "--diversity-threshold", 1)
    assert result.exit_code == 0, result.output
    run_id = int(result.stdout.split()[1])
    # It warned "possible mode collapse" for every class of a 86-step run (--minutes 3 on a busy machine) and of a
    # 100-step run at 64², beside the note that the run had trained too little: a generator this young makes every
    # sample of a class alike; that is no collapse yet.
    assert "possible mode collapse" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    at = max(i for i, line in enumerate(lines) if line.startswith("note: samples still vary too little"))
    assert max(len(line) for line in lines[at:] if "/grids" not in line) <= 80, lines[at:]  # it was 376 columns
    last = " ".join(" ".join(lines[at:]).split())
    assert last.startswith("note: samples still vary too little in class crack ("), last
    assert "after only 2 steps that is expected, before the generator has learned the classes" in last
    assert f"`ganaug train --resume {run_id} --minutes M` or `--steps N`" in last
    # a script still gets the reading
    info = json.loads(ganaug("train", "--dataset", dataset, "--steps", 2, *TINY, "--diversity-threshold", 1,
                             "--json").stdout)
    assert info["too_few_steps"] is True and sorted(info["collapsed_classes"]) == ["crack", "ok"]


def test_train_help_says_what_the_bar_shows():
    result = ganaug("train", "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.replace("│", " ").split())
    for needle in ("loss_d and loss_g", "images_per_s", "p, how often the images the discriminator sees are augmented", "collapsed,"):
        assert needle in text, text


def test_generating_from_a_young_run_says_so(home, tmp_path, monkeypatch):
    dataset = ingest_parts(tmp_path)
    result = ganaug("train", "--dataset", dataset, "--steps", 2, *TINY, "--json")
    run_id = json.loads(result.stdout)["run_id"]
    # A 100-step run at 64² gave a batch of 48 noise tiles, and `generate` printed only where they were.
    generated = ganaug("generate", "--run", run_id, "--class", "crack", "--n", 3, "--json")
    assert generated.exit_code == 0, generated.output
    assert json.loads(generated.stdout)["count"] == 3
    assert (f"note: run {run_id} trained only 2 steps, likely too few for realistic samples; train it further "
            f"(`ganaug train --resume {run_id} --minutes M`)") in " ".join(generated.stderr.split()), generated.stderr
    note = generated.stderr[generated.stderr.index("note: run"):].splitlines()
    assert max(map(len, note)) <= 80 and f"(`ganaug train --resume {run_id} --minutes M`)" in generated.stderr, note
    monkeypatch.setattr("ganaug_core.runstats.FEW_STEPS", 2)
    assert "trained only" not in ganaug("generate", "--run", run_id, "--class", "crack", "--n", 3).stderr


def test_generating_a_class_the_run_flagged_as_collapsed_says_so(home, tmp_path, monkeypatch):
    dataset = ingest_parts(tmp_path)
    result = ganaug("train", "--dataset", dataset, "--steps", 2, *TINY, "--diversity-threshold", 1, "--json")
    run_id = json.loads(result.stdout)["run_id"]
    monkeypatch.setattr("ganaug_core.runstats.FEW_STEPS", 2)  # a run old enough for its flags to count
    # A run that ended with crack at 0.10 of real gave a batch of 64 alike samples, and `generate` said only where.
    generated = ganaug("generate", "--run", run_id, "--class", "crack", "--n", 3)
    assert generated.exit_code == 0, generated.output
    said = " ".join(generated.stderr.split())
    assert f"warning: run {run_id} ended with class 0 (crack) flagged by its diversity monitor" in said, said
    assert f"`ganaug train --resume {run_id} --minutes M`" in generated.stderr
    monkeypatch.setattr("ganaug_core.runstats.FEW_STEPS", 500)  # a young run: its own note, not this warning too
    young = ganaug("generate", "--run", run_id, "--class", "crack", "--n", 3).stderr
    assert "trained only 2 steps" in young and "diversity monitor" not in young


def test_a_run_interrupted_young_is_not_warned_of_mode_collapse(home, tmp_path, capsys):
    """Stopped by SIGTERM at step 125 of 3,000, `train` warned "possible mode collapse at step 125, where training was
    interrupted": the young-run note (README, "Mode collapse") was for finished runs only."""
    import typer

    from ganaug.cli.gan import _say_how_it_ended
    from ganaug.runs import default_config, train_run

    dataset = ingest_parts(tmp_path)
    cfg = default_config(dataset, resolution=8, width=4, batch_size=8, steps=50, stats_every=1,
                         diversity_threshold=1.0)
    steps = []
    run_id = train_run(dataset, cfg, progress=steps.append, should_stop=lambda: len(steps) >= 2)  # Ctrl-C, early
    capsys.readouterr()
    try:
        _say_how_it_ended(run_id, "cpu", as_json=False)
    except typer.Exit:  # the interrupted run's exit status
        pass
    said = " ".join(capsys.readouterr().err.split())
    assert "possible mode collapse" not in said, said
    assert "note: samples still vary too little in class" in said and "no collapse yet" in said, said
    assert f"interrupted: checkpoint saved; continue with `ganaug train --resume {run_id}`" in said


def test_bad_options_are_one_line_on_a_busy_machine(home, tmp_path, monkeypatch):
    """`--arch foo` on a busy machine printed the 4-line note on threads first, then the error."""
    dataset = ingest_parts(tmp_path)
    busy(monkeypatch, 6.3)
    result = ganaug("train", "--dataset", dataset, "--steps", 2, *TINY, "--arch", "foo")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["error: --arch must be one of dcgan, resnet, got 'foo'"]
