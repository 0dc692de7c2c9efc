"""The training core (sims._training) and the alpha-stable noise transformation (sims._noise).

Invariants first: a pure step, pruned weights exactly zero after every update (SGD, Adam, the
noisy chain), ``vmap`` over seeds equal to a loop, one compilation per sweep.  Statistics of
the injected noise against closed forms, with 5 Monte Carlo standard errors computed from
the exact variance of the statistic.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from models import InputError
from sims._noise import stable_noise, stable_noise_sample
from sims._training import Trainer, apply_mask, check_train_dtype, prune_updates, train

D = 6


def _data(key, n=40):
    x = jax.random.normal(key, (n, D))
    return x, jnp.tanh(x @ jnp.linspace(-1.0, 1.0, D))


def _loss(params, batch):
    """A two-leaf model whose gradient is nonzero on every weight (pruned ones included:
    the mask is not in the forward pass, only in the training)."""
    x, y = batch
    return jnp.mean((jnp.tanh(x @ params["w"]) @ params["v"] - y) ** 2)


def _params(key):
    k1, k2 = jax.random.split(key)
    return {"w": jax.random.normal(k1, (D, 5)) / np.sqrt(D), "v": jax.random.normal(k2, (5,))}


MASK = {"w": (jax.random.uniform(jax.random.key(9), (D, 5)) > 0.5).astype(jnp.float32),
        "v": None}


def _raw(tree):
    """Keys as their raw data, so that whole states can be compared."""
    return jax.tree.map(lambda v: jax.random.key_data(v)
                        if jax.dtypes.issubdtype(v.dtype, jax.dtypes.prng_key) else v, tree)


def _noisy(key):
    return optax.chain(optax.sgd(0.05), stable_noise(key, eta=0.05, alpha=1.5, sigma=0.1))


OPTIMIZERS = {"sgd": lambda k: optax.sgd(0.1), "adam": lambda k: optax.adam(0.05),
              "noisy-sgd": _noisy}


# ----------------------------------------------------------------------------- the core
def test_step_is_pure_and_jittable():
    tr = Trainer(_loss, optax.adam(0.05), mask=MASK)
    s0 = tr.init(jax.random.key(0), _params(jax.random.key(1)))
    data = _data(jax.random.key(2))
    a, b = tr.step(s0, data), jax.jit(tr.step)(s0, data)
    chex.assert_trees_all_close(_raw(a), _raw(b), rtol=1e-6)
    chex.assert_trees_all_equal(_raw(tr.step(s0, data)), _raw(a))       # same input, same output
    assert int(a.step) == 1 and int(s0.step) == 0            # the input state is untouched


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_pruned_weights_exactly_zero_after_every_update(name):
    tr = Trainer(_loss, OPTIMIZERS[name](jax.random.key(3)), mask=MASK)
    s0 = tr.init(jax.random.key(0), _params(jax.random.key(1)))
    steps = jnp.arange(0, 31)
    _, rec = jax.jit(lambda s: train(tr, s, _data(jax.random.key(2)), steps,
                                     lambda st: st.params))(s0)
    pruned = np.asarray(MASK["w"]) == 0
    w = np.asarray(rec["w"])                                 # (31, D, 5)
    assert w.shape == (31, D, 5)
    assert np.all(w[:, pruned] == 0.0)                      # exactly zero, at every record
    assert np.all(np.abs(w[-1] - w[0])[~pruned] > 0)         # the kept weights did move
    assert np.all(np.asarray(rec["v"])[-1] != np.asarray(rec["v"])[0])  # unmasked leaf trains


def test_prune_updates_alone_removes_nonfinite_updates():
    tx = optax.chain(optax.adam(0.1), prune_updates({"w": MASK["w"], "v": None}))
    params = apply_mask(_params(jax.random.key(1)), MASK)
    state = tx.init(params)
    grads = {"w": jnp.where(MASK["w"] == 0, jnp.nan, 1.0), "v": jnp.ones(5)}
    updates, _ = tx.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    assert np.all(np.asarray(new["w"])[np.asarray(MASK["w"]) == 0] == 0.0)
    assert np.all(np.isfinite(np.asarray(new["w"])))


def test_int_record_steps_equals_array_schedule():
    tr = Trainer(_loss, optax.sgd(0.1), mask=MASK)
    s0 = tr.init(jax.random.key(0), _params(jax.random.key(1)))
    data = _data(jax.random.key(2))
    a, ra = train(tr, s0, data, 25, lambda s: {"loss": _loss(s.params, data)})
    b, rb = train(tr, s0, data, jnp.array([0, 10, 25]), lambda s: {"loss": _loss(s.params, data)})
    chex.assert_trees_all_close(a.params, b.params, rtol=1e-6)
    assert ra["loss"].shape == (1,) and rb["loss"].shape == (3,)
    np.testing.assert_allclose(rb["loss"][0], _loss(s0.params, data), rtol=1e-6)  # t = 0
    np.testing.assert_allclose(ra["loss"][0], rb["loss"][-1], rtol=1e-6)
    assert int(a.step) == int(b.step) == 25


def test_minibatch_key_is_split_per_step():
    seen = []

    def minibatch(key, data):
        idx = jax.random.randint(key, (8,), 0, data[0].shape[0])
        return data[0][idx], data[1][idx]

    tr = Trainer(_loss, optax.sgd(0.1), minibatch=minibatch)
    s = tr.init(jax.random.key(4), _params(jax.random.key(1)))
    data = _data(jax.random.key(2))
    for _ in range(3):
        seen.append(s.key)
        s = tr.step(s, data)
    raw = [tuple(np.asarray(jax.random.key_data(k)).ravel()) for k in seen]
    assert len(set(raw)) == 3                                # a fresh minibatch key each step


def test_vmap_over_seeds_equals_loop():
    data = _data(jax.random.key(2))

    def run(key):
        k_init, k_noise = jax.random.split(key)
        tr = Trainer(_loss, _noisy(k_noise), mask=MASK)
        state, rec = train(tr, tr.init(k_init, _params(k_init)), data, jnp.array([5, 20]),
                           lambda s: {"loss": _loss(s.params, data)})
        return state.params, rec

    keys = jax.random.split(jax.random.key(7), 4)
    batched = jax.jit(jax.vmap(run))(keys)
    one = jax.jit(run)
    for i, k in enumerate(keys):
        chex.assert_trees_all_close(jax.tree.map(lambda v: v[i], batched), one(k),
                                    rtol=1e-5, atol=1e-6)


def test_sweep_over_noise_grid_and_masks_compiles_once():
    chex.clear_trace_counter()
    data = _data(jax.random.key(2))
    p0 = _params(jax.random.key(1))

    @jax.jit
    @chex.assert_max_traces(n=1)
    def sweep(alphas, sigmas, masks):
        def one(a, s, m):
            tr = Trainer(_loss, optax.chain(optax.sgd(0.05),
                                            stable_noise(jax.random.key(5), eta=0.05, alpha=a,
                                                         sigma=s)),
                         mask={"w": m, "v": None})
            return train(tr, tr.init(jax.random.key(0), p0), data, 10)[0].params["w"]

        return jax.vmap(one)(alphas, sigmas, masks)

    u = jax.random.uniform(jax.random.key(6), (D, 5))
    masks = jnp.stack([(u >= p).astype(jnp.float32) for p in (0.0, 0.5, 0.9)])
    w1 = sweep(jnp.array([2.0, 1.75, 1.5]), jnp.array([0.0, 0.1, 0.2]), masks)
    w2 = sweep(jnp.array([1.2, 1.9, 2.0]), jnp.array([0.3, 0.0, 0.01]), masks[::-1])
    assert w1.shape == w2.shape == (3, D, 5)
    assert np.all(np.asarray(w1)[np.asarray(masks) == 0] == 0.0)


# ----------------------------------------------------------------------------- the noise
def _noise_only(alpha, sigma, eta, shape, noise_type="iid", key=jax.random.key(11)):
    tx = stable_noise(key, eta=eta, alpha=alpha, sigma=sigma, noise_type=noise_type)
    zeros = jnp.zeros(shape, jnp.float64)
    out, state = tx.update(zeros, tx.init(zeros))
    return np.asarray(out), state


def test_alpha_two_noise_is_gaussian_with_variance_2_sigma2_eta():
    sigma, eta, n = 0.3, 0.01, 400_000
    x, _ = _noise_only(2.0, sigma, eta, (n,))
    var = 2 * sigma**2 * eta                                # N ~ N(0, 2): unit-scale stable
    se = var * np.sqrt(2 / (n - 1))                          # s.e. of a Gaussian sample variance
    assert abs(x.var() - var) < 5 * se
    assert abs(x.mean()) < 5 * np.sqrt(var / n)
    kurt = np.mean((x - x.mean()) ** 4) / x.var() ** 2
    assert abs(kurt - 3) < 5 * np.sqrt(24 / n)              # Gaussian kurtosis


@pytest.mark.parametrize("noise_type", ["iid", "scalar", "rotation"])
def test_stable_noise_characteristic_function(noise_type):
    """``noise / (sigma eta^(1/alpha))`` is unit-scale alpha-stable in every coordinate."""
    alpha, sigma, eta = 1.5, 0.2, 0.05
    x, _ = _noise_only(alpha, sigma, eta, (50_000, 4), noise_type)
    z = x / (sigma * eta ** (1 / alpha))
    if noise_type == "scalar":
        assert np.all(z == z[:, :1])                        # one scalar per unit
    if noise_type == "rotation":                            # dependent coordinates
        assert np.corrcoef(np.abs(z[:, 0]), np.abs(z[:, 1]))[0, 1] > 0.1
    c = z[:, 0]
    for t in (0.5, 1.0):
        phi, phi2 = np.exp(-t**alpha), np.exp(-(2 * t) ** alpha)
        se = np.sqrt(((1 + phi2) / 2 - phi**2) / c.size)
        assert abs(np.mean(np.cos(t * c)) - phi) < 5 * se


def test_noise_state_key_advances_and_sigma_zero_adds_nothing():
    tx = stable_noise(jax.random.key(1), eta=0.1, alpha=1.2, sigma=0.5)
    u = jnp.ones(1000)
    s0 = tx.init(u)
    a, s1 = tx.update(u, s0)
    b, _ = tx.update(u, s1)
    assert not np.array_equal(np.asarray(a), np.asarray(b))  # fresh noise every update
    np.testing.assert_array_equal(np.asarray(tx.update(u, s0)[0]), np.asarray(a))  # pure
    off = stable_noise(jax.random.key(1), eta=0.1, alpha=1.2, sigma=0.0)
    np.testing.assert_array_equal(np.asarray(off.update(u, off.init(u))[0]), np.asarray(u))


def test_noise_composes_with_masked_hidden_only():
    params = {"hidden": jnp.zeros((20, 3)), "output": jnp.zeros(20)}
    grads = {"hidden": jnp.ones((20, 3)), "output": jnp.ones(20)}
    noise = stable_noise(jax.random.key(2), eta=0.1, alpha=1.75, sigma=1.0, noise_type="rotation")
    tx = optax.chain(optax.sgd(0.1), optax.masked(noise, {"hidden": True, "output": False}))
    up, _ = tx.update(grads, tx.init(params), params)
    np.testing.assert_array_equal(np.asarray(up["output"]), -0.1 * np.ones(20))  # plain SGD
    assert np.all(np.asarray(up["hidden"]) != -0.1)


def test_stable_noise_sample_shapes():
    k = jax.random.key(0)
    assert stable_noise_sample(k, 1.5, (7, 3), "rotation").shape == (7, 3)
    assert stable_noise_sample(k, 1.5, (7,), "scalar").shape == (7,)
    assert stable_noise_sample(k, 1.5, (), "iid", jnp.float64).dtype == jnp.float64


# ----------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("kwargs,match", [
    (dict(eta=0.1, alpha=2.5, sigma=0.1), "^alpha: got 2.5"),
    (dict(eta=0.1, alpha=0.0, sigma=0.1), "^alpha: got 0.0"),
    (dict(eta=0.1, alpha=1.5, sigma=-1.0), r"^sigma: got .*-1\.0.*; allowed: finite values >= 0"),
    (dict(eta=0.0, alpha=1.5, sigma=0.1), r"^eta: got .*0\.0.*; allowed: finite values > 0"),
    (dict(eta=0.1, alpha=1.5, sigma=0.1, noise_type="levy"), "^noise_type: unknown value 'levy'"),
])
def test_stable_noise_bad_inputs(kwargs, match):
    with pytest.raises(InputError, match=match):
        stable_noise(jax.random.key(0), **kwargs)


def test_integer_seed_is_refused():
    with pytest.raises(InputError, match=r"^key: got int 3; allowed: a PRNG key"):
        stable_noise(3, eta=0.1, alpha=1.5, sigma=0.1)


@pytest.mark.parametrize("dtype,match", [("float32", "^dtype: got the string 'float32'"),
                                         (jnp.float16, "^dtype: got float16"),
                                         (jnp.int32, "^dtype: got int32")])
def test_train_dtype_is_a_jax_float(dtype, match):
    with pytest.raises(InputError, match=match):
        check_train_dtype(dtype, "test")
    assert check_train_dtype(jnp.float32, "test") == jnp.float32
