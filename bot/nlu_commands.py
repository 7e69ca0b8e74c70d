"""The `frontdesk nlu` commands: train, serve and evaluate the Rasa NLU model; review the
training examples employees' transfers suggest (bot/suggestion_commands.py)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bot.console import progress
from bot.settings import Settings, load_routing_config
from bot.suggestion_commands import register as register_suggestions
from nlu import benchmark
from nlu.benchmark import DATASETS
from nlu.evaluation import cross_validate, format_report, held_out, score
from nlu.server import RasaServer
from nlu.service import environment, prepare_model
from nlu.training import RasaProject


def register(commands: argparse._SubParsersAction[Any]) -> None:
    nlu = commands.add_parser(
        "nlu", help="train, serve or evaluate the Rasa NLU model; review suggested examples"
    )
    subcommands = nlu.add_subparsers(title="nlu commands", required=True, metavar="COMMAND")
    train = subcommands.add_parser(
        "train", help="make the Rasa venv and train the model if its data changed"
    )
    train.set_defaults(run=_nlu_train)
    serve_nlu = subcommands.add_parser("serve", help="run the Rasa server with the trained model")
    serve_nlu.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve_nlu.add_argument("--port", type=int, default=5005, help="default 5005")
    serve_nlu.add_argument("--auth-token", default="", help="require ?token=... on requests")
    serve_nlu.set_defaults(run=_nlu_serve)
    evaluate = subcommands.add_parser(
        "eval",
        help="per-intent precision/recall/F1 and the most confused pairs; or a public benchmark",
        description="Cross-validate on the training data (default), or train on all of it "
        "and test on --test FILE (Rasa NLU YAML). Each fold trains a model and classifies "
        "the held-out examples through a real Rasa server. With --dataset NAME PATH: train "
        "the shipped pipeline on that benchmark's train split, choose the clarify threshold "
        "on its validation data, score the test split once, and print accuracy, macro F1, "
        "the threshold trade-off, training time, parse latency and the server's memory. "
        "Banking77 has no validation split: a tenth of train is held out for the "
        "threshold, then (without --shots) the scored model is trained on all of train.",
    )
    evaluate.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    evaluate.add_argument("--test", type=Path, help="a held-out Rasa NLU YAML file")
    evaluate.add_argument("--dataset", choices=DATASETS, help="a public benchmark, read from PATH")
    evaluate.add_argument(
        "path", nargs="?", type=Path, metavar="PATH", help="the benchmark's folder"
    )
    evaluate.add_argument(
        "--shots", type=int, metavar="N", help="train on N examples per intent only"
    )
    evaluate.set_defaults(run=_nlu_eval)
    register_suggestions(subcommands)


def _nlu_train(args: argparse.Namespace) -> int:
    model = prepare_model(Settings.from_env().home, RasaProject(), progress)
    print(model)
    return 0


def _nlu_serve(args: argparse.Namespace) -> int:
    return asyncio.run(_nlu_serve_async(args))


async def _nlu_serve_async(args: argparse.Namespace) -> int:
    home = Settings.from_env().home
    model = await asyncio.to_thread(prepare_model, home, RasaProject(), progress)
    server = RasaServer(
        environment(home),
        model,
        log_file=home / "logs" / "rasa.log",
        host=args.host,
        port=args.port,
        token=args.auth_token,
    )
    progress(f"Starting Rasa on {args.host}:{args.port}; its log: {server.log_file}")
    async with server:
        progress(f"NLU server ready: RASA_URL={server.url}  (Ctrl-C stops it)")
        await asyncio.Event().wait()
    return 0


def _nlu_eval(args: argparse.Namespace) -> int:
    return asyncio.run(_nlu_eval_async(args))


async def _nlu_eval_async(args: argparse.Namespace) -> int:
    if args.dataset or args.path:
        return await _nlu_benchmark(args)
    settings = Settings.from_env()
    config = load_routing_config(settings.config_path)
    project = RasaProject()
    env = await asyncio.to_thread(environment(settings.home).ensure, progress)
    with tempfile.TemporaryDirectory(prefix="frontdesk-eval-") as scratch:
        workdir = Path(scratch)
        if args.test:
            title = f"NLU evaluation: trained on {project.data}, tested on {args.test}"
            predictions = await held_out(
                project, env, args.test, settings.home / "models", workdir, progress
            )
        else:
            title = f"NLU evaluation: {args.folds}-fold cross-validation on {project.data}"
            predictions = await cross_validate(project, env, args.folds, workdir, progress)
    print(format_report(score(predictions, config.triage.min_confidence), title))
    points = benchmark.curve(predictions)
    chosen = benchmark.chosen_threshold(predictions)
    print(f"\n{benchmark.format_curve(points, 'held-out predictions')}")
    print(
        f"\nclarify threshold: triage.min_confidence is {config.triage.min_confidence:.2f}; "
        f"the highest that flags <= {benchmark.MAX_FLAGGED:.0%} of in-scope messages here "
        f"is {chosen.threshold:.2f}"
        + (
            f" (out-of-scope recall {chosen.oos_recall:.0%})"
            if chosen.oos_recall is not None
            else ""
        )
    )
    return 0


async def _nlu_benchmark(args: argparse.Namespace) -> int:
    if not (args.dataset and args.path):
        progress("frontdesk nlu eval: --dataset NAME and PATH go together")
        return 2
    splits = await asyncio.to_thread(benchmark.load, args.dataset, args.path, args.shots)
    env = await asyncio.to_thread(environment(Settings.from_env().home).ensure, progress)
    with tempfile.TemporaryDirectory(prefix="frontdesk-benchmark-") as scratch:
        validation, test, costs = await benchmark.run(
            splits, RasaProject(), env, Path(scratch), progress
        )
    shots = f", {args.shots} examples per intent" if args.shots else ""
    trained = f"{len(splits.train)} training" + (
        f" (then {len(splits.train) + len(splits.validation)}: train and validation)"
        if splits.refit
        else ""
    )
    title = (
        f"NLU benchmark: {args.dataset}{shots} ({trained}, "
        f"{len(splits.validation)} validation, {len(splits.test)} test messages)"
    )
    print(benchmark.format_benchmark(title, validation, test, costs))
    return 0
