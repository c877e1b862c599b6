"""ganaug_core: the ML library of ganaug (datasets, GAN training, sampling, metrics).

No Streamlit, no SQL here: persistence lives in `db`, the glue in the `ganaug` package. `db` uses only
`ganaug_core.paths` from here (where the home folder is, one file lock).
"""

__version__ = "0.1.0"
