"""`ganaug audit reproduce`: a batch's samples regenerated from its recorded checkpoint and seeds, byte for byte."""

from __future__ import annotations

import json
import shutil

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Run, Sample
from ganaug_core import paths
from tests.cli.helpers import assert_bad_input, ganaug

TINY = ["--resolution", "8", "--width", "4", "--batch-size", "8"]


def _batch(n: int = 6) -> tuple[int, int]:
    trained = ganaug("train", "--dataset", "digits", "--steps", 2, *TINY, "--json")
    assert trained.exit_code == 0, trained.output
    run_id = json.loads(trained.stdout)["run_id"]
    made = ganaug("generate", "--run", run_id, "--class", "9", "--n", n, "--seed", 5, "--json")
    assert made.exit_code == 0, made.output
    return run_id, json.loads(made.stdout)["batch_id"]


def _reproduce(*args):
    result = ganaug("audit", "reproduce", *map(str, args), "--json")
    return result.exit_code, json.loads(result.stdout)


def test_every_sample_of_a_batch_reproduces_from_its_checkpoint_and_seed(digits, home):
    run_id, batch_id = _batch()
    code, out = _reproduce(batch_id)
    assert code == 0 and (out["samples"], out["checked"], out["reproduced"], out["differ"]) == (6, 6, 6, [])
    text = ganaug("audit", "reproduce", str(batch_id)).stdout
    assert " ".join(text.split()).startswith(f"ok: all 6 samples of batch {batch_id} (run {run_id}, class 9) "
                                             "regenerated from ")
    # Wrapped at 80 columns, the checkpoint's path whole on a line (it was one line of 175 columns).
    assert any(out["checkpoint"] in line for line in text.splitlines()), text
    assert all(len(line) <= 80 + len(out["checkpoint"]) * (out["checkpoint"] in line) for line in text.splitlines())
    code, out = _reproduce(batch_id, "--samples", 3)  # evenly spread: the first, a middle one and the last
    assert code == 0 and (out["checked"], out["reproduced"]) == (3, 3)

    # A later checkpoint of the run (its latest now) is not the batch's: the one with the recorded sha256 is found.
    with session_scope() as s:
        run = s.get(Run, run_id)
        used = paths.resolve(run.checkpoint_path)
        later = used.parent / "checkpoint-9999999.pt"
        shutil.copyfile(used, later)
        with later.open("ab") as f:
            f.write(b"later")
        run.checkpoint_path = paths.relative_to_home(later)
    code, out = _reproduce(batch_id)
    assert code == 0 and out["checkpoint"] == str(used) and out["reproduced"] == 6


def test_a_changed_hash_or_a_lost_checkpoint_exits_1_and_says_which(digits, home):
    run_id, batch_id = _batch()
    with session_scope() as s:
        ids = list(s.scalars(select(Sample.id).where(Sample.batch_id == batch_id).order_by(Sample.id)))
        s.execute(update(Sample).where(Sample.id == ids[2]).values(sha256="0" * 64))
        ckpt = paths.resolve(s.get(Run, run_id).checkpoint_path)
    code, out = _reproduce(batch_id)
    assert code == 1 and out["differ"] == [ids[2]] and out["reproduced"] == 5
    assert " ".join(ganaug("audit", "reproduce", str(batch_id)).stdout.split()).startswith(
        f"DIFFERS: 1 of the 6 samples of batch {batch_id} (run {run_id}, class 9) checked came out with another "
        f"sha256 than recorded: samples {ids[2]}.")

    with ckpt.open("ab") as f:  # the checkpoint edited after the batch was generated
        f.write(b"x")
    code, out = _reproduce(batch_id)
    assert code == 1 and out["checkpoint"] is None and out["checked"] == 0
    assert "NOT REPRODUCIBLE: no checkpoint of run" in ganaug("audit", "reproduce", str(batch_id)).stdout


def test_reproduce_bad_input(digits, home):
    assert_bad_input(ganaug("audit", "reproduce", "77"), "unknown batch 77")
    _, batch_id = _batch(2)
    assert_bad_input(ganaug("audit", "reproduce", str(batch_id), "--samples", "0"), "--samples must be at least 1")
    assert_bad_input(ganaug("audit", "reproduce", str(batch_id), "--device", "tpu"), "--device must be cpu or cuda")


def test_a_batch_stored_at_the_generators_side_by_older_code_still_reproduces(digits, home):
    """Before 2026-12-03 a batch of a run below the dataset's side (8² on 16² digits here) was stored as generated,
    not upsampled: its recorded sha256s are those of the 8×8 PNGs, and they still reproduce after an upgrade."""
    from ganaug_core.imageio import save_png
    from ganaug_core.sampling import GeneratorPipeline

    run_id, batch_id = _batch(4)
    with session_scope() as s:  # rewrite the batch as the old generate_batch wrote it
        rows = s.execute(select(Sample.id, Sample.seed, Sample.path).where(Sample.batch_id == batch_id)
                         .order_by(Sample.id)).all()
        pipe = GeneratorPipeline.from_checkpoint(paths.resolve(s.get(Run, run_id).checkpoint_path))
        out = pipe.from_seeds([9] * len(rows), [seed for _, seed, _ in rows])
        assert out.images.shape[-1] == 8
        for image, (sample_id, _, path) in zip(out.images, rows):
            s.execute(update(Sample).where(Sample.id == sample_id).values(sha256=save_png(image, paths.resolve(path))))
    code, out = _reproduce(batch_id)
    assert code == 0 and (out["checked"], out["reproduced"], out["differ"]) == (4, 4, [])

    with session_scope() as s:  # still a real check: a changed hash of an old batch differs
        s.execute(update(Sample).where(Sample.id == rows[1][0]).values(sha256="0" * 64))
    code, out = _reproduce(batch_id)
    assert code == 1 and out["differ"] == [rows[1][0]] and out["reproduced"] == 3


def test_an_image_traced_to_its_sample_regenerates_to_the_same_bytes(digits, home, tmp_path):
    """An auditor holding one image finds its batch, run, checkpoint, class and seed, and gets its bytes again:
    there was no command that wrote a regenerated image, nor one that found an image's sample."""
    run_id, batch_id = _batch(3)
    with session_scope() as s:
        sample_id, seed, path = s.execute(select(Sample.id, Sample.seed, Sample.path).where(Sample.batch_id == batch_id)
                                          .order_by(Sample.id)).all()[1]
    image = tmp_path / "handed-over.png"
    shutil.copyfile(paths.resolve(path), image)

    traced = ganaug("audit", "trace", str(image), "--json")
    assert traced.exit_code == 0, traced.output
    [t] = json.loads(traced.stdout)["samples"]
    assert (t["sample_id"], t["batch_id"], t["run_id"], t["class_index"], t["seed"]) == (sample_id, batch_id, run_id,
                                                                                           9, seed)
    assert t["checkpoint"] is not None and len(t["checkpoint_sha256"]) == 64
    assert f"regenerate: ganaug audit reproduce {batch_id} --sample {sample_id} --out FILE" in ganaug(
        "audit", "trace", str(image)).stdout

    again = tmp_path / "regenerated.png"
    code, out = _reproduce(batch_id, "--sample", sample_id, "--out", again)
    assert code == 0 and (out["checked"], out["reproduced"], out["out"]) == (1, 1, str(again))
    assert again.read_bytes() == image.read_bytes()
    assert_bad_input(ganaug("audit", "reproduce", str(batch_id), "--sample", sample_id, "--out", again),
                     "already exists")
    assert_bad_input(ganaug("audit", "reproduce", str(batch_id), "--out", tmp_path / "x.png"), "--sample")
    assert_bad_input(ganaug("audit", "reproduce", str(batch_id), "--sample", 10**6), f"sample {10**6} is not one")

    image.write_bytes(image.read_bytes() + b"x")  # other bytes: no sample of this home
    lost = ganaug("audit", "trace", str(image))
    assert lost.exit_code == 1 and lost.stdout.startswith("NOT FOUND: no sample or real image of this home")
