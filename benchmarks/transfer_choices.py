"""Benchmark: how notebook 08's transfer-learning settings were chosen, on validation only.

The scikit-learn digits' held-out part (40%, `digits.held_out_split`) is never loaded here.
The remaining pool is split again: 70% to draw the k training images from, 30% (about 320
images) to score each setting on. Compared, at k = 1 and 10 images per digit, 3 draws each:
  - how 8x8 digits are enlarged to MNIST's 20x20 box (zero-shot accuracy of the CNN);
  - `head`, `full` and `scratch` learning rates and epochs; in `full`, frozen vs free batch norm,
    augmentation, and rehearsal (MNIST images mixed into each epoch).
`finetune.CONFIGS` takes, for each strategy, the best validation accuracy averaged over k = 1
and 10; notebook 08 the enlargement with the best zero-shot accuracy. Whether all labels want
other settings is asked separately, at k = all, of the settings with rehearsal.

Run (about 13 and 3 minutes on a 2-core CPU, runs spread over one process per core):
  .venv/bin/python benchmarks/transfer_choices.py | tee benchmarks/results/transfer_choices.txt
  .venv/bin/python benchmarks/transfer_choices.py --shots all --only "rehearsal 256" \
      | tee benchmarks/results/transfer_choices_all_labels.txt
"""

import argparse

import pandas as pd

from digitlab import config
from digitlab.mnist import data
from digitlab.mnist.evaluate import predict_proba
from digitlab.mnist.models import load_model
from digitlab.provenance import file_sha256
from digitlab.transfer import digits, finetune, study

CANDIDATES = {
    "head lr 1e-3": finetune.FinetuneConfig("head", learning_rate=1e-3),
    "head lr 3e-3": finetune.FinetuneConfig("head", learning_rate=3e-3),
    "head lr 1e-2": finetune.FinetuneConfig("head", learning_rate=1e-2),
    "full lr 3e-4": finetune.FinetuneConfig("full", learning_rate=3e-4),
    "full lr 1e-3": finetune.FinetuneConfig("full", learning_rate=1e-3),
    "full lr 3e-3": finetune.FinetuneConfig("full", learning_rate=3e-3),
    "full lr 1e-3, 8 epochs": finetune.FinetuneConfig("full", epochs=8),
    "full lr 1e-4, 8 epochs": finetune.FinetuneConfig("full", epochs=8, learning_rate=1e-4),
    "full lr 3e-4, 8 epochs": finetune.FinetuneConfig("full", epochs=8, learning_rate=3e-4),
    "full lr 1e-3, 8 epochs of 64 images": finetune.FinetuneConfig("full", epochs=8,
                                                                   epoch_images=64),
    "head lr 3e-3, 8 epochs": finetune.FinetuneConfig("head", epochs=8, learning_rate=3e-3),
    "head lr 3e-3, rehearsal 256": finetune.FinetuneConfig("head", learning_rate=3e-3,
                                                           rehearsal=256),
    "full lr 3e-4, rehearsal 256": finetune.FinetuneConfig("full", learning_rate=3e-4,
                                                           rehearsal=256),
    "full lr 1e-3, 8 epochs, rehearsal 256": finetune.FinetuneConfig("full", epochs=8,
                                                                     rehearsal=256),
    "full lr 3e-4, 8 epochs, rehearsal 256": finetune.FinetuneConfig(
        "full", epochs=8, learning_rate=3e-4, rehearsal=256),
    "full lr 1e-3, 12 epochs, rehearsal 256": finetune.FinetuneConfig("full", epochs=12,
                                                                      rehearsal=256),
    "full lr 1e-3, batch norm free": finetune.FinetuneConfig("full", freeze_batchnorm=False),
    "full lr 1e-3, no augmentation": finetune.FinetuneConfig("full", augment=False),
    "scratch lr 1e-3, 12 epochs": finetune.FinetuneConfig("scratch", 12, learning_rate=1e-3),
    "scratch lr 3e-3, 12 epochs": finetune.FinetuneConfig("scratch", 12, learning_rate=3e-3),
    "scratch lr 3e-3, 24 epochs": finetune.FinetuneConfig("scratch", 24, learning_rate=3e-3),
}


def labels_per_digit(text: str) -> int | None:
    """A --shots value: a number of images per digit, or None for "all"."""
    return None if text == "all" else int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--shots", type=labels_per_digit, nargs="+", default=[1, 10],
                        help="labelled images per digit, or 'all' (the whole draw pool)")
    parser.add_argument("--only", help="run only the candidates whose name contains this")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for the runs (default: one per CPU core)")
    args = parser.parse_args(argv)
    base = load_model(args.model)
    (mnist_images, mnist_labels), _ = data.load_mnist()  # rehearsal draws from the training set
    print(f"model {args.model} (SHA-256 {file_sha256(args.model)})")

    print("\nzero-shot validation accuracy by enlargement (all pool images):")
    for resample in digits.RESAMPLING:
        images, labels = digits.sklearn_digits(resample)
        pool, _ = digits.held_out_split(labels)
        accuracy = (predict_proba(base, images[pool]).argmax(1) == labels[pool]).mean()
        print(f"  {resample:9s} {accuracy:.2%}")

    images, labels = digits.sklearn_digits()
    pool, _ = digits.held_out_split(labels)
    draw_from, scored = (pool[part] for part in digits.held_out_split(labels[pool], 0.3, 1))
    zero_shot = (predict_proba(base, images[scored]).argmax(1) == labels[scored]).mean()
    print(f"\nzero-shot accuracy on the {len(scored)} validation images: {zero_shot:.2%}")
    rows = []
    candidates = {name: candidate for name, candidate in CANDIDATES.items()
                  if args.only is None or args.only in name}
    for name, candidate in candidates.items():
        for row in study.study(args.model, images, labels, draw_from, scored,
                               [(name, args.shots, args.draws)], {name: candidate},
                               rehearse_on=(mnist_images, mnist_labels),
                               workers=args.workers or study.default_workers()):
            rows.append({**row, "validation accuracy": row.pop("test_accuracy")})
            print(f"  {name}, k={row['k']}, draw {row['draw']}: "
                  f"{rows[-1]['validation accuracy']:.2%}", flush=True)
    table = pd.DataFrame(rows).pivot_table(index="strategy", columns="k",
                                           values="validation accuracy", aggfunc="mean")
    table["mean"] = table.mean(axis=1)
    print(f"\nmean validation accuracy over {args.draws} draws ({len(scored)} images), k per "
          "digit in columns:")
    print((table * 100).round(2).to_string())
    for strategy in finetune.STRATEGIES:
        mine = table[[name.startswith(strategy) for name in table.index]]
        print(f"best {strategy}: {mine['mean'].idxmax()}")


if __name__ == "__main__":  # not in the worker processes, which import this file
    main()
