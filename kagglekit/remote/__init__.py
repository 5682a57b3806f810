"""Training in a Kaggle kernel from anywhere: push, wait, pull and record (``kernels``), and what the pushed
kernel itself runs (``kernel_entry``); a code competition's offline inference kernel, its wheels and its run
(``offline``, ``offline_install``), and its submission: datasets uploaded, that kernel run, its version submitted
(``code_submission``). It stands above training, which the kernels run."""
