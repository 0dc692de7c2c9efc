"""A catalogue of bad inputs across every setting and the command line (issue 11, item 5).

Each case runs ``overparam.cli.main`` in-process and checks that the input is refused

* with exit status 2 and ONE stderr line ``overparam: error: <message>`` matching the
  expected message (the argument named, and for the library's checks the allowed range);
* before any compilation: JAX's caches are cleared first, so any jit function the run
  reached would be traced anew, and a ``jax.monitoring`` listener records every trace.
  Only JAX's array placement is allowed: ``jnp.asarray`` of host values runs the one-op
  programs ``stage`` / ``convert_element_type`` (a copy to the device, no arithmetic) when
  a task is built.  No random draw, no theory, no simulation.  (A checkpoint is identified
  by the run's PRNG key, so refusing another run's checkpoint derives that key:
  ``_threefry_seed`` / ``_threefry_split``, and still nothing of the simulation.)
* leaving no output behind: the output folder is empty afterwards (no CSV, no sidecar, no
  temporary file), and a missing output folder is not created.

``tests/test_inputs.py``, ``tests/test_cli.py`` and ``tests/test_rf_cli.py`` check other
bad inputs (library validation, exit codes); this catalogue does not repeat them.
"""

from __future__ import annotations

import contextlib
import re

import jax
import numpy as np
import pytest

from overparam import cli

#: JAX programs a rejected run may trace: array placement only (module docstring)
PLACEMENT = frozenset({"stage", "convert_element_type"})
PRNG_KEY = frozenset({"_threefry_seed", "_threefry_split", "random_seed", "random_split",
                      "random_wrap", "random_unwrap", "random_bits"})
TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"


_TRACED: list[list[str]] = []       # the open capture, if any


def _listener(event, duration, **kw):
    if event == TRACE_EVENT and _TRACED:
        _TRACED[-1].append(kw.get("fun_name"))


jax.monitoring.register_event_duration_secs_listener(_listener)  # registered once, idle


@contextlib.contextmanager
def traced():
    """Names of every function JAX traces inside the block (caches cleared first)."""
    names: list[str] = []
    jax.clear_caches()
    _TRACED.append(names)
    try:
        yield names
    finally:
        _TRACED.remove(names)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Input files, good and bad, in one folder (``F/`` in the cases)."""
    d = tmp_path_factory.mktemp("inputs")
    text = {
        "ok.csv": "eigenvalue,signal\n1,0.5\n0.5,0.1\n0.2,0\n",
        "nan.csv": "eigenvalue,signal\n1,0.5\nnan,0.1\n",
        "inf.csv": "eigenvalue,signal\n1,inf\n",
        "empty.csv": "",
        "blank.csv": "\n\n  \n",
        "header_only.csv": "eigenvalue,signal\n",
        "words.csv": "eigenvalue,signal\none,half\n",
        "three_fields.csv": "eigenvalue,signal\n1,0.5,7\n",
        "semicolons.csv": "eigenvalue;signal\n1;0.5\n",
        "zero_eigenvalue.csv": "eigenvalue,signal\n1,0.5\n0,0.1\n",
        "not_numpy.npy": "this is not a .npy file",
    }
    for name, body in text.items():
        (d / name).write_text(body)
    rng = np.random.default_rng(0)
    arrays = {
        "W.npy": rng.standard_normal((8, 3)),
        "T.npy": np.ones(3),
        "W_nan.npy": np.where(np.eye(8, 3) > 0, np.nan, 1.0),
        "W_complex.npy": np.ones((8, 3)) + 1j,
        "W_empty.npy": np.ones((0, 3)),
        "W_3d.npy": np.ones((2, 4, 3)),
        "T_column.npy": np.ones((3, 1)),
        "T_inf.npy": np.array([1.0, -np.inf, 0.0]),
        "T_wrong_d.npy": np.ones(5),
    }
    for name, arr in arrays.items():
        np.save(d / name, arr)
    np.save(d / "W_object.npy", np.array([[1.0, "a"]], dtype=object), allow_pickle=True)
    return d


LIN = ["--spectrum", "F/ok.csv", "--n", "10", "--noise", "1"]
RF_DRAW = ["--model", "rf", "--d", "5", "--pool", "8", "--n", "10", "--noise", "0.1"]
RF_FILES = ["--model", "rf", "--weights", "F/W.npy", "--teacher", "F/T.npy", "--n", "10",
            "--noise", "0.1"]
PAI = ["--model", "patch-net", "--n", "8", "--d", "60", "--m", "3"]
NOISY = ["--model", "noisy-sgd", "--alpha", "2", "--sigma", "0.1"]
MLP = ["--model", "mlp", "--width", "8"]

# (id, argv (``F/`` = the files folder; ``--out`` added unless given), message regex)
CASES = [
    # -- command line ----------------------------------------------------------------------
    ("unknown command", ["fit"], r"command: unknown 'fit'; allowed: one of theory, simulate"),
    ("unknown model", ["theory", "--model", "quadratic", *LIN[:2]],
     r"--model: unknown model 'quadratic'; allowed: one of linear, linear-pruned"),
    ("unknown figure", ["figure", "no-such-figure"],
     r"figure: unknown name 'no-such-figure'; allowed: one of "),
    ("model without theory", ["theory", *MLP], r"--model: mlp has no theory; allowed: simulate"),
    ("missing required flag", ["theory", "--spectrum", "F/ok.csv", "--n", "10"],
     r"the following arguments are required: --noise"),
    ("non-numeric flag", ["theory", "--spectrum", "F/ok.csv", "--n", "ten", "--noise", "1"],
     r"argument --n: invalid float value: 'ten'"),
    ("output path is a folder", ["theory", *LIN, "--out", "OUT"],
     r"--out: '.*' is a folder; allowed: a file path"),
    ("output folder missing", ["theory", *LIN, "--out", "MISSING/x.csv"],
     r"--out: '.*missing' is not an existing folder; allowed: a file path in an existing folder"),
    ("figure folder missing", ["compare", *LIN, "--trials", "4", "--figure", "MISSING/f.png"],
     r"--figure: '.*missing' is not an existing folder; allowed: a file path in an existing"),
    # -- linear: the spectrum file ---------------------------------------------------------
    ("csv empty", ["theory", "--spectrum", "F/empty.csv", "--n", "10", "--noise", "1"],
     r"spectrum: empty.csv has header '\(empty file\)'; allowed: exactly 'eigenvalue,signal'"),
    ("csv blank lines", ["theory", "--spectrum", "F/blank.csv", "--n", "10", "--noise", "1"],
     r"spectrum: blank.csv has header '\(empty file\)'"),
    ("csv header only", ["theory", "--spectrum", "F/header_only.csv", "--n", "10", "--noise", "1"],
     r"spectrum: header_only.csv has no rows; allowed: at least one feature"),
    ("csv non-numeric", ["theory", "--spectrum", "F/words.csv", "--n", "10", "--noise", "1"],
     r"spectrum: words.csv line 2 is not numeric \('one,half'\); allowed: two numbers"),
    ("csv three fields", ["theory", "--spectrum", "F/three_fields.csv", "--n", "10", "--noise", "1"],
     r"spectrum: three_fields.csv line 2 has 3 fields; allowed: two numbers"),
    ("csv wrong delimiter", ["theory", "--spectrum", "F/semicolons.csv", "--n", "10", "--noise", "1"],
     r"spectrum: semicolons.csv has header 'eigenvalue;signal'"),
    ("csv NaN eigenvalue", ["theory", "--spectrum", "F/nan.csv", "--n", "10", "--noise", "1"],
     r"eigenvalues: 1 non-finite entries \(first at flat index 1\); allowed: finite real"),
    ("csv infinite signal", ["theory", "--spectrum", "F/inf.csv", "--n", "10", "--noise", "1"],
     r"signal: 1 non-finite entries \(first at flat index 0\); allowed: finite real"),
    ("csv zero eigenvalue", ["theory", "--spectrum", "F/zero_eigenvalue.csv", "--n", "10",
                             "--noise", "1"], r"eigenvalues: got 0.0; allowed: finite values > 0"),
    ("csv missing", ["theory", "--spectrum", "F/nope.csv", "--n", "10", "--noise", "1"],
     r"spectrum: file '.*nope.csv' not found; allowed: a CSV file"),
    # -- linear: presets and sizes ---------------------------------------------------------
    ("preset unknown field", ["theory", "--spectrum", "isotropic:pool=10,width=3", "--n", "10",
                              "--noise", "1"],
     r"--spectrum: bad preset field 'width=3' for isotropic; allowed: pool=<int>"),
    ("preset non-numeric", ["theory", "--spectrum", "isotropic:pool=ten", "--n", "10", "--noise", "1"],
     r"--spectrum: pool='ten' is not a number; allowed: pool=<int>"),
    ("preset without values", ["theory", "--spectrum", "power-law", "--n", "10", "--noise", "1"],
     r"--spectrum: preset 'power-law' needs parameters; allowed: "),
    ("preset negative pool", ["theory", "--spectrum", "isotropic:pool=-5", "--n", "10", "--noise", "1"],
     r"pool: got -5; allowed: integers in \[1, inf\]"),
    ("preset strong > pool", ["theory", "--spectrum", "two-level:strong=20,lam_strong=1,lam_weak=0.1,"
                              "pool=10", "--n", "10", "--noise", "1"],
     r"strong: got 20; allowed: integers in \[1, 10\]"),
    ("preset NaN exponent", ["theory", "--spectrum", "power-law:pool=10,a=nan,b=1", "--n", "10",
                             "--noise", "1"], r"a: 1 non-finite entries"),
    ("negative n", ["theory", "--spectrum", "F/ok.csv", "--n", "-3", "--noise", "1"],
     r"--n: got -3; allowed: integers in \[1, inf\]"),
    ("fractional n", ["theory", "--spectrum", "F/ok.csv", "--n", "2.5", "--noise", "1"],
     r"--n: got non-integer value 2.5; allowed: integers in \[1, inf\]"),
    ("infinite n", ["theory", "--spectrum", "F/ok.csv", "--n", "inf", "--noise", "1"],
     r"--n: 1 non-finite entries"),
    ("infinite noise", ["theory", "--spectrum", "F/ok.csv", "--n", "10", "--noise", "inf"],
     r"--noise: 1 non-finite entries"),
    ("NaN ridge", ["theory", *LIN, "--ridge", "0", "nan"], r"--ridge: 1 non-finite entries"),
    ("zero p", ["theory", *LIN, "--p", "0"], r"--p: got 0; allowed: integers in \[1, 3\]"),
    ("p beyond the pool", ["theory", *LIN, "--p", "2", "4"], r"--p: got 4; allowed: integers in \[1, 3\]"),
    ("one trial", ["simulate", *LIN, "--trials", "1"], r"--trials: got 1; allowed: integers in \[2, inf\]"),
    ("negative seed", ["simulate", *LIN, "--seed", "-1"], r"--seed: got -1; allowed: integers in \[0, inf\]"),
    ("unknown dtype", ["simulate", *LIN, "--dtype", "float16"],
     r"--dtype: got 'float16'; allowed: float32 or float64"),
    ("zero chunk", ["simulate", *LIN, "--chunk", "0"], r"--chunk: got 0; allowed: integers in \[1, inf\]"),
    ("one theory point", ["compare", *LIN, "--trials", "4", "--theory-points", "1"],
     r"--theory-points: got 1; allowed: integers in \[2, inf\]"),
    # -- linear-pruned ---------------------------------------------------------------------
    ("keep > p", ["theory", *LIN, "--p", "2", "3", "--keep", "3"],
     r"--keep: got 3 with p = 2; allowed: integers in \[1, p\] for every model size"),
    ("zero keep", ["theory", *LIN, "--keep", "0"], r"--keep: got 0; allowed: integers in \[1, inf\]"),
    ("unknown rule", ["theory", *LIN, "--keep", "1", "--rule", "biggest"],
     r"--rule: unknown rule 'biggest'; allowed: one of none, magnitude, saliency, oracle, random"),
    ("unknown retrain", ["simulate", *LIN, "--keep", "1", "--retrain", "twice"],
     r"--retrain: unknown value 'twice'; allowed: one of 'none', 'same', 'fresh'"),
    ("retrain without keep", ["theory", *LIN, "--retrain", "fresh"],
     r"--retrain: needs --keep; allowed: --keep S \[S ...\] with --retrain"),
    ("pruned model without keep", ["theory", "--model", "linear-pruned", *LIN],
     r"--keep: required by --model linear-pruned; allowed: --keep S \[S ...\]"),
    ("fresh retraining keep >= n - 1", ["theory", "--spectrum", "F/ok.csv", "--n", "3", "--noise",
                                        "1", "--keep", "2", "--retrain", "fresh"],
     r"--keep: retraining by least squares needs keep < n - 1; allowed: integers in \[1, 1\]"),
    # -- random features: .npy files and flags ---------------------------------------------
    ("npy not numpy", ["theory", *RF_FILES[:2], "--weights", "F/not_numpy.npy", *RF_FILES[4:]],
     r"--weights: cannot read not_numpy.npy as a .npy array"),
    ("npy object array", ["theory", *RF_FILES[:2], "--weights", "F/W_object.npy", *RF_FILES[4:]],
     r"--weights: cannot read W_object.npy as a .npy array \(Object arrays cannot be loaded"),
    ("npy NaN weights", ["theory", *RF_FILES[:2], "--weights", "F/W_nan.npy", *RF_FILES[4:]],
     r"weights: 3 non-finite entries \(first at flat index 0\); allowed: finite real numbers"),
    ("npy complex weights", ["theory", *RF_FILES[:2], "--weights", "F/W_complex.npy", *RF_FILES[4:]],
     r"weights: has complex values \(dtype complex128\); allowed: finite real numbers"),
    ("npy empty weights", ["theory", *RF_FILES[:2], "--weights", "F/W_empty.npy", *RF_FILES[4:]],
     r"weights: has shape \(0, 3\); allowed: \(P, d\) with P >= 1, d >= 1"),
    ("npy 3-d weights", ["theory", *RF_FILES[:2], "--weights", "F/W_3d.npy", *RF_FILES[4:]],
     r"--weights: W_3d.npy has shape \(2, 4, 3\); allowed: a 2-dimensional array"),
    ("npy column teacher", ["theory", *RF_FILES[:4], "--teacher", "F/T_column.npy", *RF_FILES[6:]],
     r"--teacher: T_column.npy has shape \(3, 1\); allowed: a 1-dimensional array"),
    ("npy infinite teacher", ["theory", *RF_FILES[:4], "--teacher", "F/T_inf.npy", *RF_FILES[6:]],
     r"teacher: 1 non-finite entries \(first at flat index 1\)"),
    ("teacher length != d", ["theory", *RF_FILES[:4], "--teacher", "F/T_wrong_d.npy", *RF_FILES[6:]],
     r"teacher: has 5 entries but the weights have d = 3 columns; allowed: a teacher of length d"),
    ("weights without teacher", ["theory", *RF_FILES[:4], *RF_FILES[6:]],
     r"--weights/--teacher: give both files; allowed: "),
    ("files and draw flags", ["theory", *RF_FILES, "--d", "3"],
     r"--d/--pool: given with --weights; allowed: either the files or the draw flags"),
    ("rf p beyond drawn pool", ["theory", *RF_DRAW, "--p", "9"],
     r"--p: got 9; allowed: integers in \[1, 8\]"),
    ("rf keep > p before the draw", ["simulate", *RF_DRAW, "--p", "4", "--keep", "5"],
     r"--keep: got 5 with p = 4; allowed: integers in \[1, p\] for every width"),
    ("rf unknown weight law", ["theory", *RF_DRAW, "--weights-law", "cauchy"],
     r"--weights-law: unknown value 'cauchy'; allowed: one of 'sphere', 'gaussian'"),
    ("rf zero pool", ["theory", *RF_DRAW[:4], "--pool", "0", *RF_DRAW[6:]],
     r"--pool: got 0; allowed: integers in \[1, inf\]"),
    ("rf NaN noise", ["theory", *RF_DRAW[:-1], "nan"], r"--noise: 1 non-finite entries"),
    ("rf one draw", ["theory", *RF_DRAW, "--keep", "2", "--draws", "1"],
     r"--draws: got 1; allowed: integers in \[2, inf\]"),
    ("rf theory points", ["compare", *RF_DRAW, "--trials", "4", "--theory-points", "0"],
     r"--theory-points: got 0; allowed: integers in \[2, inf\]"),
    # -- patch-net (pruning at initialization) ---------------------------------------------
    ("patch NaN fraction", ["theory", *PAI, "--p", "0", "nan"], r"--p: 1 non-finite entries"),
    ("patch negative fraction", ["theory", *PAI, "--p", "-0.1"],
     r"--p: got -0.1; allowed: pruning fractions in \[0, 1\)"),
    ("patch zero neurons", ["theory", "--model", "patch-net", "--m", "0"],
     r"m: got 0; allowed: integers in \[1, inf\]"),
    ("patch fractional n", ["theory", "--model", "patch-net", "--n", "2.5"],
     r"argument --n: invalid int value: '2.5'"),
    ("patch NaN init scale", ["theory", "--model", "patch-net", "--sigma-0", "nan"],
     r"sigma_0: 1 non-finite entries"),
    ("patch zero step size", ["simulate", *PAI, "--eta", "0"], r"eta: got 0.0; allowed: finite values > 0"),
    ("patch record beyond steps", ["simulate", *PAI, "--steps", "20", "--record-steps", "30"],
     r"record_steps: got 30; allowed: integers in \[0, 20\]"),
    ("patch zero test set", ["simulate", *PAI, "--n-test", "0"],
     r"n_test: got 0; allowed: integers in \[1, inf\]"),
    # -- noisy-sgd (heavy-tailed SGD) ------------------------------------------------------
    ("noisy alpha 0", ["simulate", "--model", "noisy-sgd", "--alpha", "0", "--sigma", "0.1"],
     r"alpha: got 0.0; allowed: 0 < alpha <= 2"),
    ("noisy infinite sigma", ["simulate", "--model", "noisy-sgd", "--alpha", "2", "--sigma", "inf"],
     r"sigma: 1 non-finite entries"),
    ("noisy mismatched grid", ["simulate", "--model", "noisy-sgd", "--alpha", "1", "2", "--sigma", "0.1"],
     r"--sigma: 1 values for 2 alpha values; allowed: one sigma per alpha"),
    ("noisy zero width", ["simulate", *NOISY, "--width", "0"], r"width: got 0; allowed: integers in \[1, inf\]"),
    ("noisy batch > n", ["simulate", *NOISY, "--n-train", "100", "--batch", "200"],
     r"batch: got 200; allowed: integers in \[1, 100\]"),
    ("noisy NaN step size", ["simulate", *NOISY, "--eta", "nan"], r"eta: 1 non-finite entries"),
    ("noisy unknown form", ["simulate", *NOISY, "--form", "quadratic"],
     r"form: unknown value 'quadratic'; allowed: one of 'relu', 'mean-field'"),
    ("noisy kappa 0", ["simulate", *NOISY, "--kappa", "0"], r"--kappa: got 0.0; allowed: 0 < kappa < 1"),
    ("noisy one compare seed", ["compare", *NOISY, "--seeds", "1"],
     r"--seeds: got 1; allowed: integers in \[2, inf\]"),
    # -- mlp (two-layer networks) ----------------------------------------------------------
    ("mlp zero width", ["simulate", "--model", "mlp", "--width", "0"],
     r"--width: got 0; allowed: integers in \[1, inf\]"),
    ("mlp keep fraction 0", ["simulate", *MLP, "--keep-fraction", "0"],
     r"--keep-fraction: got 0.0; allowed: fractions in \(0, 1\]"),
    ("mlp unknown optimizer", ["simulate", *MLP, "--optimizer", "rmsprop"],
     r"--optimizer: unknown value 'rmsprop'; allowed: one of 'gd', 'sgd', 'adam'"),
    ("mlp NaN learning rate", ["simulate", *MLP, "--lr", "nan"],
     r"--lr: got 'nan'; allowed: a finite number > 0, or auto"),
    ("mlp unknown data", ["simulate", *MLP, "--data", "mnist"],
     r"--data: unknown value 'mnist'; allowed: one of 'teacher', 'digits'"),
]


def _run(argv, files, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    subs = {"F/": f"{files}/", "MISSING/": f"{tmp_path}/missing/", "OUT": str(out_dir)}
    argv = [next((a.replace(k, v) for k, v in subs.items() if k in a), a) for a in argv]
    if argv[0] not in ("figure",) and "--out" not in argv:
        argv += ["--out", str(out_dir / "x.csv")]
    capsys.readouterr()
    with traced() as names:
        code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    return code, err, set(names), out_dir


def _assert_refused(code, err, message, names, out_dir, tmp_path, allowed=PLACEMENT):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("overparam: error: "), err
    assert re.search(message, err), (message, err)
    assert names <= allowed, f"traced before refusing: {sorted(names - allowed)}"
    assert sorted(p.name for p in out_dir.iterdir()) == [], "partial output left behind"
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("argv,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_before_compiling(argv, message, files, tmp_path, capsys):
    code, err, names, out_dir = _run(argv, files, tmp_path, capsys)
    _assert_refused(code, err, message, names, out_dir, tmp_path)


def test_catalogue_covers_every_setting():
    from overparam import registry

    assert len(CASES) >= 30
    named = {argv[argv.index("--model") + 1] for _, argv, _ in CASES if "--model" in argv}
    assert set(registry.names()) - {"linear"} <= named     # linear: the default model
    assert len({c[0] for c in CASES}) == len(CASES)


# -- a checkpoint from another problem -------------------------------------------------------
@pytest.fixture()
def foreign_checkpoint(tmp_path):
    """A checkpoint folder of another problem (a random-features run's parameters), written
    with the simulations' own checkpoint store, with one finished chunk."""
    from sims._checkpoint import TrialCheckpoint

    ck = TrialCheckpoint(tmp_path / "ck", {"kind": "rf", "grid": [[8], [10], [0.0]],
                                           "trials": 4, "key": [0, 0]})
    ck.save(0, 4, (np.ones((4, 1)),))
    return ck.path


def test_checkpoint_of_another_problem(foreign_checkpoint, files, tmp_path, capsys):
    before = sorted(p.name for p in foreign_checkpoint.iterdir())
    code, err, names, out_dir = _run(["simulate", *LIN, "--trials", "4", "--checkpoint",
                                      str(foreign_checkpoint)], files, tmp_path, capsys)
    _assert_refused(code, err, r"checkpoint: '.*ck' was written by a run with other parameters "
                    r"\(differs in: .*kind.*\); allowed: the same parameters to resume it",
                    names, out_dir, tmp_path, allowed=PLACEMENT | PRNG_KEY)
    assert sorted(p.name for p in foreign_checkpoint.iterdir()) == before  # nothing mixed in


@pytest.mark.parametrize("make,message", [
    (lambda d: (d / "ck").write_text("x"), r"checkpoint: '.*ck' is a file, not a checkpoint folder"),
    (lambda d: ((d / "ck").mkdir(), (d / "ck" / "notes.txt").write_text("x")),
     r"checkpoint: '.*ck' is a folder without run.json \(not a checkpoint\)"),
], ids=["a file", "a folder of something else"])
def test_checkpoint_path_is_not_a_checkpoint(make, message, files, tmp_path, capsys):
    make(tmp_path)
    code, err, names, out_dir = _run(["simulate", *LIN, "--trials", "4", "--checkpoint",
                                      str(tmp_path / "ck")], files, tmp_path, capsys)
    _assert_refused(code, err, message, names, out_dir, tmp_path, allowed=PLACEMENT | PRNG_KEY)


@pytest.mark.slow
@pytest.mark.parametrize("argv,message", [
    (["simulate", "--spectrum", "F/ok.csv", "--n", "10", "--noise", "0.5", "--trials", "4"],
     r"checkpoint: '.*ck' was written by a run with other parameters \(differs in: task\)"),
    (["simulate", *LIN, "--trials", "4", "--keep", "1", "--rule", "magnitude"],
     r"checkpoint: '.*ck' was written by a run with other parameters \(differs in: .*keep"),
    (["simulate", *LIN, "--trials", "6"],
     r"checkpoint: '.*ck' was written by a run with other parameters \(differs in: .*trials"),
], ids=["other noise", "pruned run on a dense checkpoint", "other trial count"])
def test_checkpoint_of_a_real_run_of_another_problem(argv, message, files, tmp_path, capsys):
    """End to end (slow: compiles a simulation): a real run's checkpoint, then other runs."""
    ck = tmp_path / "ck"
    assert cli.main(["simulate", *[a.replace("F/", f"{files}/") for a in LIN], "--trials", "4",
                     "--checkpoint", str(ck), "--out", str(tmp_path / "mc.csv")]) == 0
    before = sorted(p.name for p in ck.iterdir())
    code, err, names, out_dir = _run([*argv, "--checkpoint", str(ck)], files, tmp_path, capsys)
    _assert_refused(code, err, message, names, out_dir, tmp_path, allowed=PLACEMENT | PRNG_KEY)
    assert sorted(p.name for p in ck.iterdir()) == before              # nothing mixed in


def test_the_trace_listener_sees_compilation(files, tmp_path, capsys):
    """The check above can fail: a valid run traces its theory and writes its output."""
    code, err, names, out_dir = _run(["theory", *LIN], files, tmp_path, capsys)
    assert code == 0, err
    assert names - PLACEMENT, names                       # e.g. the dense theory grid
    assert (out_dir / "x.csv").exists() and (out_dir / "x.csv.json").exists()
