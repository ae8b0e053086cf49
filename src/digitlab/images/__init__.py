"""People's own images: read any photo, scan or drawing, find the ink and the digit, and turn
it into an MNIST-like 28x28 (`preprocess.prepare`); and the synthetic generator of such images.

reading -> ink -> segment -> preprocess; handwriting -> synth (test images made here).
"""
