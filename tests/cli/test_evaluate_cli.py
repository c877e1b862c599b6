"""`ganaug evaluate ...` and the evaluation orchestration, on real SQLite rows and real PNG files.

Batches are inserted directly (run, batch, samples with real PNGs), the way the generator records them, so that a
batch can hold an exact copy of a real training image; one test goes through a tiny trained generator instead.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Batch, RealImage, Report, Run, Sample
from ganaug import domain_models, evaluation
from ganaug.datasets import dataset_arrays
from ganaug_core import paths
from ganaug_core.imageio import save_png, sha256_file
from ganaug_core.scoring import SCORING_VERSION
from tests.cli.helpers import assert_bad_input, ganaug


def insert_batch(dataset: str, images: np.ndarray, class_index: int, gen_side: int | None = None) -> int:
    """A pending batch of real PNGs recorded as the generator records them (by a run at `gen_side`, when given);
    returns its id."""
    row, _ = dataset_arrays(dataset)
    config = {} if gen_side is None else {"resolution": gen_side}
    with session_scope() as s:
        run = Run(dataset_id=row.id, status="done", run_dir="runs/t", config=config, config_sha256="c" * 64,
                  code_version="t")
        s.add(run)
        s.flush()
        batch = Batch(run_id=run.id, dataset_id=row.id, class_index=class_index, count=len(images), seed=0,
                      checkpoint_sha256="k" * 64, config_sha256="c" * 64, code_version="t", folder="")
        s.add(batch)
        s.flush()
        batch.folder = f"batches/{batch.id}"
        for i, img in enumerate(images):
            rel = f"{batch.folder}/{i:05d}.png"
            s.add(Sample(batch_id=batch.id, class_index=class_index, seed=i, path=rel,
                         sha256=save_png(img, paths.resolve(rel))))
        return batch.id


@pytest.fixture
def batch_setup(digits):
    """digits and a class-9 batch: one copy of a training image, five new ones."""
    _, arrays = dataset_arrays(digits)
    x, y = arrays.split("train")
    xt, yt = arrays.split("test")
    copied = int(np.flatnonzero(y == 9)[0])
    batch_id = insert_batch(digits, np.concatenate([x[copied][None], xt[yt == 9][:5]]), 9)
    return digits, batch_id, copied


@pytest.mark.slow  # fits the dataset's UMAP (numba compiles on the first fit in a process)
def test_evaluate_batch_flags_the_copy_and_stores_scores_coordinates_and_report(batch_setup):
    dataset, batch_id, copied = batch_setup
    evaluation.ensure_feature_extractor(dataset, steps=20)  # short training; later calls reuse it as is
    result = ganaug("evaluate", "batch", batch_id, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scores"]["memorized"] == 1 and out["scores"]["exact_copies"] == 1 and out["scores"]["samples"] == 6
    assert out["scores"]["scoring_version"] == out["scores"]["current_scoring_version"] == SCORING_VERSION
    assert out["metrics"]["holdout_split"] == "test" and list(out["metrics"]["per_class"]) == ["9"]
    assert out["metrics"]["overall"]["duplicates"]["exact_copies"] == 1

    with session_scope() as s:
        train_ids = s.scalars(select(RealImage.id).where(RealImage.split == "train").order_by(RealImage.id)).all()
        samples = s.scalars(select(Sample).where(Sample.batch_id == batch_id).order_by(Sample.id)).all()
        assert s.get(Batch, batch_id).scores_computed and s.get(Batch, batch_id).scoring_version == SCORING_VERSION
        assert [x.memorized for x in samples] == [True] + [False] * 5
        assert samples[0].nn_real_ids[0] == train_ids[copied] and samples[0].novelty == 0.0
        assert all(len(x.nn_real_ids) == 5 and x.emb_x is not None and 0 <= x.class_confidence <= 1 for x in samples)
        assert s.scalar(select(RealImage.id).where(RealImage.split == "train", RealImage.emb_x.is_(None))) is None
        assert s.scalar(select(RealImage.id).where(RealImage.split == "test", RealImage.emb_x.is_not(None))) is None
        report = s.scalars(select(Report).where(Report.kind == "batch_metrics")).one()
        assert report.sha256 == sha256_file(paths.resolve(report.path) / "metrics.json")
        first = [(x.class_confidence, x.realism, x.emb_x) for x in samples]

    nearest = evaluation.nearest_real_images(samples[0].id)
    assert nearest[0]["real_image_id"] == train_ids[copied] and nearest[0]["distance"] == 0.0
    assert [n["distance"] for n in nearest] == sorted(n["distance"] for n in nearest)

    again = ganaug("evaluate", "batch", batch_id)  # stored scores are reused, the report is rewritten in place
    assert again.exit_code == 0 and "1 flagged as memorized" in again.output
    # The pixel check's count is named as such: the flag also counts copies in features (a contradiction otherwise).
    assert "copies of training images in pixels: 1 (the memorized flag also counts copies in features" in " ".join(
        again.output.split())  # wrapped at 80 columns
    assert "stored scores, --rescore recomputes them" in again.output and "older" not in again.output
    stored = json.loads(ganaug("evaluate", "batch", batch_id, "--json").stdout)["scores"]
    assert set(stored) == set(out["scores"])  # the second --json lacked exact_copies, near_copies, the extractor
    assert stored["exact_copies"] == 1 and stored["near_copies_of_training"] == out["scores"]["near_copies_of_training"]
    assert stored["near_copies"] == stored["near_copies_of_training"]  # the old name, kept one release for scripts
    rescored = evaluation.score_batch(batch_id, rescore=True)
    assert rescored["recomputed"] and rescored["memorized"] == 1
    with session_scope() as s:
        samples = s.scalars(select(Sample).where(Sample.batch_id == batch_id).order_by(Sample.id)).all()
        # Same scores and the same place on the fixed map (up to BLAS round-off between two feature passes).
        assert np.allclose([(x.class_confidence, x.realism, x.emb_x) for x in samples], first, rtol=1e-5)
        assert len(s.scalars(select(Report)).all()) == 1

    info = json.loads(ganaug("evaluate", "features", "--dataset", dataset, "--json").stdout)
    assert info["sha256"] == sha256_file(paths.resolve(info["path"])) and info["split"] == "train"
    assert info["embedding"]["points"] == len(train_ids)

    # A stored extractor that no longer matches its recorded hash is refused, not silently retrained.
    pt = paths.models_dir() / dataset / "feature_extractor.pt"
    pt.write_bytes(pt.read_bytes() + b"x")
    domain_models._extractors.clear()
    assert_bad_input(ganaug("evaluate", "features", "--dataset", dataset, "--no-embedding"), "does not match")


def test_bad_input_is_one_line_and_writes_nothing(batch_setup):
    dataset, batch_id, _ = batch_setup
    assert_bad_input(ganaug("evaluate", "batch", 999), "unknown batch 999")
    assert_bad_input(ganaug("evaluate", "batch", 10**23), "out of range")  # past SQLite's integers: no traceback
    assert_bad_input(ganaug("evaluate", "features", "--dataset", "nope"), "unknown dataset 'nope'")

    empty = insert_batch(dataset, np.zeros((0, 1, 16, 16), np.uint8), 9)
    assert_bad_input(ganaug("evaluate", "batch", empty), f"batch {empty} has no samples")

    with session_scope() as s:
        victim = s.scalars(select(Sample).where(Sample.batch_id == batch_id).order_by(Sample.id)).first()
    paths.resolve(victim.path).write_bytes(paths.resolve(victim.path).read_bytes() + b"tampered")
    assert_bad_input(ganaug("evaluate", "batch", batch_id), "does not match its recorded sha256")

    wrong_size = insert_batch(dataset, np.zeros((2, 1, 32, 32), np.uint8), 9)  # larger than the dataset's 16×16
    assert_bad_input(ganaug("evaluate", "batch", wrong_size), "holds 1×16×16 images")
    with session_scope() as s:
        assert not any(s.scalars(select(Batch.scores_computed)))
        assert s.scalar(select(Sample.id).where(Sample.class_confidence.is_not(None))) is None
        assert s.scalars(select(Report)).first() is None


def test_the_report_names_the_class():
    from ganaug.cli.evaluate import format_batch_report

    result = {"batch": 3, "scores": dict(dataset="pets", class_index=0, samples=4, memorized=0, mean_confidence=0.9,
                                         mean_realism=0.5, median_novelty=2.0),
              "metrics": {"overall": {}, "holdout_split": "test"}}
    first = format_batch_report(result, ["melanoma", "nevus"]).splitlines()[0]
    assert first == "batch 3 (dataset 'pets', class 0 (melanoma)): 4 samples, 0 flagged as memorized"  # was 'class 0'


def test_a_long_class_name_is_cut_and_every_line_fits_80_columns():
    """38 plant-disease classes: the name, in the title, beside confidence and in class consistency, made lines of
    108–145 columns, and the meanings beside the numbers ran to 119 with any name. The name is cut as `data report`
    cuts it (40 columns), each meaning wrapped under its column; `--json` keeps the name whole."""
    from ganaug.cli.evaluate import format_batch_report

    names = [f"c{i}" for i in range(8)] + ["Tomato___Spider_mites Two-spotted_spider_mite", "Tomato___healthy"]
    report = _report()
    report["scores"]["class_index"] = 8
    lines = format_batch_report(report, names).splitlines()
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    assert lines[:2] == ["batch 1 (dataset 'digits', class 8 (Tomato___Spider_mites Two-spotted_spide…)):",
                         "  64 samples, 0 flagged as memorized"]
    confidence = lines.index(next(line for line in lines if line.startswith("    confidence")))
    assert lines[confidence + 1].startswith(" " * 30 + "(Tomato___Spider_mites")  # under the meaning's column


def _report(kid_std=0.305):
    """What `evaluate batch` measured on the demo's class-9 batch (4 real training images, 60 test images)."""
    ref = {"fid": 3.21, "kid": {"mean": 0.011, "std": 0.02, "subset_size": 4, "subsets": 20},
           "prdc": {"precision": 0.95, "recall": 0.75, "density": 0.9, "coverage": 1.0, "k": 3}, "n_real": 4,
           "n_holdout": 60}
    overall = {"fid": 5.08, "kid": {"mean": -0.2097, "std": kid_std, "subset_size": 4, "subsets": 20},
               "prdc": {"precision": 1.0, "recall": 0.5, "density": 1.25, "coverage": 1.0, "k": 3},
               "consistency": {"class_consistency": 0.984}, "authenticity": {"authenticity": 0.672},
               "dcr": {"closer_to_train": 0.969, "reference_size": 4}, "pixel_copies": {"copies": 0},
               "duplicates": {"exact_copies": 0, "near_copies": 0}}
    return {"batch": 1, "scores": dict(dataset="digits", class_index=9, samples=64, memorized=0, mean_confidence=0.721,
                                       mean_realism=1.767, median_novelty=0.837),
            "metrics": {"overall": overall, "holdout_split": "test", "counts": {"real": 4, "synthetic": 64, "holdout": 60},
                        "reference": ref, "caution": "only 4 real training images in scope: ..."}}


def _rows(text: str) -> dict[str, str]:
    """The report's lines by their first word, each table row with its meaning, wrapped under it, joined back."""
    rows: dict[str, str] = {}
    last = ""
    for line in text.splitlines()[1:]:
        if line.startswith(" " * 8) and rows:  # a meaning's next line, under its column (30 or more)
            rows[last] += " " + line.strip()
        elif line.strip():
            last = line.split()[0]
            rows[last] = line
    return rows


def test_the_report_says_what_each_number_means_and_what_real_data_scores():
    from ganaug.cli.evaluate import format_batch_report

    text = format_batch_report(_report(), [str(c) for c in range(10)])
    lines = _rows(text)
    # KID was "-0.2097" alone: its spread over subsets of 4 (larger than the value) and the real data's own level
    # are what say that this is noise, not a better-than-real batch.
    assert "-0.2097 ± 0.3050" in lines["KID"] and "0.0110 ± 0.0200" in lines["KID"]
    assert "5.08" in lines["FID"] and "3.21" in lines["FID"] and "lower is closer" in lines["FID"]
    assert "nearer the training images" not in text  # FID 5.08 is above the held-out 3.21
    assert "0.750" in lines["recall"] and "diversity" in lines["recall"]
    assert "fidelity" in lines["precision"] and "higher is better" in lines["coverage"]
    assert "60 held-out real images (test split)" in " ".join(text.split()) and "4 real training images" in text
    assert "a copy: below 0.25 (features) or 0.35 (pixels)" in lines["novelty"] and "1 or more" in lines["realism"]
    assert "1/10" in text  # class consistency's chance level for a 10-class dataset
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)
    # Without a holdout (or on an older report) the reference column says so instead of inventing numbers.
    bare = _report(kid_std=None)
    bare["metrics"].pop("reference")
    text = format_batch_report(bare, [str(c) for c in range(10)])
    assert "no held-out real images to compare with" in text and "±" not in text
    # A batch nearer the training images than unseen real images are is said so (the demo's 300-step run: FID 5.08
    # against 10.55 for the 60 held-out class-9 images, DCR 0.97).
    close = _report()
    close["metrics"]["reference"]["fid"] = 10.55
    assert "the batch is nearer the training images than unseen real images are" in " ".join(
        format_batch_report(close).split())


def test_the_distribution_table_keeps_its_columns_whatever_the_values_widths():
    import re

    from ganaug.cli.evaluate import format_batch_report

    wide = _report()  # `evaluate batch` of a 30-step run's class-9 batch: a KID of 218.6 (its spread 26.5)
    wide["metrics"]["overall"].update(fid=1376.2, kid={"mean": 218.5981, "std": 26.4822})
    wide["metrics"]["reference"]["kid"].update(mean=0.4719, std=0.5786)
    lines = format_batch_report(wide, [str(c) for c in range(10)]).splitlines()
    at = next(i for i, line in enumerate(lines) if line.endswith("held-out real"))
    # The rows, not their meanings' next lines (wrapped under their column at 80)
    table = [lines[at]] + [line for line in lines[at + 1:] if re.match(r"    \S", line)][:6]
    assert [line.split()[0] for line in table[1:]] == ["FID", "KID", "precision", "recall", "density", "coverage"]
    # Where each column starts: after two spaces or more (a value's own '±' and a meaning's words are one apart).
    # The KID row's values ran into each other, '218.5981 ± 26.4822 0.4719 ± 0.5786', its meaning 2 to the right.
    starts = {tuple(m.end() for m in re.finditer(r" {2,}(?=\S)", line)) for line in table[1:]}
    assert len(starts) == 1, table
    _, batch, held_out, _ = starts.pop()
    assert (table[0].index("batch"), table[0].index("held-out real")) == (batch, held_out), table
    assert "218.5981 ± 26.4822  " in table[2] and all(len(line) <= 80 for line in lines)
    # The usual widths keep their columns where they were.
    assert _rows(format_batch_report(_report(), [str(c) for c in range(10)]))["KID"].startswith(
        "    KID        -0.2097 ± 0.3050  0.0110 ± 0.0200   the same")


def test_the_report_says_its_fid_is_not_inceptions():
    """The FID and KID rows are on the dataset's own feature extractor: a reader copying "FID 5.08" into a paper
    beside published (Inception-v3) FIDs must be told they do not compare."""
    from ganaug.cli.evaluate import format_batch_report

    text = format_batch_report(_report(), [str(c) for c in range(10)])
    said = " ".join(text.split())  # wrapped at 80 columns
    assert "on this dataset's own features" in said
    assert "(not Inception's: compare within this dataset only, never with published FIDs)" in said
    assert all(len(line) <= 80 for line in text.splitlines())

def test_the_realism_line_says_what_the_score_is_its_scale_and_direction():
    from ganaug.cli.evaluate import format_batch_report

    line = _rows(format_batch_report(_report()))["realism"]
    # It had said '1.767 mean    1 or more: among the real images of its class (10 at most)': 10 at most of what?
    assert line.split()[1:3] == ["1.767", "mean"]
    assert "how far inside its class's real images: 0 to 10, higher is better, 1 or more: inside them" in line
    assert "at most" not in line


@pytest.mark.slow  # trains a tiny generator and fits the UMAP
def test_end_to_end_on_a_tiny_generator(digits):
    from ganaug.batches import generate_batch
    from ganaug.runs import default_config, train_run

    evaluation.ensure_feature_extractor(digits, steps=20)
    cfg = default_config(digits, resolution=8, steps=8, batch_size=16, width=8, z_dim=16, grid_every=1000,
                         ckpt_every=1000, diversity_every=1000)
    run_id = train_run(digits, cfg.validate())
    batch_id = generate_batch(run_id, 9, 6, seed=3)  # an 8×8 generator's samples, stored at the dataset's 16×16
    scores = evaluation.score_batch(batch_id)
    metrics = evaluation.batch_metrics(batch_id)
    assert scores["samples"] == 6 and scores["recomputed"]
    assert metrics["counts"]["synthetic"] == 6 and metrics["per_class"]["9"]["n_real"] == 4
    assert (metrics["image_side"], metrics["feature_side"], metrics["pixel_side"]) == (16, 16, 16)  # the sides it saw
    with session_scope() as s:
        samples = s.scalars(select(Sample).where(Sample.batch_id == batch_id)).all()
        assert all(np.isfinite([x.class_confidence, x.realism, x.novelty, x.emb_x, x.emb_y]).all() for x in samples)
        assert s.get(Batch, batch_id).scores_computed


def digits_npz(tmp_path, name: str, train_of: dict[int, int] | None = None) -> tuple[str, dict]:
    """A three-class 8×8 dataset with its own train / val / test splits (the MedMNIST .npz layout), ingested as
    `name`: 20 / 6 / 6 digits of each class, but `train_of[c]` training images of class c."""
    from sklearn.datasets import load_digits

    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    d = load_digits()
    arrays = {}
    for split, (lo, hi) in {"train": (0, 20), "val": (20, 26), "test": (26, 32)}.items():
        keep = np.concatenate([np.flatnonzero(d.target == c)[lo:lo + (train_of or {}).get(c, hi - lo)
                                                             if split == "train" else hi] for c in range(3)])
        arrays[f"{split}_images"] = (d.images[keep] * (255 / 16)).round().astype(np.uint8)
        arrays[f"{split}_labels"] = d.target[keep]
    np.savez(tmp_path / f"{name}.npz", **arrays)
    ingest_dataset(str(tmp_path / f"{name}.npz"), name, IngestOptions(resolution=8, workers=1))
    return name, arrays


@pytest.fixture
def tiny_val(home, tmp_path):
    return digits_npz(tmp_path, "tiny")


def test_metrics_use_the_val_split_as_holdout_when_there_is_one(tiny_val):
    dataset, arrays = tiny_val
    evaluation.ensure_feature_extractor(dataset, steps=10)
    batch_id = insert_batch(dataset, arrays["train_images"][arrays["train_labels"] == 1][:, None][:6], 1)
    m = evaluation.batch_metrics(batch_id)
    assert m["holdout_split"] == "val" and m["counts"]["holdout"] == 6  # the class-1 val images, never test
    assert m["overall"]["dcr"]["median_dcr_train"] == 0.0  # copies of training images
    assert m["overall"]["pixel_copies"]["copies"] == 6


def test_a_copy_from_a_generator_below_the_datasets_side_is_still_an_exact_copy(digits):
    """An 8×8 generator that reproduces training images, its samples stored upsampled to the dataset's 16×16 as
    `generate_batch` stores them: the evaluation takes the real images down the same path and sees copies."""
    from ganaug_core.rescale import resize_images, upsample_images

    evaluation.ensure_feature_extractor(digits, steps=10)
    _, arrays = dataset_arrays(digits)
    x, y = arrays.split("train")
    copies = upsample_images(resize_images(x[y == 0][:6], 8), 16)
    m = evaluation.batch_metrics(insert_batch(digits, copies, 0, gen_side=8))
    assert m["overall"]["pixel_copies"]["copies"] == 6 and m["overall"]["dcr"]["median_dcr_train"] == 0.0
    # Read as if its generator had worked at the dataset's side, the same images are not copies.
    m = evaluation.batch_metrics(insert_batch(digits, copies, 0))
    assert m["overall"]["pixel_copies"]["copies"] < 6 and m["overall"]["dcr"]["median_dcr_train"] > 0.0


def test_concurrent_first_use_trains_one_extractor(tiny_val):
    import threading

    from ganaug_core import features

    dataset, _ = tiny_val
    results, trained = [], []
    real_train = features.train_feature_extractor

    def counting_train(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)

    features.train_feature_extractor = counting_train
    try:
        threads = [threading.Thread(target=lambda: results.append(evaluation.ensure_feature_extractor(dataset, steps=3)))
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        features.train_feature_extractor = real_train
    assert len(trained) == 1 and len(results) == 3
    assert len({id(fe) for fe, _ in results}) == 1  # the callers that waited reuse the one that was built
    info = domain_models.extractor_info(dataset)
    assert info["sha256"] == sha256_file(paths.resolve(info["path"]))


@pytest.fixture
def one_of_class_2(home, tmp_path):
    """Class 2 has a single training image (and six held-out ones in val)."""
    return digits_npz(tmp_path, "one", train_of={2: 1})


def test_a_class_of_one_real_image_is_told_what_is_measurable_not_rough_indications(one_of_class_2):
    # FID, KID and precision/recall showed n/a, and the note called them "rough indications, not measurements".
    from ganaug.cli.evaluate import format_batch_report

    dataset, arrays = one_of_class_2
    evaluation.ensure_feature_extractor(dataset, steps=10)
    batch_id = insert_batch(dataset, arrays["test_images"][arrays["test_labels"] == 2][:, None][:5], 2)
    m = evaluation.batch_metrics(batch_id)
    assert (m["overall"]["fid"], m["overall"]["prdc"], m["counts"]["real"]) == (None, None, 1)
    # DCR against that one training image (and one held-out) was listed as measured.
    said = ("only 1 real training image in scope: FID, KID and precision/recall/density/coverage cannot be computed "
            "on it (n/a); DCR on so few is a rough indication; what is measured here: class consistency, "
            "authenticity and copies of training images")
    assert m["caution"] == m["per_class"]["2"]["caution"] == said
    scores = dict(dataset=dataset, class_index=2, samples=5, memorized=0, mean_confidence=0.5, mean_realism=0.2,
                  median_novelty=0.5)
    text = format_batch_report({"batch": batch_id, "scores": scores, "metrics": m}, ["0", "1", "2"])
    assert "against the 1 real training image in scope" in text and "rough indications" not in text
    assert "DCR on so few is a rough indication" in " ".join(text.split())
    # A class with enough real images for the metrics keeps its caution about the few held-out images, DCR's too.
    batch_id = insert_batch(dataset, arrays["test_images"][arrays["test_labels"] == 1][:, None][:5], 1)
    caution = evaluation.batch_metrics(batch_id)["caution"]
    assert "rough indications" in caution and caution.endswith("; so is DCR, against 6 training and 6 held-out images")


def test_two_classes_say_that_confidence_and_consistency_only_tell_the_other_class_apart():
    # A 300-step run on a two-class colour set (ok, crack) made purple noise with no crack; the classifier called
    # it crack (confidence 0.85, consistency 0.938), as it called uniform noise crack with 0.98: with two classes
    # "not ok" is all it can say. The report read as if the samples showed cracks.
    from ganaug.cli.evaluate import format_batch_report

    report = _report()
    report["scores"]["class_index"] = 0
    text = format_batch_report(report, ["crack", "ok"])
    assert "1/2: the label is ignored" in text
    said = " ".join(line.strip() for line in text.splitlines())
    assert ("with 2 classes the classifier only tells crack from ok: a sample like neither (noise, a smear) is "
            "called crack too, so confidence and class consistency near 1 do not show that it looks like a crack: "
            "look at the samples themselves") in said
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "with 2 classes" not in format_batch_report(_report(), [str(c) for c in range(10)])


def test_the_report_says_the_sides_its_numbers_saw_below_the_images_own():
    # A radiologist's 128² films: the features saw them pooled to 64², the pixel copy check at 32², and the report
    # said neither, so a subtle nodule's absence from the scores read as measured at full detail.
    from ganaug.cli.evaluate import format_batch_report

    report = _report()
    assert "at less than their" not in format_batch_report(report)  # a report from before the sides were recorded
    report["metrics"].update(image_side=128, feature_side=64, pixel_side=32)
    assert ("at less than their 128²: the features see the images pooled to 64², the pixel copy check "
            "block-averaged to 32²") in " ".join(format_batch_report(report).split())
    report["metrics"].update(image_side=48, feature_side=48, pixel_side=24)  # only what saw less is said
    assert "at less than their 48²: the pixel copy check block-averaged to 24² " in " ".join(
        format_batch_report(report).split())
    report["metrics"].update(image_side=16, feature_side=16, pixel_side=16)  # the demo's digits: seen whole
    assert "at less than their" not in format_batch_report(report)


def test_the_sides_a_report_gives_are_those_the_pooling_uses():
    # A side not a power of two: the report said 64² and 32² of 96² images the features saw at 48², the copy check
    # at 24² (min(side, 64) and min(side, 32), not the pooling's own arithmetic).
    from ganaug_core.features import pooled_side
    from ganaug_core.metrics.pixel_align import block_factor

    sides = (16, 48, 64, 96, 100, 128, 200)
    assert [pooled_side(s, 64) for s in sides] == [16, 48, 64, 48, 50, 64, 50]
    assert [s // block_factor(s) for s in sides] == [16, 24, 32, 24, 25, 32, 25]
    assert pooled_side(128, 0) == 128  # an extractor of before 2026-12-07: no pooling


def test_stored_scores_from_an_older_check_say_so_with_the_rescore():
    # A batch scored before 2026-12-06's colour pass kept its flags, and `evaluate batch` said only "stored scores".
    from ganaug.cli.evaluate import format_batch_report
    from ganaug_core.scoring import SCORING_VERSION

    report = _report()
    report["scores"].update(recomputed=False, scoring_version=None)
    lines = format_batch_report(report).splitlines()
    assert lines[1].endswith("(stored scores, --rescore recomputes them):")
    assert lines[2:4] == [f"  scored by an older check (before versions were recorded; now version {SCORING_VERSION}):",
                          "    `ganaug evaluate batch 1 --rescore` scores it again"]
    report["scores"]["scoring_version"] = SCORING_VERSION - 1
    assert f"(version {SCORING_VERSION - 1}; now version {SCORING_VERSION})" in format_batch_report(report)
    for today in (dict(recomputed=False, scoring_version=SCORING_VERSION), dict(recomputed=True)):
        report["scores"].update(today)
        assert "older" not in format_batch_report(report)


def test_one_held_out_image_is_said_in_the_singular():
    """A rare class of 6 photos keeps 1 held-out image: the report said 'beside 1 held-out real images'."""
    from ganaug.cli.evaluate import format_batch_report

    report = _report()
    report["metrics"]["reference"]["n_holdout"] = 1
    text = " ".join(format_batch_report(report, [str(i) for i in range(10)]).split())
    assert "beside 1 held-out real image (test split) measured the same way" in text
