"""Benchmark: how steady is the digit check's threshold?

`digit_check.train` chooses the threshold as the highest that rejects at most FALSE_REJECTIONS
(0.5%) of its validation digit pictures (THRESHOLD_PICTURES pictures of the 5,000 MNIST
validation digits, seed 43). This draws more sets of pictures of the same validation digits, as
`train` draws them but with other seeds (the first seed is train's own draw), and reports for
each the threshold `train` would choose on it and the share of its digits the committed
threshold rejects. Nothing is chosen here. With --count 2500 it shows why the threshold is no
longer chosen on 2,500 pictures.

Run: .venv/bin/python benchmarks/check_threshold.py [--check PATH] [--seeds 43 99 100 101]
     [--count 10000]
Writes benchmarks/results/check_threshold.json and check_threshold.md.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from digitlab.mnist.data import load_mnist
from digitlab.mnist.pipeline import split_validation
from digitlab.report.tables import markdown_table
from digitlab.serve import digit_check
from digitlab.serve.digit_check import DigitCheck

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", default=None, help="default: models/digit_check.keras")
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[digit_check.SEED + 1, 99, 100, 101])
    parser.add_argument("--count", type=int, default=digit_check.THRESHOLD_PICTURES,
                        help="digit pictures per draw")
    parser.add_argument("--results", default=str(RESULTS_DIR), help="where to write results")
    args = parser.parse_args(argv)
    check = DigitCheck.load(args.check)
    (x_train, y_train), _ = load_mnist()
    _, validation = split_validation(x_train, y_train, digit_check.VALIDATION_SIZE,
                                     digit_check.SEED)
    draws, every_score = [], []
    for seed in args.seeds:
        # The digits of train's own draw, without its non-digits (never scored here).
        drawn = digit_check.pictures(args.count, validation, np.random.default_rng(seed),
                                     non_digits=0)
        scores = digit_check.picture_likeness(check.scores, drawn)
        every_score.append(scores)
        draws.append({"seed": seed, "digits": len(scores),
                      "threshold_chosen": digit_check.choose_threshold(scores),
                      "rejected_at_committed": float(np.mean(scores < check.threshold))})
        print(draws[-1], flush=True)
    together = np.concatenate(every_score)
    results = {"check": check.provenance(), "false_rejections": digit_check.FALSE_REJECTIONS,
               "draws": draws,
               "together": {"digits": len(together),
                            "threshold_chosen": digit_check.choose_threshold(together),
                            "rejected_at_committed": float(np.mean(together < check.threshold))}}
    labels = [f"seed {d['seed']}" + (" (train's own)" if d["seed"] == digit_check.SEED + 1
                                     else "") for d in draws]
    rows = [{"validation pictures": label, "digits": d["digits"],
             "threshold train would choose": f"{d['threshold_chosen']:.4f}",
             "rejected at the committed threshold": f"{d['rejected_at_committed']:.2%}"}
            for label, d in zip([*labels, "**all draws together**"],
                                [*draws, results["together"]], strict=True)]
    text = (f"The digit check `{check.path.name}` (SHA-256 "
            f"{results['check']['model_sha256'][:12]}...), committed threshold "
            f"{check.threshold}: the highest threshold rejecting at most "
            f"{digit_check.FALSE_REJECTIONS:.1%} of each draw of validation digit pictures (as "
            "`digit_check.train` chooses it), and the share of that draw's digits the committed "
            f"threshold rejects.\n\n{markdown_table(rows)}\n")
    print(text)
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "check_threshold.json").write_text(json.dumps(results, indent=1) + "\n")
    (results_dir / "check_threshold.md").write_text(text)


if __name__ == "__main__":
    main()
