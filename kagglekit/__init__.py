"""kagglekit: a Kaggle image competition, from nothing to a scored submission."""

__version__ = "0.1.0"
