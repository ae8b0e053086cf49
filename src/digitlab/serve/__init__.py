"""Use a trained model: predict digits in image files, export compact formats, the web app.

runtimes (one loader for .keras, .tflite, .onnx) -> predict -> app; export writes the
formats runtimes loads.
"""
