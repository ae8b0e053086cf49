"""MNIST itself: load and verify the data, build, train and evaluate the models.

data -> pipeline (model input, validation split, tf.data) -> models/augment/recipes ->
train (with resume, calibration, runfiles) -> evaluate, robustness, comparison, speed.
"""
