"""digitlab: handwritten digit recognition on MNIST with Keras 3."""

__version__ = "0.1.0"
