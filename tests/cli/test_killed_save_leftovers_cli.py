"""What a save killed outright left in GANAUG_HOME/models/<dataset>/ (a feature extractor's 270 kB temporary file, a
map's): `runs du` counts it, `runs prune` removes it, and so does the next scoring of that dataset, while a file
being written stays. The staging folders of runs and batches were swept; these files were not, by anything."""

from __future__ import annotations

import json
import os

from ganaug_core import paths
from tests.cli.helpers import ganaug
from tests.core.test_killed_save_leftovers import dead_pid, left


def test_runs_du_counts_a_killed_saves_file_and_runs_prune_removes_it(digits, home):
    folder = paths.models_dir() / "digits"
    folder.mkdir(parents=True)
    killed = left(folder, "feature_extractor.pt", dead_pid(), paths.host_name(), size=270_000)
    writing = left(folder, "embedding.npz", os.getpid(), paths.host_name(), ".tmp.npz")

    du = ganaug("runs", "du")
    assert du.exit_code == 0, du.output
    assert ("models holds 1 temporary file of saves killed outright (270.0 kB): `ganaug runs prune --all` removes it, "
            "as does the next scoring of the dataset") in " ".join(du.output.split())  # wrapped at 80 columns
    assert all(len(line) <= 80 for line in du.output.splitlines() if not line.startswith("home "))  # a path: whole
    listed = json.loads(ganaug("runs", "du", "--json").stdout)["models_leftovers"]
    assert listed == dict(files=1, bytes=270_000, paths=[f"models/digits/{killed.name}"])

    dry = ganaug("runs", "prune", "--all", "--dry-run")
    assert "models: would delete 1 temporary file of saves killed outright (270.0 kB)" in dry.output
    assert killed.exists()
    pruned = json.loads(ganaug("runs", "prune", "--all", "--json").stdout)
    assert (pruned["models_leftovers"]["files"], pruned["freed_bytes"]) == (1, 270_000)
    assert not killed.exists() and writing.exists()  # its writer lives


def test_the_next_scoring_of_the_dataset_removes_what_a_killed_save_left(digits, home, monkeypatch):
    from ganaug import domain_models

    folder = paths.models_dir() / "digits"
    folder.mkdir(parents=True)
    killed = left(folder, "embedding.npz", dead_pid(), paths.host_name(), ".tmp.npz")
    # Every scoring starts by making sure of the extractor: stopped just after its sweep, nothing is trained here.
    class Stop(Exception):
        pass

    def stop(*_args):
        raise Stop

    monkeypatch.setattr(domain_models, "_exclusive", stop)
    try:
        domain_models.ensure_feature_extractor("digits")
    except Stop:
        pass
    assert not killed.exists()
