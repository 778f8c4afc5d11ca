"""CSL-UCB and its parts: the KSG estimator on Gaussian pairs, DAG repair, sub-graph learning, the
change statistic, the tailored width, the bandit loop, its baselines and its Optimizer form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.bandits.causal import (
    CSLUCB,
    CSLUCBConfig,
    CSLUCBOptimizer,
    FullGraphETC,
    LinSEMTS,
    VanillaUCB,
    action_bits,
    change_statistic,
    equal_variance_dag,
    is_dag,
    ksg_mutual_information,
    learn_subgraph,
    repair_to_dag,
    sem_means,
    ucb_widths,
    width_terms,
)
from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.core.space import Choice, Integer, Space
from guardopt.core.study import Study
from guardopt.core.trial import Observation
from guardopt.problems.linear_sem import LinearSEMBandit
from guardopt.testing import check_optimizer

# ----------------------------------------------------------------------------- KSG mutual information


def _gaussian_pair(rho: float, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    z = np.random.default_rng(seed).standard_normal((m, 2))
    return z[:, 0], rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]


@pytest.mark.parametrize("rho", [0.0, 0.6, 0.9])
def test_ksg_matches_the_gaussian_mutual_information(rho: float) -> None:
    # I(X; Y) = -1/2 log(1 - rho^2) for a bivariate normal: 0, 0.2231, 0.8304 nats
    exact = -0.5 * math.log(1 - rho**2)
    estimates = [ksg_mutual_information(*_gaussian_pair(rho, 1500, s), k=5) for s in range(3)]
    assert np.mean(estimates) == pytest.approx(exact, abs=0.03)


def test_ksg_is_invariant_to_monotone_rescaling_and_symmetric() -> None:
    x, y = _gaussian_pair(0.6, 400, 7)
    base = ksg_mutual_information(x, y)
    assert ksg_mutual_information(1e6 * x, y) == pytest.approx(base, abs=1e-9)
    assert ksg_mutual_information(y, x) == pytest.approx(base, abs=1e-9)


def test_ksg_rejects_bad_input() -> None:
    with pytest.raises(InputDataError, match="'x'"):
        ksg_mutual_information([1.0, math.nan, 2.0, 3.0, 4.0, 5.0, 6.0], np.arange(7.0))
    with pytest.raises(InputDataError, match="more than k"):
        ksg_mutual_information(np.arange(5.0), np.arange(5.0), k=5)
    with pytest.raises(InputDataError):
        ksg_mutual_information(np.arange(8.0), np.arange(7.0))


# ----------------------------------------------------------------------------- DAG repair


def test_repair_deletes_the_highest_score_of_a_cycle_and_nothing_else() -> None:
    # 0 -> 1 -> 2 -> 0 plus the acyclic 0 -> 2; scores: edge (2 -> 0) is the most doubtful
    adj = np.array([[0, 1, 1], [0, 0, 1], [1, 0, 0]])
    table = {(0, 1): 0.1, (1, 2): 0.2, (2, 0): 5.0, (0, 2): 0.3}

    def rescore(node: int, parents: np.ndarray) -> np.ndarray:
        return np.array([table[(int(p), node)] for p in parents])

    out, deleted = repair_to_dag(adj, rescore)
    assert deleted == 1
    np.testing.assert_array_equal(out, [[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert is_dag(out) and not is_dag(adj)


def test_repair_rescores_the_refitted_node() -> None:
    # A 2-cycle 0 <-> 1 and a 2-cycle 1 <-> 2. Deleting 2 -> 1 refits node 1: its other parent's
    # score then drops, so the next deletion is 1 -> 0, not 0 -> 1.
    adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    calls: list[tuple[int, tuple[int, ...]]] = []

    def rescore(node: int, parents: np.ndarray) -> np.ndarray:
        calls.append((node, tuple(int(p) for p in parents)))
        base = {(0, 1): 3.0, (2, 1): 9.0, (1, 0): 2.0, (1, 2): 1.0}
        if node == 1 and tuple(parents) == (0,):
            return np.array([0.5])  # after the refit, 0 -> 1 looks solid
        return np.array([base[(int(p), node)] for p in parents])

    out, deleted = repair_to_dag(adj, rescore)
    assert deleted == 2
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])  # 2 -> 1 first, then 1 -> 0
    assert (1, (0,)) in calls


def test_an_acyclic_start_is_kept_whole() -> None:
    adj = np.triu(np.ones((4, 4), dtype=int), 1)
    out, deleted = repair_to_dag(adj, lambda node, parents: np.zeros(parents.size))
    assert deleted == 0
    np.testing.assert_array_equal(out, adj)


def _chain_data(m: int, seed: int) -> tuple[LinearSEMBandit, np.ndarray, np.ndarray]:
    # 0 -> 1 -> 2 with different weights under intervention; random actions
    B = np.array([[0, 1.5, 0], [0, 0, -1.2], [0, 0, 0]], dtype=float)
    BI = np.array([[0, -0.8, 0], [0, 0, 1.7], [0, 0, 0]], dtype=float)
    env = LinearSEMBandit(B, BI, np.ones(3))
    rng = np.random.default_rng(seed)
    acts = rng.integers(8, size=m)
    X = np.array([env.sample(int(a), rng) for a in acts])
    return env, X, action_bits(3)[acts]


def test_learn_subgraph_keeps_every_true_edge_and_estimates_the_weights() -> None:
    env, X, A = _chain_data(400, 0)
    for r in (0, 1):
        g = learn_subgraph(X, A, r, np.ones(3), n_max=150)
        assert is_dag(g.adjacency)
        assert np.all(g.adjacency[env.parents(r) == 1] == 1)  # no false negative
        truth = env.BI if r else env.B
        np.testing.assert_allclose(g.weights[truth != 0], truth[truth != 0], atol=0.2)
        assert np.all(g.n_samples == 150)


def test_equal_variance_dag_recovers_a_chain_from_pure_regime_samples() -> None:
    env = LinearSEMBandit.random(5, seed=3)
    X = env.sample(0, seed=4, size=3000)
    g = equal_variance_dag(X, np.ones(5))
    np.testing.assert_array_equal(g.adjacency, env.parents(0))
    np.testing.assert_allclose(g.weights, env.B, atol=0.1)


# ----------------------------------------------------------------------------- change statistic


def test_change_statistic_hand_values() -> None:
    # [0, 2]: mean 1, sd 1 -> log(1/1) + (0 + 4)/2/2 - 1/2 = 0.5
    assert change_statistic([0.0, 2.0]) == pytest.approx(0.5, abs=1e-12)
    # [1, -1]: sd 1, mean(e^2) = 1 -> 0 + 1/2 - 1/2 = 0 (exactly the model)
    assert change_statistic([1.0, -1.0]) == pytest.approx(0.0, abs=1e-12)
    # sigma = 2, [0, 2]: log(2/1) + 2/(2*4) - 1/2 = 0.443147
    assert change_statistic([0.0, 2.0], noise_std=2.0) == pytest.approx(math.log(2) - 0.25, abs=1e-12)
    # a constant window is no Gaussian of positive variance
    assert change_statistic([3.0, 3.0, 3.0]) == math.inf
    # huge residuals neither overflow nor lose the value: [0, 2e200] = 1e200 * [0, 2]
    big = change_statistic([0.0, 2e200])
    assert big == math.inf or big > 1e300


def test_change_statistic_separates_shifted_noise() -> None:
    rng = np.random.default_rng(0)
    null = [change_statistic(rng.standard_normal(20)) for _ in range(300)]
    shifted = [change_statistic(2.5 + rng.standard_normal(20)) for _ in range(300)]
    assert np.mean(np.array(null) > 2.0) < 0.01  # the paper's threshold rarely fires under the model
    assert np.mean(np.array(shifted) > 2.0) > 0.95


def test_change_statistic_rejects_bad_input() -> None:
    with pytest.raises(InputDataError, match="residuals"):
        change_statistic([1.0])
    with pytest.raises(InputDataError, match="residuals"):
        change_statistic([1.0, math.inf])
    with pytest.raises(InvalidParameterError, match="noise_std"):
        change_statistic([1.0, 2.0], noise_std=0.0)


# ----------------------------------------------------------------------------- the width


def test_ucb_width_hand_computed_for_two_nodes() -> None:
    # N = 2, one edge 0 -> 1 with weight b = 0.5 in both regimes; nu = 1.
    # C = (I - B)^{-1} = [[1, b], [0, 1]]; ||C[:, 1]|| = sqrt(1 + b^2); mu = C^T nu = [1, 1 + b].
    # Width terms: only node 1 has a parent (p = 1): sqrt(3) * sigma^2 / lambda_min(G), G = 4 -> sqrt(3)/4.
    b = 0.5
    B = np.array([[0.0, b], [0.0, 0.0]])
    terms = np.array([[0.0, math.sqrt(3) / 4], [0.0, math.sqrt(3) / 4]])
    u = ucb_widths(action_bits(2), terms, B, B, np.ones(2), delta=0.05)
    expected = math.sqrt(1 + b**2) * math.sqrt(4 * math.sqrt(3) / 4 * math.log(2 * 2 / 0.05)) \
        * math.hypot(1.0, 1.0 + b)
    np.testing.assert_allclose(u, expected, rtol=1e-12)
    # the width terms from data: X_pa = [1, 1, 1, 1] -> G = 4
    X = np.array([[1.0, 0.0]] * 4)
    A = np.zeros((4, 2), dtype=np.int8)
    from guardopt.bandits.causal.structure import Subgraph

    g = Subgraph(np.array([[0, 1], [0, 0]]), B, np.array([4, 4]), 0)
    t = width_terms(X, A, (g, g), np.zeros((2, 2), dtype=int), 100, 1.0)
    assert t[0, 1] == pytest.approx(math.sqrt(3) / 4) and t[0, 0] == 0.0
    assert t[1, 1] == math.inf  # no interventional sample yet: nothing is known


def test_sem_means_match_the_problem() -> None:
    env = LinearSEMBandit.random(4, seed=5)
    mu = sem_means(action_bits(4), env.B, env.BI, np.ones(4))
    np.testing.assert_allclose(mu, env.expected_nodes(), rtol=1e-12)


# ----------------------------------------------------------------------------- the bandit


def test_config_validation_messages() -> None:
    with pytest.raises(InvalidParameterError, match="The 'delta' parameter of CSLUCBConfig must be"):
        CSLUCBConfig(delta=1.5)
    with pytest.raises(InvalidParameterError, match="'n_max'"):
        CSLUCBConfig(n_warmup=30, n_max=20)
    with pytest.raises(InvalidParameterError, match="'k_neighbors'"):
        CSLUCBConfig(n_warmup=5, k_neighbors=5)
    with pytest.raises(InvalidParameterError, match="'detect_changes'"):
        CSLUCBConfig(detect_changes=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'n_nodes'"):
        CSLUCB(1)
    CSLUCBConfig(change_threshold=math.inf, coef_scale=0.0)  # the negative controls are valid settings


def _run(bandit: CSLUCB, env: LinearSEMBandit, rounds: int, seed: int, after: LinearSEMBandit | None = None,
         switch: int | None = None) -> list[int]:
    rng = np.random.default_rng(seed)
    played = []
    for t in range(rounds):
        e = after if (after is not None and switch is not None and t >= switch) else env
        a = bandit.ask()
        bandit.tell(a, e.sample(a, rng))
        played.append(a)
    return played


def test_csl_ucb_finds_the_optimal_action_of_a_small_system() -> None:
    env = LinearSEMBandit.random(4, seed=11)
    bandit = CSLUCB(4, CSLUCBConfig(horizon=400, seed=0))
    played = _run(bandit, env, 400, 1)
    assert all(env.is_optimal(a) for a in played[-100:])
    assert bandit.graphs is not None and all(is_dag(g.adjacency) for g in bandit.graphs)
    assert bandit.coefficient < 0.05 * bandit.config.coef_scale * np.nanmax(np.abs(bandit.estimated_rewards)) \
        / np.nanmax(bandit.widths)  # the cosine schedule has nearly closed by the horizon


def test_same_seed_same_actions_and_warmup_is_random() -> None:
    env = LinearSEMBandit.random(3, seed=2)
    a = _run(CSLUCB(3, CSLUCBConfig(horizon=150, seed=4)), env, 150, 0)
    b = _run(CSLUCB(3, CSLUCBConfig(horizon=150, seed=4)), env, 150, 0)
    c = _run(CSLUCB(3, CSLUCBConfig(horizon=150, seed=5)), env, 150, 0)
    assert a == b and a != c


def test_the_detector_fires_after_a_change_and_resets_only_that_window() -> None:
    env = LinearSEMBandit.random(4, seed=11)
    after = env.with_change(1, seed=3)
    cfg = CSLUCBConfig(horizon=800, seed=0, detect_changes=True)
    bandit = CSLUCB(4, cfg)
    played = _run(bandit, env, 800, 1, after=after, switch=400)
    assert bandit.changes and all(t >= 400 for t, _, _ in bandit.changes)  # no false alarm before the change
    assert bandit.changes[0][0] < 450
    assert all(after.is_optimal(a) for a in played[-100:])
    silent = CSLUCB(4, CSLUCBConfig(horizon=800, seed=0, detect_changes=True, change_threshold=math.inf))
    _run(silent, env, 800, 1, after=after, switch=400)
    assert silent.changes == []


def test_tell_rejects_bad_rounds() -> None:
    bandit = CSLUCB(3, CSLUCBConfig(seed=0))
    with pytest.raises(InputDataError, match="'action'"):
        bandit.tell(8, [1.0, 2.0, 3.0])
    with pytest.raises(InputDataError, match="'nodes'"):
        bandit.tell(0, [1.0, math.nan, 3.0])
    with pytest.raises(InputDataError, match="'nodes'"):
        bandit.tell(0, [1.0, 2.0])
    assert bandit.n_rounds == 0


# ----------------------------------------------------------------------------- baselines


def test_vanilla_ucb_plays_each_arm_once_then_the_bound() -> None:
    ucb = VanillaUCB(3, coef=1.0)
    first = []
    for r in (0.0, 1.0, 0.5):
        a = ucb.ask()
        first.append(a)
        ucb.tell(a, r)
    assert first == [0, 1, 2]
    # t = 3, n = 1 each: bonus sqrt(log 3) is shared, so the best mean wins
    assert ucb.ask() == 1
    win = VanillaUCB(2, coef=0.0, window=2)
    for a, r in ((0, 5.0), (1, 1.0), (0, 0.0), (0, 0.0)):
        win.tell(a, r)
    assert win.ask() == 1  # arm 0's window forgot its 5.0
    with pytest.raises(InputDataError, match="'reward'"):
        ucb.tell(0, math.nan)


def test_linsem_ts_with_true_parents_learns_fast() -> None:
    env = LinearSEMBandit.random(4, seed=11)
    ts = LinSEMTS(np.stack([env.parents(0), env.parents(1)]), rng=0)
    rng = np.random.default_rng(2)
    played = []
    for _ in range(300):
        a = ts.ask()
        ts.tell(a, env.sample(a, rng))
        played.append(a)
    assert np.mean([env.is_optimal(a) for a in played[-100:]]) > 0.9


def test_fullgraph_etc_explores_pure_actions_then_commits() -> None:
    env = LinearSEMBandit.random(4, seed=11)
    etc = FullGraphETC(4, n_learn=200)
    rng = np.random.default_rng(2)
    played = []
    for _ in range(450):
        a = etc.ask()
        etc.tell(a, env.sample(a, rng))
        played.append(a)
    assert set(played[:200]) == {0} and set(played[200:400]) == {15}
    assert etc.committed is not None and set(played[400:]) == {etc.committed}


# ----------------------------------------------------------------------------- Optimizer form


def _binary_space(n: int) -> Space:
    return Space({f"a{i}": Choice([0, 1]) if i % 2 else Integer(0, 1) for i in range(n)})


@pytest.mark.slow
def test_optimizer_conformance_without_node_values() -> None:
    check_optimizer(lambda seed: CSLUCBOptimizer(CSLUCBConfig(seed=seed)), space=_binary_space(3),
                    objective=lambda p: float(sum(p.values())), n_trials=10)


def test_optimizer_conformance_with_node_values() -> None:
    env = LinearSEMBandit.random(3, seed=1)

    def objective(p: dict) -> Observation:  # type: ignore[type-arg]
        a = sum(int(p[f"a{i}"]) << i for i in range(3))
        # deterministic per action (the kit replays runs), yet varied across actions
        x = env.sample(a, seed=a)
        return Observation(value=float(x[-1]), user_attrs={"nodes": [float(v) for v in x]})

    check_optimizer(lambda seed: CSLUCBOptimizer(CSLUCBConfig(seed=seed, n_warmup=6, n_max=10, k_neighbors=3)),
                    space=_binary_space(3), objective=objective, n_trials=50, constraints=False)


def test_optimizer_learns_in_a_study() -> None:
    env = LinearSEMBandit.random(3, seed=2)
    rng = np.random.default_rng(0)
    study = Study(_binary_space(3), direction="maximize",
                  optimizer=CSLUCBOptimizer(CSLUCBConfig(horizon=200, seed=0)))
    for _ in range(200):
        t = study.ask()
        a = sum(int(t.params[f"a{i}"]) << i for i in range(3))
        x = env.sample(a, rng)
        study.tell(t, Observation(value=float(x[-1]), user_attrs={"nodes": x.tolist()}))
    opt = study.optimizer
    assert isinstance(opt, CSLUCBOptimizer) and opt.learner.n_rounds == 200
    assert env.is_optimal(opt.learner.ask())
    with pytest.raises(InvalidParameterError, match="space"):
        Study(Space({"x": Choice([0, 1, 2]), "y": Choice([0, 1])}), optimizer=CSLUCBOptimizer()).ask()


def test_importing_the_bandits_needs_no_networkx_or_causal_learn() -> None:
    import subprocess
    import sys

    code = ("import sys\nimport guardopt.bandits, guardopt.bandits.causal\n"
            "bad = [m for m in ('networkx', 'causallearn', 'torch', 'sklearn') if m in sys.modules]\n"
            "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
