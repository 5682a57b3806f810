"""The competition's files, from Kaggle's archives to the arrays and folders training reads."""
