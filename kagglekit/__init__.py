"""kagglekit: a Kaggle image competition, from nothing to a scored submission."""

from kagglekit.training import backend as _backend

__version__ = "0.1.0"

_backend.set_default()  # before anything imports Keras: it reads KERAS_BACKEND once
