"""Kaggle itself, through the official client: the one wrapper that calls it (``kaggle_api``) and the notebook's credentials (``notebook``)."""
