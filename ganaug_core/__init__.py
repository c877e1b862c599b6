"""ganaug_core: the ML library of ganaug (datasets, GAN training, sampling, metrics).

No Streamlit, no SQL here: persistence lives in `db`, the glue in the `ganaug` package. `db` uses only three
modules from here that load no torch: `paths` (where the home folder is, one file lock), `plain_files` (a file opened
only where it is a plain file) and `errors` (what a full disk asks the user to free).

From Python (README, "From Python"), the names below load on first use, so that `db` importing this package for
its paths loads no torch:

    from ganaug_core import GeneratorPipeline, GANSampler
    pipe = GeneratorPipeline.from_run("GANAUG_HOME/runs/000001")
    out = pipe(9, n=64, seed=7)                       # the samples of `ganaug generate --class 9 --n 64 --seed 7`
    X_res, y_res = GANSampler(pipe, random_state=0).fit_resample(X, y)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "GeneratorPipeline": "ganaug_core.sampling",  # a checkpoint's generator: pipe(class_labels, n, seed)
    "SampleOutput": "ganaug_core.sampling",  # what it returns: images (uint8 N, C, H, W), seeds, class_labels
    "sample_seeds": "ganaug_core.sampling",  # the own seeds of a call's samples
    "GANSampler": "ganaug_core.sampler",  # imbalanced-learn style: fit_resample(X, y) -> (X_res, y_res)
    "encode_png": "ganaug_core.imageio",  # an image's PNG bytes, as a batch stores them
    "upsample_images": "ganaug_core.rescale",  # samples of a run below its dataset's side, as a batch stores them
    "GanaugError": "ganaug_core.errors",  # what bad input raises
}
__all__ = ["GANSampler", "GanaugError", "GeneratorPipeline", "SampleOutput", "encode_png", "sample_seeds",
           "upsample_images"]  # _EXPORTS' names

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports on first use
    from ganaug_core.errors import GanaugError
    from ganaug_core.imageio import encode_png
    from ganaug_core.rescale import upsample_images
    from ganaug_core.sampler import GANSampler
    from ganaug_core.sampling import GeneratorPipeline, SampleOutput, sample_seeds


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganaug_core' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
