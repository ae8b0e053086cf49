"""Experiment: does augmentation for real-world digits help the CNN read people's handwriting?

Trains notebook 04's CNN recipe (12 epochs, label smoothing 0.1, seed 42) with the extra
augmentation of `AugmentConfig` (aspect, slant, stroke width) on top of its rotation, shift and
zoom, and reports what decides (validation accuracy, accuracy on the real-image development set
and the synthetic set) and, for the record only, the MNIST test accuracy. The test set chooses
nothing. About 13 minutes per run on a 2-core CPU.

Run: .venv/bin/python benchmarks/augment_real_world.py --aspect 0.1 --shear 0.2 --stroke 0.5
(the models go to a temporary folder; the committed models/ are never touched).
"""

import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from digitlab.mnist import augment, data, models, recipes, train

BENCHMARKS_DIR = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aspect", type=float, default=0.1)
    parser.add_argument("--shear", type=float, default=0.2)
    parser.add_argument("--stroke", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=12, help="12 as notebook 04; 1 to try it")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="augment_real_world_"))
    train.set_seed(args.seed)
    model = models.build_cnn(recipes.CNN.model, name="cnn")
    config = replace(recipes.CNN.train, epochs=args.epochs, seed=args.seed)
    augmentation = augment.build_augmentation(replace(
        recipes.CNN.augment, aspect=args.aspect, shear=args.shear, stroke=args.stroke),
        seed=args.seed)
    metrics = train.train(model, data.load_mnist(), config, augmentation,
                          options=train.RunOptions(models_dir=out, verbose=0))
    print(f"aspect {args.aspect}, slant {args.shear}, stroke {args.stroke}: validation "
          f"{metrics['val_accuracy']:.2%}, MNIST test {metrics['test_accuracy']:.2%} (reported "
          f"only), {metrics['train_seconds']:.0f} s; model {out / 'cnn.keras'}")
    for script in ("real_images.py", "custom_images.py"):
        results = out / script.removesuffix(".py")
        command = [sys.executable, str(BENCHMARKS_DIR / script), "--model", str(out / "cnn.keras"),
                   "--results", str(results)]
        subprocess.run(command + (["--no-sheet"] if script == "real_images.py" else []),
                       check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
