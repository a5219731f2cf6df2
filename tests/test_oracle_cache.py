"""The on-disk oracle cache: a hit is the very reference the oracle computes; anything else is a miss."""

import dataclasses
import os
import threading

import mpmath
import numpy as np
import pytest
from losscheck.conformance import oracle, oracle_cache
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.oracle import Reference, exact_reference
from losscheck.conformance.oracle_cache import OracleCache, reference_key
from losscheck.derivations import disk_cache
from losscheck.spec import get_spec

SPEC = get_spec("cross_entropy")
CASE = next(c for c in generate_cases(SPEC) if c.regime == "large")
TENSORS = CASE.tensors("float32")
UPSTREAM = CASE.upstream("float32")
DIGITS = (oracle.WORKING_DIGITS, oracle.CHECK_DIGITS)


def _exact(x) -> tuple:
    return ("mpf", x._mpf_) if isinstance(x, mpmath.mpf) else x


def _flat(reference: Reference) -> list:
    """Every number and flag of a Reference, as exact tuples."""
    out = [reference.shape, reference.unstable, _exact(reference.unit_total), reference.math_grads is None]
    bounds = [*reference.value_bounds, *(b for n in sorted(reference.grad_bounds) for b in reference.grad_bounds[n])]
    out += [_exact(v) for v in reference.value]
    out += [_exact(v) for n in sorted(reference.grads) for v in reference.grads[n]]
    out += [(_exact(b.magnitude), _exact(b.underflow), _exact(b.peak), _exact(b.slack), b.at_kink,
             _exact(b.summands), b.count, b.undefined) for b in bounds]
    return out


@pytest.fixture
def store(tmp_path):
    return OracleCache(tmp_path / "cache")


def _forbid_computing(monkeypatch):
    def computed(*args, **kwargs):
        raise AssertionError("computed although the cache holds it")
    monkeypatch.setattr(oracle, "_exact_reference", computed)


def test_a_hit_is_bit_identical_to_the_computed_reference(store, monkeypatch):
    fresh = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=False)
    first = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=store)
    _forbid_computing(monkeypatch)
    again = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=store)
    assert _flat(again) == _flat(first) == _flat(fresh)


def test_special_values_and_math_grads_survive_the_round_trip():
    nan, inf = mpmath.mpf("nan"), mpmath.mpf("-inf")
    bound = oracle.Bound(mpmath.mpf(3), 0, inf, mpmath.inf, True, mpmath.mpf("1e-400"), 7, True)  # int 0 too
    reference = Reference((2,), [nan, inf], [bound, bound], {"x": [mpmath.mpf(1) / 3]}, {"x": [bound]},
                          mpmath.mpf(-0.0), ["value[0]: moved"], {"x": [mpmath.mpf(2) ** -1100]})
    decoded = Reference.decode(reference.encode())
    assert _flat(decoded) == _flat(reference)
    assert decoded.math_grads["x"][0] == mpmath.mpf(2) ** -1100


def test_the_key_moves_with_every_input_of_the_reference():
    base = reference_key(SPEC, TENSORS, CASE.options, UPSTREAM, DIGITS, True)
    nudged = {**TENSORS, "input": np.nextafter(TENSORS["input"], np.inf)}
    assert len({base,
                reference_key(SPEC, nudged, CASE.options, UPSTREAM, DIGITS, True),
                reference_key(SPEC, TENSORS, {**CASE.options, "reduction": "sum"}, UPSTREAM, DIGITS, True),
                reference_key(SPEC, TENSORS, CASE.options, UPSTREAM * 2, DIGITS, True),
                reference_key(SPEC, TENSORS, CASE.options, UPSTREAM, (30, 70), True),
                reference_key(SPEC, TENSORS, CASE.options, UPSTREAM, DIGITS, False),
                reference_key(get_spec("nll_loss"), TENSORS, CASE.options, UPSTREAM, DIGITS, True)}) == 7
    assert base == reference_key(SPEC, {k: v.copy() for k, v in TENSORS.items()}, dict(CASE.options),
                                 UPSTREAM.copy(), DIGITS, True)


def test_a_user_function_option_is_never_cached():
    spec = get_spec("triplet_margin_with_distance_loss")
    case = generate_cases(spec)[0]
    tensors = case.tensors("float64")
    assert reference_key(spec, tensors, {**case.options, "distance_function": None}, np.array(1.0), DIGITS, True)
    assert reference_key(spec, tensors, {**case.options, "distance_function": "m:f"}, np.array(1.0), DIGITS,
                         True) is None


def test_a_spec_built_at_run_time_is_never_cached(store, monkeypatch):
    """Same name, other math (a test-local spec, dataclasses.replace): neither its references nor its
    generated evaluators come from the store."""
    altered = dataclasses.replace(SPEC, formula="altered")
    assert reference_key(altered, TENSORS, CASE.options, UPSTREAM, DIGITS, True) is None
    prepared = oracle.prepare(altered, TENSORS, CASE.options)
    assert prepared.derivation.registered is False
    assert oracle.prepare(SPEC, TENSORS, CASE.options).derivation.registered is True


@pytest.mark.parametrize("damage", ["flip a payload byte", "truncate", "another key's entry", "garbage"])
def test_a_damaged_entry_is_recomputed_and_rewritten(store, damage):
    key = reference_key(SPEC, TENSORS, CASE.options, UPSTREAM, DIGITS, True)
    good = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=store)
    path = store.directory / key[:2] / key
    data = path.read_bytes()
    if damage == "flip a payload byte":
        data = data[:-10] + bytes([data[-10] ^ 0x40]) + data[-9:]
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "another key's entry":
        store.save("0" * 64, b"{}")
        data = (store.directory / "00" / ("0" * 64)).read_bytes()
    else:
        data = b"\x00" * 100
    path.write_bytes(data)
    assert store.load(key) is None
    recomputed = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=store)
    assert _flat(recomputed) == _flat(good)
    assert store.load(key) is not None  # rewritten


def test_a_checksummed_entry_that_does_not_decode_is_recomputed(store):
    key = reference_key(SPEC, TENSORS, CASE.options, UPSTREAM, DIGITS, True)
    store.save(key, b'{"not": "a reference"}')
    reference = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=store)
    assert _flat(reference) == _flat(exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=False))


def test_concurrent_writers_and_readers_never_see_half_an_entry(store):
    payloads = [bytes([i]) * 200_000 for i in range(4)]
    seen, errors = [], []

    def write(payload):
        for _ in range(20):
            store.save("ab" * 32, payload)

    def read():
        for _ in range(200):
            got = store.load("ab" * 32)
            if got is not None:
                seen.append(got)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen and all(p in payloads for p in seen), errors
    assert not [f for f in os.listdir(store.directory / "ab") if f.endswith(".tmp")]


def test_an_unwritable_directory_costs_speed_not_the_reference(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    reference = exact_reference(SPEC, TENSORS, CASE.options, UPSTREAM, cache=OracleCache(blocker / "cache"))
    assert reference.value and not reference.unstable


def test_the_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(disk_cache, "_configured", disk_cache._UNSET)
    monkeypatch.delenv(disk_cache.ENV_DIRECTORY, raising=False)
    monkeypatch.delenv(disk_cache.ENV_DISABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert oracle_cache.active().directory == tmp_path / "xdg" / "losscheck" / "references"
    monkeypatch.setenv(disk_cache.ENV_DIRECTORY, str(tmp_path / "mine"))
    assert oracle_cache.active().directory == tmp_path / "mine" / "references"
    monkeypatch.setenv(disk_cache.ENV_DISABLE, "1")
    assert oracle_cache.active() is None
    oracle_cache.configure(tmp_path / "flag")
    assert oracle_cache.active().directory == tmp_path / "flag" / "references"
    oracle_cache.configure(None)
    assert oracle_cache.active() is None


def test_a_second_run_with_the_same_seed_computes_no_reference(run_cli, monkeypatch, tmp_path):
    """N runs (or N wrong kernels) on one seed share one oracle computation, and keep their verdict."""
    oracle_cache.configure(tmp_path / "shared")
    first = run_cli("run", "--loss", "mse_loss", "--dtype", "float32")
    _forbid_computing(monkeypatch)
    second = run_cli("run", "--loss", "mse_loss", "--dtype", "float32")
    wrong = run_cli("run", "--loss", "mse_loss", "--dtype", "float32",
                    "--impl", "mse_loss=wrong_impls:mse_half_gradient")
    assert (first[0], second[0], wrong[0]) == (0, 0, 1), (first[1], second[1], wrong[1])
