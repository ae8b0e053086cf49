"""Benchmark: what op determinism costs, and whether the same seed gives the same model.

Trains the default CNN on the same 12,000 MNIST images for one epoch, three times, each in a
fresh process (determinism can only be switched on, never off, inside a process): twice after
`train.set_seed(seed, deterministic=True)`, once with `deterministic=False`. Prints the training
seconds of each, the slowdown ratio, and whether the two deterministic runs gave identical weights.

Run: .venv/bin/python benchmarks/determinism.py | tee benchmarks/results/determinism.txt
"""

import json
import subprocess
import sys
import tempfile

one_run = """
import hashlib, json, sys
from digitlab.mnist import augment, data, models, train
deterministic = sys.argv[1] == "1"
mnist = data.subsample(data.load_mnist(), 12000, 1000)
config = train.TrainConfig(epochs=1, validation_size=1000, label_smoothing=0.0, seed=42)
train.set_seed(config.seed, deterministic)
model = models.build_cnn()
metrics = train.train(model, mnist, config, augment.build_augmentation(seed=config.seed),
                      options=train.RunOptions(models_dir=sys.argv[2], verbose=0))
digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
print(json.dumps({"seconds": metrics["train_seconds"], "weights": digest[:16],
                  "test_accuracy": metrics["test_accuracy"]}))
"""


def run(deterministic: bool, folder: str) -> dict:
    result = subprocess.run([sys.executable, "-c", one_run, "1" if deterministic else "0", folder],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        first = run(True, folder)
        second = run(True, folder)
        free = run(False, folder)
    print("one epoch of the default CNN on 11,000 images (seconds of training):")
    print(f"  deterministic, run 1: {first['seconds']:.1f} s, weights {first['weights']}")
    print(f"  deterministic, run 2: {second['seconds']:.1f} s, weights {second['weights']}")
    print(f"  not deterministic:    {free['seconds']:.1f} s, weights {free['weights']}")
    mean = (first["seconds"] + second["seconds"]) / 2
    print(f"determinism costs {mean / free['seconds']:.2f}x the time of a free run")
    same = first["weights"] == second["weights"]
    print(f"same seed, same weights: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
