"""Training in a Kaggle kernel from anywhere: push, wait, pull and record (``kernels``), and what the pushed
kernel itself runs (``kernel_entry``). It stands above training, which the kernel runs."""
