"""Everything that talks to Kaggle (or stands in for it): the API client, submissions, scores, remote kernels, the local server."""
