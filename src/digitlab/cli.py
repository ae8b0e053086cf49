"""Command line: `python -m digitlab <command>`."""

import argparse
import sys
from pathlib import Path

from digitlab.errors import DigitlabError


def cmd_data(args: argparse.Namespace) -> int:
    from digitlab.mnist.data import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(args.source)
    print(f"MNIST verified: train {x_train.shape}, test {x_test.shape}")
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    from digitlab.config import EXECUTED_NOTEBOOKS_DIR
    from digitlab.notebooks import run_all

    executed_dir = EXECUTED_NOTEBOOKS_DIR
    if args.output_dir:
        executed_dir = Path(args.output_dir) / "notebooks"
    times = run_all(quick=args.quick, output_dir=args.output_dir, executed_dir=executed_dir,
                    verbose=args.verbose)
    print(f"All {len(times)} notebooks ran in {sum(times.values()):.0f} s.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from digitlab.report.check import check, update_all

    if args.check:
        problems = check()
        for problem in problems:
            print(f"out of date: {problem}", file=sys.stderr)
        print("README and results agree." if not problems else
              f"{len(problems)} problem(s): the README or results are out of date.")
        return 1 if problems else 0
    for section in update_all():
        print(f"README section updated: {section}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from digitlab.mnist.recipes import rerun

    metrics, recorded = rerun(args.config, args.out, args.overwrite)
    print(f"rebuilt {metrics['name']} into {args.out}: test accuracy "
          f"{metrics['test_accuracy']:.2%} (recorded {recorded.get('test_accuracy', 0):.2%})")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from digitlab.serve import predict

    return predict.main(args.rest)


def cmd_app(args: argparse.Namespace) -> int:
    from digitlab.serve import app

    return app.main(args.rest)


def cmd_finetune(args: argparse.Namespace) -> int:
    from digitlab.transfer import finetune_command

    return finetune_command.main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m digitlab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="obtain and verify MNIST")
    data.add_argument("--source", help="local folder with the four MNIST .gz files")
    data.set_defaults(run=cmd_data)

    notebooks = commands.add_parser("notebooks", help="execute every notebook in order")
    notebooks.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    notebooks.add_argument("--output-dir", help="write figures/ and models/ here")
    notebooks.add_argument("--verbose", action="store_true",
                           help="also show the kernel's own stderr (TensorFlow's C++ log lines)")
    notebooks.set_defaults(run=cmd_notebooks)

    train = commands.add_parser("train", help="train a recorded run again from its metrics file")
    train.add_argument("--config", required=True, metavar="FILE",
                       help="a .metrics.json written by training (e.g. models/cnn.metrics.json)")
    train.add_argument("--out", default="rebuilt", help="folder for the new model (default: "
                                                        "rebuilt/, never models/)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace a model already in --out")
    train.set_defaults(run=cmd_train)

    report = commands.add_parser("report", help="regenerate README tables from saved metrics")
    report.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 naming every README table or results file "
                             "that is out of date")
    report.set_defaults(run=cmd_report)

    # These own their arguments: see `python -m digitlab predict --help`.
    for name, run, text in (("predict", cmd_predict, "recognise digits in image files"),
                            ("app", cmd_app, "start the draw-a-digit web demo"),
                            ("finetune", cmd_finetune, "teach a model your labelled images")):
        command = commands.add_parser(name, help=text, add_help=False)
        command.add_argument("rest", nargs=argparse.REMAINDER)
        command.set_defaults(run=run)
    return parser


PASS_THROUGH = {"predict": cmd_predict, "app": cmd_app, "finetune": cmd_finetune}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PASS_THROUGH:
        # argparse.REMAINDER loses options that come first (`predict --model m.keras a.png`),
        # so these commands get their arguments untouched.
        args = argparse.Namespace(run=PASS_THROUGH[argv[0]], rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DigitlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
