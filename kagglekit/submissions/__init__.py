"""Submissions: the CSV formats and their checks, the records of what was sent and scored, ensembles,
comparisons, and submit/scores through the one client wrapper (``kagglekit.kaggle.kaggle_api``)."""
