"""The registry: every metric overall and per class, from one call with a real (tiny) extractor."""

import numpy as np
import pytest

from ganaug_core.errors import GanaugError
from ganaug_core.metrics.metric_main import METRICS, compute_metrics
from tests.core.test_features import tiny_extractor_and_data


@pytest.fixture(scope="module")
def data():
    return tiny_extractor_and_data()


def test_copies_of_real_images_score_as_copies(data):
    fe, x, y, hx, hy = data
    synth, synth_y = x[y == 2][:12], y[y == 2][:12]
    m = compute_metrics(fe, x, y, synth, synth_y, holdout_images=hx, holdout_labels=hy)
    assert set(m["overall"]) == set(METRICS)
    assert list(m["per_class"]) == ["2"]
    c2 = m["per_class"]["2"]
    assert c2["n_real"] == int((y == 2).sum()) and c2["n_synthetic"] == 12
    assert c2["prdc"]["precision"] == 1.0
    assert c2["authenticity"]["copies"] == 12
    assert c2["duplicates"]["exact_copies"] == 12 and c2["pixel_copies"]["copies"] == 12
    assert c2["dcr"]["median_dcr_train"] == 0.0 < c2["dcr"]["median_dcr_holdout"]
    # Distribution metrics use the covered classes only: overall equals the class-2 scope here.
    assert m["counts"] == {"real": int((y == 2).sum()), "synthetic": 12, "holdout": int((hy == 2).sum())}
    assert m["overall"]["prdc"] == c2["prdc"] and m["overall"]["fid"] == c2["fid"]
    # 30 real images of class 2 are enough; its 10 held-out ones make a rough reference (k = 5 still fits them)
    assert m["caution"] == c2["caution"] == ("only 10 held-out images for the reference: FID, KID and precision/"
                                             "recall/density/coverage on so few are rough indications, not measurements"
                                             "; so is DCR, against 10 training and 10 held-out images")
    assert compute_metrics(fe, x, y, synth, synth_y, names=["fid", "prdc"])["caution"] is None  # no reference
    keep = (y != 2) | (np.cumsum(y == 2) <= 5)  # a rare class: 5 real images
    rare = compute_metrics(fe, x[keep], y[keep], synth[:4], synth_y[:4], names=["fid"])
    assert rare["caution"].startswith("only 5 real training images in scope")
    assert rare["per_class"]["2"]["caution"] == rare["caution"]
    # The class's own real images against themselves: FID ≈ 0, far below the FID of another class.
    same = compute_metrics(fe, x, y, x[y == 2], y[y == 2], names=["fid"])
    other = compute_metrics(fe, x, y, x[y == 1], np.full((y == 1).sum(), 2), names=["fid", "consistency"])
    assert same["per_class"]["2"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert other["per_class"]["2"]["fid"] > 1.0
    assert other["overall"]["consistency"]["class_consistency"] < 0.5  # they look like 1s, not 2s


def test_held_out_images_are_not_copies_and_no_holdout_means_no_dcr(data):
    fe, x, y, hx, hy = data
    m = compute_metrics(fe, x, y, hx, hy, names=["authenticity", "duplicates", "dcr"])
    assert m["overall"]["duplicates"]["exact_copies"] == 0
    assert m["overall"]["authenticity"]["copy_fraction"] < 0.1
    assert m["overall"]["dcr"] is None and set(m["per_class"]) == {"0", "1", "2"}


def test_bad_input(data):
    fe, x, y, *_ = data
    with pytest.raises(GanaugError, match="unknown metric"):
        compute_metrics(fe, x, y, x[:2], y[:2], names=["fid", "nope"])
    with pytest.raises(GanaugError, match="no synthetic"):
        compute_metrics(fe, x, y, x[:0], y[:0])
    with pytest.raises(GanaugError, match="do not match"):
        compute_metrics(fe, x, y, np.zeros((2, 1, 16, 16), np.uint8), y[:2])


def test_held_out_real_images_give_the_reference_the_batch_is_read_against(data):
    """A number such as FID 5.1 means nothing alone: the held-out real images of the same classes, measured against
    the training images the same way, say what a generator as good as the real data would score."""
    from ganaug_core.metrics.fid import fid
    from ganaug_core.metrics.prdc import prdc

    fe, x, y, hx, hy = data
    m = compute_metrics(fe, x, y, x[y == 2][:12], y[y == 2][:12], holdout_images=hx, holdout_labels=hy)
    ref = m["reference"]
    real_f, hold_f = fe.features(x[y == 2]), fe.features(hx[hy == 2])
    assert ref["n_holdout"] == int((hy == 2).sum()) and ref["n_real"] == int((y == 2).sum())
    assert ref["fid"] == pytest.approx(fid(real_f, hold_f)) and ref["prdc"] == prdc(real_f, hold_f)
    assert ref["kid"]["mean"] is not None and m["per_class"]["2"]["reference"] == ref
    assert compute_metrics(fe, x, y, x[:4], y[:4], names=["fid"])["reference"] is None  # no holdout, no reference


def test_a_thin_held_out_reference_is_cautioned_with_the_k_it_fell_back_to(data):
    # 2 held-out images of a class gave the reference precision and coverage 0.000 (k shrank to 1), and the note
    # spoke only of the training images, of which there were plenty.
    fe, x, y, hx, hy = data
    hold = (hy != 2) | (np.cumsum(hy == 2) <= 2)
    m = compute_metrics(fe, x, y, x[y == 2][:12], y[y == 2][:12], holdout_images=hx[hold], holdout_labels=hy[hold])
    c2 = m["per_class"]["2"]
    assert c2["reference"]["prdc"]["k"] == 1
    assert c2["caution"] == m["caution"]
    assert m["caution"].startswith("only 2 held-out images for the reference: ")
    assert m["caution"].endswith("(their neighbourhoods use k = 1, not 5); so is DCR, against 2 training and 2 "
                                 "held-out images")
    # One held-out image: "DCR vs test: 1.000" stood under a note that named FID, KID and precision/recall only.
    one = compute_metrics(fe, x, y, x[y == 2][:12], y[y == 2][:12], holdout_images=hx[hy == 2][:1],
                          holdout_labels=hy[hy == 2][:1], names=["fid", "dcr"])
    assert one["overall"]["dcr"]["reference_size"] == 1
    assert one["caution"].endswith("not measurements; so is DCR, against 1 training and 1 held-out image")


def test_the_pixel_check_runs_once_and_each_class_reads_its_own_samples(data, monkeypatch):
    """Overall and per class read one check of all samples (a one-class batch paid it twice): each class gets
    what the check of its own samples gives, and a caller's prepared real side gives the same report."""
    from ganaug_core.metrics import metric_main
    from ganaug_core.metrics.pixel_copies import PIXEL_COPY_RATIO, pixel_copy_ratio, prepare_real

    fe, x, y, hx, hy = data
    synth = np.concatenate([x[y == 1][:3], hx[:9]])
    synth_y = np.concatenate([np.full(3, 1), hy[:9]])
    calls = []
    monkeypatch.setattr(metric_main, "pixel_copy_ratio", lambda *a, **k: calls.append(1) or pixel_copy_ratio(*a, **k))
    m = compute_metrics(fe, x, y, synth, synth_y, names=["pixel_copies"])
    assert len(calls) == 1 and len(m["per_class"]) > 1
    for c, scope in m["per_class"].items():
        ratio = pixel_copy_ratio(synth[synth_y == int(c)], x)[1]
        assert scope["pixel_copies"]["copies"] == int((ratio < PIXEL_COPY_RATIO).sum())
        assert scope["pixel_copies"]["median_pixel_novelty"] == pytest.approx(float(np.median(ratio)), rel=1e-9)
    assert m["per_class"]["1"]["pixel_copies"]["copies"] >= 3
    cached = compute_metrics(fe, x, y, synth, synth_y, names=["pixel_copies", "fid"], real_features=fe.features(x),
                             pixel_bank=prepare_real(x))
    assert cached == compute_metrics(fe, x, y, synth, synth_y, names=["pixel_copies", "fid"])


def test_a_handful_of_samples_says_that_k_shrank(data):
    """k shrinks to the samples as well as to the real images, and every real ball with it: 3 samples against 30
    real images measured precision and coverage with k = 2, not the published 5, and no caution said so."""
    fe, x, y, *_ = data
    m = compute_metrics(fe, x, y, x[y == 2][:3], y[y == 2][:3], names=["fid", "prdc"])
    assert m["overall"]["prdc"]["k"] == 2
    assert m["caution"] == m["per_class"]["2"]["caution"] == (
        "only 3 samples in scope: FID, KID and precision/recall/density/coverage on so few are rough indications, "
        "not measurements (their neighbourhoods use k = 2, not 5)")
    assert compute_metrics(fe, x, y, x[y == 2][:6], y[y == 2][:6], names=["fid", "prdc"])["caution"] is None
