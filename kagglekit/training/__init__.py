"""Models, training, evaluation and prediction, on whichever Keras backend and accelerator is here."""
