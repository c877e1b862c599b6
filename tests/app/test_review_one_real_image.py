"""An opened sample of a class with one real training image says what its realism rests on: it falls back to every
class's real images (ganaug_core/scoring.py); novelty is measured against every training image, as for any class."""

from __future__ import annotations

from sqlalchemy import select, update

from db.engine import session_scope
from db.models import Dataset, RealImage
from tests.app.conftest import make_batch
from tests.app.test_review import first_sample_open

CAVEAT = ("only 1 real training image of 9: realism is measured against all classes' real images (one image has no "
          "spread of its own), so it says little about this class; novelty is measured against every training "
          "image, as for any class")


def scores_caption(at) -> str:
    [scores] = [c.value for c in at.caption if c.value.startswith("confidence ")]
    return scores


def test_scores_of_a_class_of_one_real_image_say_they_mean_little(users, digits):
    with session_scope() as session:  # class 9 keeps one training image; the rest go to the test split
        ds = session.scalars(select(Dataset.id).where(Dataset.name == digits)).one()
        nines = select(RealImage.id).where(RealImage.dataset_id == ds, RealImage.class_index == 9,
                                           RealImage.split == "train").order_by(RealImage.id)
        kept = session.scalars(nines).first()
        session.execute(update(RealImage).where(RealImage.id.in_(nines), RealImage.id != kept).values(split="test"))
    nine, eight = make_batch(digits, 9, 2), make_batch(digits, 8, 2)

    scores = scores_caption(first_sample_open(users["rita"], nine)[0])
    # It read "realism 1.45: among the real images of its class", of a class with no spread to be among.
    assert scores.endswith(CAVEAT), scores
    assert "the real images of all classes" in scores and "of its class" not in scores

    scores = scores_caption(first_sample_open(users["rita"], eight)[0])  # a class of many images: as before
    assert "says little" not in scores and "the real images of its class" in scores


def test_with_two_classes_confidence_says_it_only_tells_the_other_class_apart():
    # A two-class colour set (crack, ok): a 300-step run's purple noise read "confidence 0.93: the classifier sees
    # crack", as uniform noise would (0.98): with two classes, "not ok" is all the classifier can say.
    from pages.review_sample import scores_in_words

    s = dict(class_confidence=0.93, realism=1.35, novelty=1.6, nn_distance=0.4)
    said = scores_in_words(s, "crack", 10, other_class="ok")
    assert said.startswith("confidence 0.93: the classifier sees crack rather than ok (of two classes: a sample like "
                           "neither, noise say, is called crack too; look at it)  \n")
    assert scores_in_words(s, "crack", 10).startswith("confidence 0.93: the classifier sees crack  \n")
