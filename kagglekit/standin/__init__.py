"""kagglekit's stand-in for Kaggle: a local Kaggle-speaking server (competitions, submissions, kernels),
small generated competitions and the demo that runs the whole chain against them.

No stage on a user's path imports this package, and pushed kernels leave it out: it exists for
`make demo` and the tests.
"""
