"""Setting ``mlp``: ensembles of two-layer Flax networks, trained, pruned, fine-tuned.

``overparam simulate --model mlp --data digits --width 64 256 --keep-fraction 1 0.1
--finetune --seeds 3 --seed 0 --out mlp.csv`` trains ``--seeds`` networks of every width
(``sims.mlp_ensemble``: one compiled call, vmapped over seeds, widths padded and masked,
keep fractions), prunes each by magnitude to ``m (d + k)`` weights (``m = max(1, round(q p))``,
the weight count of the small dense network it is compared with), with ``--finetune`` also
fine-tunes it with the mask fixed, and writes one row per (width, keep fraction, fine-tune):

``data,width,keep_fraction,finetune,seeds,nonzero,small_width,train_loss_mean,
train_loss_stderr,test_loss_mean,test_loss_stderr,train_accuracy_mean,train_accuracy_stderr,
test_accuracy_mean,test_accuracy_stderr,small_test_loss_mean,small_test_loss_stderr,
small_test_accuracy_mean,small_test_accuracy_stderr,dense_test_loss_mean`` (accuracy columns
empty for regression; with ``--freeze-first-layer`` on teacher data also ``risk_exact_mean,
risk_exact_stderr,small_risk_exact_mean``, the exact risks of the trained second layers).
``keep_fraction 1, finetune false`` is the dense network.

Data: ``--data digits`` (scikit-learn's digits, the optional extra ``overparam[digits]``;
stratified split fixed by ``--seed``, ``--test-fraction``) or ``--data teacher`` with the
random-features problem flags of ``--model rf`` (``--d --pool --weights-seed`` or ``--weights
--teacher``, ``--activation``, ``--uncentred``, ``--n``, ``--noise``; ``--pool`` defaults to
the largest width) and ``--n-test``.  Training defaults per data set
(``sims._mlp.DEFAULTS``): digits Adam, lr 1e-3, 3000 steps of minibatches of 64, 1000
fine-tuning steps; teacher full-batch GD with ``lr auto`` (``1 / L``, ``L`` the curvature of
the squared loss in the second layer), 2000 steps, 500 fine-tuning steps.  Flags change them:
``--optimizer gd|sgd|adam --lr X|auto --steps --batch-size B|full --finetune-steps
--freeze-first-layer --prune-scope layer|global --dtype``.  Long runs: ``--chunk`` seeds per
compiled call, ``--checkpoint FILE`` resumes; a progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys

import numpy as np

from models import InputError
from models._activations import ACTIVATIONS
from models._errors import check_choice, check_int_range

from .registry import Setting

DATASETS = ("teacher", "digits")
OPTIMIZERS = ("gd", "sgd", "adam")


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    g = parser.add_argument_group("networks")
    g.add_argument("--data", default="digits", help="digits (default) | teacher")
    g.add_argument("--width", type=float, nargs="+", required=True, help="hidden width(s) p")
    g.add_argument("--keep-fraction", type=float, nargs="+", default=[1.0],
                   help="fraction(s) of weights kept by magnitude pruning, in (0, 1] (default 1)")
    g.add_argument("--finetune", action="store_true",
                   help="also fine-tune every pruned network with its mask fixed")
    g.add_argument("--seeds", type=float, default=3, help="networks per grid point (default 3)")
    g.add_argument("--seed", type=float, default=0,
                   help="PRNG seed (key = jax.random.key(seed)); digits: also the split")
    t = parser.add_argument_group("training (defaults per data set)")
    t.add_argument("--optimizer", default=None, help="gd | sgd | adam")
    t.add_argument("--lr", default=None,
                   help="learning rate (finite > 0) or auto (gd/sgd, teacher)")
    t.add_argument("--steps", type=float, default=None, help="training steps")
    t.add_argument("--batch-size", default=None, help="minibatch size, or full")
    t.add_argument("--finetune-steps", type=float, default=None, help="fine-tuning steps")
    t.add_argument("--freeze-first-layer", action="store_true",
                   help="train the second layer only (teacher: the random-features model)")
    t.add_argument("--prune-scope", default="layer", help="layer (default) | global")
    t.add_argument("--dtype", default="float32", help="float32 (default) | float64")
    t.add_argument("--chunk", type=float, default=None, help="seeds per compiled call")
    t.add_argument("--checkpoint", default=None,
                   help="file where finished seed chunks are saved; rerunning resumes")
    d = parser.add_argument_group("digits data")
    d.add_argument("--test-fraction", type=float, default=0.2, help="test share (default 0.2)")
    r = parser.add_argument_group("teacher data (the random-features problem of --model rf)")
    r.add_argument("--weights", default=None, help="first-layer weights W: .npy (P_max, d)")
    r.add_argument("--teacher", default=None, help="teacher theta: .npy (d,)")
    r.add_argument("--d", type=float, default=None, help="input dimension (draws W and theta)")
    r.add_argument("--pool", type=float, default=None,
                   help="rows of W drawn (default: the largest width)")
    r.add_argument("--weights-seed", type=float, default=0, help="seed of the W and theta draws")
    r.add_argument("--weights-law", default="sphere", help="sphere | gaussian")
    r.add_argument("--activation", default=None, help=" | ".join(ACTIVATIONS) + " (default relu)")
    r.add_argument("--uncentred", action="store_true", help="uncentred features (teacher)")
    r.add_argument("--n", type=float, nargs=1, default=None, help="training samples (teacher)")
    r.add_argument("--noise", type=float, default=None, help="label noise sigma (teacher)")
    r.add_argument("--n-test", type=float, default=2000, help="test samples per seed (teacher)")


@dataclasses.dataclass
class MLPProblem:
    data: object
    kind: str
    widths: np.ndarray
    keep: np.ndarray
    options: dict
    resolved: dict = dataclasses.field(default_factory=dict)


def _lr(value):
    if value is None or value == "auto":
        return value
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"--lr: got {value!r}; allowed: a finite number > 0, or auto") from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"--lr: got {value!r}; allowed: a finite number > 0, or auto")
    return v


def problem(args) -> MLPProblem:
    """Validate every flag and load / draw the data (before anything is compiled)."""
    import jax

    from models._mlp import check_keep_fractions, check_scope, check_widths

    kind = check_choice("--data", args.data, DATASETS)
    widths = check_widths("--width", args.width)
    keep = check_keep_fractions("--keep-fraction", args.keep_fraction)
    seeds = int(check_int_range("--seeds", args.seeds, 1))
    seed = int(check_int_range("--seed", args.seed, 0))
    optimizer = None if args.optimizer is None else check_choice("--optimizer", args.optimizer,
                                                                 OPTIMIZERS)
    lr = _lr(args.lr)
    steps = None if args.steps is None else int(check_int_range("--steps", args.steps, 1))
    ft = (None if args.finetune_steps is None
          else int(check_int_range("--finetune-steps", args.finetune_steps, 1)))
    batch = "default"
    if args.batch_size is not None:
        if args.batch_size == "full":
            batch = None
        else:
            try:
                b = float(args.batch_size)
            except ValueError:
                raise InputError(f"--batch-size: got {args.batch_size!r}; allowed: an integer "
                                 ">= 1, or full") from None
            batch = int(check_int_range("--batch-size", b, 1))
    check_scope("--prune-scope", args.prune_scope)
    check_choice("--dtype", args.dtype, ("float32", "float64"))
    chunk = None if args.chunk is None else int(check_int_range("--chunk", args.chunk, 1))
    if args.activation is not None and args.activation not in ACTIVATIONS:
        raise InputError(f"--activation: unknown name {args.activation!r}; allowed: one of "
                         + ", ".join(ACTIVATIONS))
    teacher_flags = [f for f in ("weights", "teacher", "d", "pool", "n", "noise")
                     if getattr(args, f) is not None]
    if kind == "digits":
        if teacher_flags:
            raise InputError(f"--{teacher_flags[0]}: a teacher-data flag given with --data "
                             "digits; allowed: --data teacher with the random-features flags")
        if args.uncentred:
            raise InputError("--uncentred: a teacher-data flag; allowed: --data teacher")
        from models._digits import load_digits

        tf = float(args.test_fraction)
        if not (math.isfinite(tf) and 0.05 <= tf <= 0.5):
            raise InputError(f"--test-fraction: got {args.test_fraction!r}; allowed: "
                             "0.05 <= fraction <= 0.5")
        data = load_digits(jax.random.key(seed), tf)
        n_train = data.x_train.shape[0]
        n_test = data.x_test.shape[0]
    else:
        from . import _rf

        if args.n is None or args.noise is None:
            raise InputError("--n/--noise: missing; allowed: --data teacher needs --n N "
                             "--noise SIGMA and --d D (or --weights/--teacher)")
        ns = argparse.Namespace(**vars(args))
        ns.second_moment = "gaussian-equivalent"
        ns.radial = False
        ns.activation = args.activation or "relu"
        if ns.weights is None and ns.pool is None:
            ns.pool = float(widths.max())
        data = _rf.build_task(ns)
        if widths.max() > data.pool_size:
            raise InputError(f"--width: got {int(widths.max())}; allowed: integers in [1, "
                             f"{data.pool_size}] (the rows of W; raise --pool)")
        n_train = data.n
        n_test = int(check_int_range("--n-test", args.n_test, 1))
    if isinstance(batch, int) and batch > n_train:
        raise InputError(f"--batch-size: got {batch}; allowed: integers in [1, {n_train}], "
                         "or full")
    options = dict(seeds=seeds, seed=seed, optimizer=optimizer, lr=lr, steps=steps,
                   batch_size=batch, finetune_steps=ft, finetune=bool(args.finetune),
                   freeze_first_layer=bool(args.freeze_first_layer),
                   prune_scope=args.prune_scope, dtype=args.dtype, chunk=chunk, n_test=n_test,
                   activation=args.activation if kind == "digits" else None)
    # the training settings themselves (optimizer x lr x batch) are checked here too, with the
    # messages naming the flags
    from sims._mlp import check_settings, resolve_settings

    try:
        opt, lr_, steps_, batch_, ft_, init_ = resolve_settings(data, optimizer, lr, steps, batch,
                                                                ft, None)
        check_settings(data, widths, keep, seeds=seeds, optimizer=opt, lr=lr_, steps=steps_,
                       batch_size=batch_, finetune_steps=ft_, scope=args.prune_scope,
                       output_init=init_, n_test=n_test)
    except InputError as err:
        name, _, rest = str(err).partition(":")
        flag = {"lr": "--lr", "batch_size": "--batch-size", "optimizer": "--optimizer",
                "steps": "--steps", "finetune_steps": "--finetune-steps"}.get(name)
        if flag is None:
            raise
        raise InputError(flag + ":" + rest) from None
    return MLPProblem(data, kind, widths, keep, options)


def simulate(pr: MLPProblem, args) -> tuple[list[dict], str]:
    import jax
    import jax.numpy as jnp

    import sims

    o = pr.options
    run = sims.mlp_ensemble(
        pr.data, pr.widths, pr.keep, seeds=o["seeds"], key=jax.random.key(o["seed"]),
        finetune=o["finetune"], optimizer=o["optimizer"], lr=o["lr"], steps=o["steps"],
        batch_size=o["batch_size"], finetune_steps=o["finetune_steps"],
        freeze_first_layer=o["freeze_first_layer"], prune_scope=o["prune_scope"],
        activation=o["activation"], n_test=o["n_test"], dtype=jnp.dtype(o["dtype"]),
        chunk=o["chunk"], progress=sys.stderr.isatty(), checkpoint=args.checkpoint)
    pr.resolved.update(run.parameters)
    return run.rows(), o["dtype"]


def parameters(pr: MLPProblem, args) -> dict:
    d = {k: v for k, v in vars(args).items() if k != "command"}
    return {"command": args.command, **d, "data_description": pr.data.describe(),
            "training": dict(pr.resolved)}


COLUMNS = ("data", "width", "keep_fraction", "finetune", "seeds", "nonzero", "small_width",
           "train_loss_mean", "train_loss_stderr", "test_loss_mean", "test_loss_stderr",
           "train_accuracy_mean", "train_accuracy_stderr", "test_accuracy_mean",
           "test_accuracy_stderr", "small_test_loss_mean", "small_test_loss_stderr",
           "small_test_accuracy_mean", "small_test_accuracy_stderr", "dense_test_loss_mean")

SETTING = Setting(
    name="mlp",
    summary="two-layer Flax networks trained with Optax (teacher or digits data), magnitude "
            "pruned, fine-tuned, against small dense networks of equal nonzero count",
    add_arguments=add_arguments,
    problem=problem,
    simulate=simulate,
    parameters=parameters,
    columns={"simulate": COLUMNS},
)
