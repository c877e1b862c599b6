"""ganaug_core: the ML library of ganaug (datasets, GAN training, sampling, metrics).

No Streamlit, no SQL here: persistence lives in `db`, the glue in `ganaug.orchestrate`.
"""

__version__ = "0.1.0"
