"""`GPOptimizer`: Bayesian optimization with a lean numpy GP, as an `Optimizer` any `Study` runs.

The loop follows Frazier (2018), "A Tutorial on Bayesian Optimization" (arXiv 1807.02811), §3:
a scrambled Sobol initial design, then at every ask a GP refit (MAP hyperparameters, warm-started
from the previous fit) and the maximizer of an acquisition function. The acquisition is maximized by
scoring a few thousand Sobol and local candidates and polishing the best few with L-BFGS-B.

* Batches (``ask(n)`` or ``batch_size > 1``): sequential greedy selection with *fantasies* (the
  "Kriging believer": each chosen or pending point is added to the GP with its posterior mean as
  its value, which collapses the variance there so the next point goes elsewhere).
* Outcome constraints: one GP per constraint residual; EI × P(feasible) (computed in log space).
* Multi-fidelity: a `Real` fidelity parameter with a known cost; cost-aware knowledge gradient.
* Conditional spaces (``when=``): the GP sees inactive parameters through the arc embedding of
  `guardopt.bo.conditional` (inactive is no value of the parameter), and candidates are projected
  so that inactive columns hold the space's fill (points differing only there are the same point).
* `recommend(guard)`: the evaluated point to report, feasible under a confidence bound of every
  constraint GP (``"pessimistic"``: upper bound ``<= 0``) or None when there is none yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import norm

from guardopt.bo import acquisition as acq
from guardopt.bo import fidelity_gp
from guardopt.bo.conditional import ArcEmbedding, ConditionalGP
from guardopt.bo.gp import GaussianProcess, GPPrior, Standardizer, fit_hyperparameters
from guardopt.bo.loop import GPLoop
from guardopt.bo.subset import fit_subset_indices
from guardopt.core.errors import (
    InvalidParameterError,
    UnsupportedError,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Params, Real
from guardopt.core.trial import Trial, TrialState

ACQUISITIONS = ("ei", "logei", "ucb", "nei", "kg", "mes")
_OWNER = "GPOptimizer"


@dataclass(frozen=True)
class GPConfig:
    """Settings of `GPOptimizer`.

    Attributes:
        acquisition: ``"ei"`` (= ``"logei"``: expected improvement, maximized as log EI), ``"ucb"``,
            ``"nei"`` (the tutorial's noisy EI: KG over the evaluated points), ``"kg"`` (knowledge
            gradient over evaluated points plus a Sobol discretization), ``"mes"`` (max-value
            entropy search). See `guardopt.bo.acquisition` for formulas and references.
        batch_size: Points chosen jointly per model update. With ``batch_size = q > 1`` an
            ``ask(1)`` computes ``q`` points at once and hands out the rest on the next asks
            (a "round"); ``ask(n)`` always returns ``n`` distinct points.
        n_initial: Size of the Sobol initial design (None: ``clip(2 * dim, 5, 10)``).
        n_candidates: Sobol candidates scored per acquisition maximization.
        n_local: Local candidates around each of the 5 best evaluated points.
        n_restarts: Best candidates polished with L-BFGS-B.
        n_roulette: Further candidates polished, drawn with probability proportional to
            ``exp(acquisition)`` (diverse starts, for a multimodal acquisition).
        ucb_beta: UCB's ``beta`` (None: ``0.2 d log(2n)``).
        kg_points: Size of KG's discretization of the domain (besides the evaluated points).
        mes_samples: Samples of the minimum value for MES.
        guard_delta: Miscoverage of the one-sided normal bound used by `GPOptimizer.recommend`
            (``z = Phi^-1(1 - guard_delta)``).
        recommendation: How the reported point is chosen among evaluated feasible ones:
            ``"observed"`` (lowest observed loss), ``"posterior_mean"`` (lowest GP mean; the
            tutorial's choice under noise) or ``"auto"`` (posterior mean for ``nei``/``kg``/``mes``).
        noise_free: Fix the GP's noise variance at ``1e-8`` of the output variance instead of fitting it.
        lengthscale_prior: ``"lognormal"`` (``log l ~ N(0, 1)``) or ``"dim-scaled"`` (Hvarfner, Hellsten
            & Nardi 2024: ``log l ~ N(sqrt2 + log(d) / 2, 3)``, BoTorch's default). See `GPPrior`.
        output_transform: ``"standardize"`` (zero mean, unit variance; the default) or
            ``"yeo-johnson"``: standardize, then a Yeo-Johnson power transform with its exponent fitted
            by maximum likelihood (scipy), then standardize again, as HEBO does (Cowen-Rivers et al.,
            2022, "HEBO: Pushing the Limits of Sample-Efficient Hyperparameter Optimisation"). It
            compresses a long tail of bad values (collapsed models in hyperparameter searches) that
            otherwise dominates the GP's fit; the transform is monotone, so the argmin is unchanged.
        fidelity: Name of a `Real` fidelity parameter (multi-fidelity mode; needs ``acquisition="kg"``).
        fidelity_cost: ``value -> cost`` of one evaluation at that fidelity (positive).
        target_fidelity: The fidelity whose optimum is wanted (None: the parameter's upper bound).
        fit_subset: Past this many evaluated points, the GP's hyperparameters are fitted on a subset
            of this size (a seeded uniform sample) and the posterior is then
            conditioned on all points (see `guardopt.bo.subset`); None fits on every point (exact,
            ``O(n^3)`` per likelihood evaluation). Below the threshold both are the same.
    """

    acquisition: str = "ei"
    batch_size: int = 1
    n_initial: int | None = None
    n_candidates: int = 2048
    n_local: int = 64
    n_restarts: int = 5
    n_roulette: int = 0
    ucb_beta: float | None = None
    kg_points: int = 128
    mes_samples: int = 16
    guard_delta: float = 0.05
    recommendation: str = "auto"
    noise_free: bool = False
    lengthscale_prior: str = "lognormal"
    output_transform: str = "standardize"
    fidelity: str | None = None
    fidelity_cost: Callable[[float], float] | None = None
    target_fidelity: float | None = None
    fit_subset: int | None = 256

    def __post_init__(self) -> None:
        check_choice(self.acquisition, "acquisition", _OWNER, ACQUISITIONS)
        check_int(self.batch_size, "batch_size", _OWNER, low=1)
        if self.n_initial is not None:
            check_int(self.n_initial, "n_initial", _OWNER, low=1)
        check_int(self.n_candidates, "n_candidates", _OWNER, low=1)
        check_int(self.n_local, "n_local", _OWNER, low=0)
        check_int(self.n_restarts, "n_restarts", _OWNER, low=0)
        check_int(self.n_roulette, "n_roulette", _OWNER, low=0)
        if self.ucb_beta is not None:
            check_in_range(self.ucb_beta, "ucb_beta", _OWNER, 0.0)
        check_int(self.kg_points, "kg_points", _OWNER, low=1)
        check_int(self.mes_samples, "mes_samples", _OWNER, low=1)
        if self.fit_subset is not None:
            check_int(self.fit_subset, "fit_subset", _OWNER, low=8)
        check_in_range(self.guard_delta, "guard_delta", _OWNER, 0.0, 0.5)
        check_choice(self.recommendation, "recommendation", _OWNER, ("auto", "observed", "posterior_mean"))
        check_choice(self.lengthscale_prior, "lengthscale_prior", _OWNER, ("lognormal", "dim-scaled"))
        check_choice(self.output_transform, "output_transform", _OWNER, ("standardize", "yeo-johnson"))
        if self.fidelity is not None:
            if self.acquisition != "kg":
                raise InvalidParameterError("acquisition", _OWNER, "'kg' when a fidelity parameter is given",
                                            self.acquisition)
            if not callable(self.fidelity_cost):
                raise InvalidParameterError("fidelity_cost", _OWNER, "a callable value -> cost",
                                            self.fidelity_cost)

    @property
    def acquisition_name(self) -> str:
        return "ei" if self.acquisition == "logei" else self.acquisition


@dataclass
class _Model:
    """The fitted GPs of one ask, in standardized units."""

    gp: GaussianProcess
    scaler: Standardizer
    x: np.ndarray  # (n, d) evaluated points
    y: np.ndarray  # (n,) standardized losses
    cons: list[GaussianProcess]
    cons_thresholds: np.ndarray  # standardized "<= 0" thresholds per constraint
    feasible: np.ndarray  # (n,) measured feasibility (fail closed)


class GPOptimizer(GPLoop):
    """Bayesian optimization with a Matérn-5/2 ARD GP (MAP hyperparameters) and a choice of acquisitions.

    Args:
        acquisition: See `GPConfig.acquisition`.
        batch_size: See `GPConfig.batch_size`.
        seed: Non-negative integer seed; the same seed and the same tells give the same asks.
        config: A full `GPConfig` (then ``acquisition``/``batch_size``/``options`` must not be given).
        **options: Other `GPConfig` fields.

    Integer parameters are modelled on their continuous encoding and rounded before scoring;
    a `Choice` is one-hot encoded and its columns get their own ARD lengthscales (a Matérn kernel on
    a scaled Hamming-like distance). Failed trials are not modelled but their points are never
    proposed again.

    Example:
        >>> import guardopt as go
        >>> from guardopt.bo.optimizer import GPOptimizer
        >>> study = go.Study(go.Space({"x": go.Real(-2, 2)}), optimizer=GPOptimizer(seed=0))
        >>> study.optimize(lambda p: (p["x"] - 0.5) ** 2, n_trials=12)
        >>> abs(study.best().params["x"] - 0.5) < 0.05
        True
    """

    _owner = _OWNER

    def __init__(self, acquisition: str = "ei", batch_size: int = 1, seed: int | None = None,
                 config: GPConfig | None = None, **options: Any) -> None:
        if config is None:
            config = GPConfig(acquisition=acquisition, batch_size=batch_size, **options)
        elif options:
            raise InvalidParameterError("options", _OWNER, "empty when a config is given", sorted(options))
        self.config = config
        self._init_loop(seed)
        self._theta: np.ndarray | None = None
        self._theta_cons: list[np.ndarray | None] = []
        self._model: _Model | None = None
        self._model_key = -1

    # -- protocol -------------------------------------------------------------------------------

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        self._setup_design(problem)
        dim = problem.space.dim
        cfg = self.config
        self._prior = GPPrior.for_dim(dim, scaled=cfg.lengthscale_prior == "dim-scaled")
        self._theta_cons = [None] * len(problem.constraints)
        self._fid_col: int | None = None
        self._embed = ArcEmbedding(self._enc) if problem.space.is_conditional else None
        if self._embed is not None and cfg.fidelity is not None:
            raise UnsupportedError("GPOptimizer does not combine a fidelity parameter with a conditional space "
                                   "(parameters with 'when='); drop one of them.")
        if cfg.fidelity is not None:
            p = problem.space.params.get(cfg.fidelity)
            if not isinstance(p, Real) or p.log:
                raise InvalidParameterError("fidelity", _OWNER, "the name of a linear Real parameter of the space",
                                            cfg.fidelity)
            self._fid_col = problem.space.slice_of(cfg.fidelity).start
            target = p.high if cfg.target_fidelity is None else cfg.target_fidelity
            if not p.low <= target <= p.high:
                raise InvalidParameterError("target_fidelity", _OWNER, f"in [{p.low}, {p.high}]", target)
            self._fid_param = p
            self._target_u = (target - p.low) / (p.high - p.low)

    def _observed_loss(self, trial: Trial) -> float | None:
        loss = self.problem.loss(trial)
        return loss if trial.state is TrialState.COMPLETE and math.isfinite(loss) else None

    # -- recommendation -------------------------------------------------------------------------

    def recommend(self, guard: str = "pessimistic") -> Params | None:
        """The evaluated point to report, or None when no evaluated point qualifies yet.

        Args:
            guard: ``"pessimistic"``: only points whose every constraint GP has an upper confidence
                bound ``mu + z sigma <= 0`` (and whose constraints were all measured) qualify;
                ``"optimistic"``: a lower bound ``mu - z sigma <= 0``; ``"none"``: measured feasibility.
                ``z = Phi^-1(1 - guard_delta)``. Fail closed: a missing constraint value is a violation.

        Returns:
            The parameters of the chosen evaluated trial (lowest posterior mean or lowest observed
            loss, see `GPConfig.recommendation`), or None.
        """
        check_choice(guard, "guard", f"{_OWNER}.recommend", ("none", "pessimistic", "optimistic"))
        if not self._loss:
            return None
        x = np.array(self._x)
        ok = np.ones(len(x), dtype=bool)
        if self._fid_col is not None:
            ok &= np.abs(x[:, self._fid_col] - self._target_u) < 1e-9
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # as in ask
            model = self._fit() if len(self._loss) >= 2 else None
        resid = np.array(self._resid).reshape(len(x), -1)
        if resid.shape[1]:
            if guard == "none" or model is None:
                ok &= np.all(resid <= 0.0, axis=1)
            else:
                z = float(norm.ppf(1.0 - self.config.guard_delta))
                sign = 1.0 if guard == "pessimistic" else -1.0
                for gp, thr in zip(model.cons, model.cons_thresholds, strict=True):
                    mu, var = gp.predict(x)
                    ok &= mu + sign * z * np.sqrt(var) <= thr
                if guard == "pessimistic":
                    # Never less cautious than the measurements: the GP's bound works in standardized
                    # units, where a violation far smaller than the residuals' spread rounds away.
                    ok &= np.all(np.isfinite(resid), axis=1) & np.all(resid <= 0.0, axis=1)
        if not ok.any():
            return None
        use_mean = self.config.recommendation == "posterior_mean" or (
            self.config.recommendation == "auto" and self.config.acquisition_name in ("nei", "kg", "mes"))
        if use_mean and model is not None:
            score = model.gp.predict(x)[0]
        else:
            score = np.array(self._loss)
        idx = np.flatnonzero(ok)
        return dict(self._params[int(idx[np.argmin(score[idx])])])

    def recommend_target(self) -> Params:
        """Multi-fidelity: the point (evaluated or not) with the lowest posterior mean at the target fidelity."""
        model = self._fit()
        a = self._target_set(model, np.random.default_rng([self._base, 3, self._told]))
        mu = model.gp.predict(a)[0]
        assert self._fid_col is not None
        cols = np.array([c for c in self._enc.continuous if c != self._fid_col], dtype=int)
        best_u, best_mu = a[int(np.argmin(mu))], float(np.min(mu))
        # Polish the posterior mean continuously from the best few points of the discrete set.
        for start in a[np.argsort(mu)[:3]]:
            def fun(v: np.ndarray, start: np.ndarray = start) -> tuple[float, np.ndarray]:
                u = start.copy()
                u[cols] = v
                m, _, dm, _ = model.gp.predict_with_grad(u)
                return m, dm[cols]

            res = minimize(fun, start[cols], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * cols.size)
            u = start.copy()
            u[cols] = res.x
            u = self._enc.project(u[None, :])[0]
            val = float(model.gp.predict(u[None, :])[0][0])
            if val < best_mu:
                best_u, best_mu = u, val
        return self.problem.space.decode(best_u)

    # -- model ------------------------------------------------------------------------------------

    def _fit(self) -> _Model:
        if self._model is not None and self._model_key == self._told:
            return self._model
        x = np.array(self._x)
        loss = np.array(self._loss)
        scaler = Standardizer.fit(loss)
        y = scaler.transform(loss)
        if self.config.output_transform == "yeo-johnson":
            y = _yeo_johnson(y)
        fixed = 1e-8 if self.config.noise_free else None
        gp: GaussianProcess
        if self._fid_col is not None:
            # Multi-fidelity: target function plus a discrepancy that vanishes at the target fidelity.
            starts = [fidelity_gp.initial_theta(x.shape[1], self._prior)]
            if self._theta is not None:
                starts.insert(0, self._theta)
            sub = self._fit_subset(y)
            self._theta = fidelity_gp.fit_hyperparameters(x[sub], y[sub], self._fid_col, self._target_u, self._prior,
                                                          starts, fixed_noise=fixed)
            gp = fidelity_gp.FidelityGP(x, y, self._theta, self._fid_col, self._target_u)
        else:
            self._theta = self._fit_theta(x, y, self._theta, fixed)
            gp = self._make_gp(x, y, self._theta)
        resid = np.array(self._resid).reshape(len(x), -1)
        cons, thresholds = [], []
        for j in range(resid.shape[1]):
            r = resid[:, j].copy()
            finite = np.isfinite(r)
            # Fail closed: a missing constraint value becomes a clear violation for the GP.
            top = float(np.max(r[finite])) if finite.any() else 1.0
            with np.errstate(over="ignore"):  # residuals near the float64 limit
                span = float(np.ptp(r[finite])) if finite.sum() > 1 else 1.0
                fill = max(top, 0.0) + max(span, 1.0)
            r[~finite] = fill if math.isfinite(fill) else np.finfo(float).max
            cs = Standardizer.fit(r)
            theta_c = self._fit_theta(x, cs.transform(r), self._theta_cons[j], fixed)
            self._theta_cons[j] = theta_c
            cons.append(self._make_gp(x, cs.transform(r), theta_c))
            thresholds.append(float(cs.transform(np.array([0.0]))[0]))
        feasible = np.all(resid <= 0.0, axis=1) if resid.shape[1] else np.ones(len(x), dtype=bool)
        self._model = _Model(gp, scaler, x, y, cons, np.array(thresholds), feasible)
        self._model_key = self._told
        return self._model

    def _fit_theta(self, x: np.ndarray, y: np.ndarray, prev: np.ndarray | None, fixed: float | None) -> np.ndarray:
        """MAP hyperparameters, warm-started from ``prev``; on the arc embedding in a conditional space."""
        sub = self._fit_subset(y)
        x, y = x[sub], y[sub]
        if self._embed is None:
            starts = [self._prior.initial_theta(x.shape[1])]
            if prev is not None:
                starts.insert(0, prev)
            return fit_hyperparameters(x, y, self._prior, starts, fixed_noise=fixed)
        z = self._embed(x)
        starts = [self._prior.initial_theta(z.shape[1])]
        if prev is not None:
            starts.insert(0, prev)
        return fit_hyperparameters(z, y, self._prior, starts, fixed_noise=fixed, groups=self._embed.groups)

    def _fit_subset(self, y: np.ndarray) -> np.ndarray:
        # Seeded by the optimizer's seed and the number of observations: a replayed study refits alike.
        rng = np.random.default_rng([self._base, 5, len(y)])
        return fit_subset_indices(len(y), self.config.fit_subset, rng)

    def _make_gp(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray) -> GaussianProcess:
        if self._embed is None:
            return GaussianProcess(x, y, theta)
        return ConditionalGP(x, y, theta, self._embed)

    # -- acquisition ------------------------------------------------------------------------------

    def _suggest(self, q: int, chosen: list[Params]) -> list[Params]:
        model = self._fit()
        rng = np.random.default_rng([self._base, 2, self._told, len(self._pending) + len(chosen)])
        space = self.problem.space
        gp, cons = model.gp, list(model.cons)
        fantasies = self._pending + [space.encode(p) for p in chosen]
        gp, cons = _fantasize(gp, cons, fantasies)
        excluded = [*self._x, *self._failed, *fantasies]
        out: list[Params] = []
        for _ in range(q):
            u = self._maximize(model, gp, cons, excluded, rng)
            out.append(space.decode(u))
            u = space.encode(out[-1])
            excluded.append(u)
            gp, cons = _fantasize(gp, cons, [u])
        return out

    def _best_feasible(self, model: _Model) -> float | None:
        if not model.feasible.any():
            return None
        return float(np.min(model.y[model.feasible]))

    def _scorer(self, model: _Model, gp: GaussianProcess, cons: list[GaussianProcess],
                candidates: np.ndarray, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
        """``U (m, d) -> scores (m,)`` for the configured acquisition on this (fantasized) model."""
        name = self.config.acquisition_name
        best = self._best_feasible(model)
        n, d = gp.n, gp.x.shape[1]
        thresholds = model.cons_thresholds

        def log_pof(u: np.ndarray) -> np.ndarray:
            total = np.zeros(len(u))
            for cgp, thr in zip(cons, thresholds, strict=True):
                mu_c, var_c = cgp.predict(u)
                total += acq.log_probability_of_feasibility(mu_c - thr, np.sqrt(var_c))
            return total

        if cons and best is None:
            return log_pof  # nothing feasible yet: find feasibility first (Gelbart et al., 2014)

        if name == "ei":
            assert best is not None

            def score(u: np.ndarray) -> np.ndarray:
                mu, var = gp.predict(u)
                out = acq.log_expected_improvement(mu, np.sqrt(var), best)
                return out + log_pof(u) if cons else out

            return score
        if name == "ucb":
            beta = self.config.ucb_beta if self.config.ucb_beta is not None else acq.ucb_beta(n, d)

            def score_ucb(u: np.ndarray) -> np.ndarray:
                mu, var = gp.predict(u)
                out = acq.upper_confidence_bound(mu, np.sqrt(var), beta)
                if cons:
                    # UCB is not a positive utility, so it cannot be multiplied by P(feasible):
                    # restrict it to points more likely feasible than not.
                    lp = log_pof(u)
                    out = np.where(lp >= math.log(0.5), out, -1e6 + lp)
                return out

            return score_ucb
        if name == "mes":
            mu_c, var_c = gp.predict(candidates)
            samples = acq.sample_min_values(mu_c, np.sqrt(var_c), self.config.mes_samples, rng)

            def score_mes(u: np.ndarray) -> np.ndarray:
                mu, var = gp.predict(u)
                out = acq.mes_acquisition(mu, np.sqrt(var), samples)
                return np.log(np.maximum(out, 1e-300)) + log_pof(u) if cons else out

            return score_mes
        # nei / kg: the tutorial's knowledge-gradient computation over a discrete set A.
        if self._fid_col is not None:
            a_set = self._target_set(model, rng, gp)
        elif name == "kg":
            a_set = np.vstack([gp.x, self._discretization(gp, candidates, rng)])
        else:
            a_set = gp.x
        mean_a = gp.predict(a_set)[0]
        cost = self._cost_fn()

        def score_kg(u: np.ndarray) -> np.ndarray:
            mu, var = gp.predict(u)
            cov = gp.covariance(a_set, u)
            if self._fid_col is None:
                out = acq.knowledge_gradient_values(mean_a, cov, var, gp.noise_var, mu)
            else:
                # The max over the domain at the target fidelity includes the candidate's own design
                # moved to the target (the analogue of A + x in single-fidelity KG).
                u_t = u.copy()
                u_t[:, self._fid_col] = self._target_u
                mu_t = gp.predict(u_t)[0]
                out = acq.knowledge_gradient_values(mean_a, cov, var, gp.noise_var, mu_t, _paired_cov(gp, u_t, u))
            if cost is not None:
                out = out / cost(u)
            return np.log(np.maximum(out, 1e-300)) + log_pof(u) if cons else out

        return score_kg

    def _cost_fn(self) -> Callable[[np.ndarray], np.ndarray] | None:
        if self._fid_col is None or self.config.fidelity_cost is None:
            return None
        p, col, fn = self._fid_param, self._fid_col, self.config.fidelity_cost

        def cost(u: np.ndarray) -> np.ndarray:
            values = p.low + np.clip(u[:, col], 0.0, 1.0) * (p.high - p.low)
            return np.maximum(np.array([float(fn(float(v))) for v in values]), 1e-12)

        return cost

    def _discretization(self, gp: GaussianProcess, candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # KG's max over the domain, discretized: the posterior mean's best candidates plus Sobol points.
        k = self.config.kg_points
        mu = gp.predict(candidates)[0]
        top = candidates[np.argsort(mu)[: k // 2]]
        return np.vstack([top, self._enc.sobol(k - len(top), rng)])

    def _target_set(self, model: _Model, rng: np.random.Generator, gp: GaussianProcess | None = None) -> np.ndarray:
        # Multi-fidelity: the evaluated designs and a Sobol set, all moved to the target fidelity.
        assert self._fid_col is not None
        gp = gp or model.gp
        sob = self._enc.sobol(self.config.n_candidates // 4, rng)
        pts = np.vstack([model.x, sob])
        pts[:, self._fid_col] = self._target_u
        mu = gp.predict(pts)[0]
        return np.asarray(pts[np.argsort(mu)[: self.config.kg_points]])

    def _maximize(self, model: _Model, gp: GaussianProcess, cons: list[GaussianProcess],
                  excluded: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        enc = self._enc
        cand = enc.sobol(cfg.n_candidates, rng)
        order = np.argsort(model.y)[:5]
        if cons and model.feasible.any():
            order = np.flatnonzero(model.feasible)[np.argsort(model.y[model.feasible])][:5]
        local = enc.perturb(model.x[order], cfg.n_local, rng)
        cand = np.vstack([cand, local])
        score_fn = self._scorer(model, gp, cons, cand, rng)
        scores = score_fn(cand)
        # Polish the best few distinct candidates over the continuous columns.
        cols = np.array(enc.continuous, dtype=int)
        starts = _top_distinct(cand, scores, cfg.n_restarts)
        if cfg.n_roulette:
            starts += _roulette(cand, scores, cfg.n_roulette, rng)
        polished = []
        if cols.size:
            for s in starts:
                polished.append(self._polish(score_fn, gp, cons, model, s, cols))
        if polished:
            pol = enc.project(np.array(polished))
            cand = np.vstack([cand, pol])
            scores = np.concatenate([scores, score_fn(pol)])
        ex = np.array(excluded) if excluded else np.empty((0, enc.dim))
        for i in np.argsort(-scores, kind="stable"):
            if not np.isfinite(scores[i]):
                continue
            if ex.size == 0 or np.min(np.max(np.abs(ex - cand[i]), axis=1)) > 1e-9:
                return np.asarray(cand[i])
        # Everything scored is taken (a tiny discrete space): any point not yet taken, else a repeat.
        for u in enc.random(256, rng):
            if ex.size == 0 or np.min(np.max(np.abs(ex - u), axis=1)) > 1e-9:
                return np.asarray(u)
        return np.asarray(cand[int(np.argmax(scores))])

    def _polish(self, score_fn: Callable[[np.ndarray], np.ndarray], gp: GaussianProcess,
                cons: list[GaussianProcess], model: _Model, start: np.ndarray, cols: np.ndarray) -> np.ndarray:
        name = self.config.acquisition_name
        analytic = name == "ei" and (not cons or self._best_feasible(model) is not None)
        base = start.copy()
        best = self._best_feasible(model)

        def full(v: np.ndarray) -> np.ndarray:
            u = base.copy()
            u[cols] = v
            return u

        if analytic and best is not None:
            thresholds = model.cons_thresholds

            def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
                u = full(v)
                mu, var, dmu, dvar = gp.predict_with_grad(u)
                sd = math.sqrt(var)
                val, dm, ds = acq.log_ei_grad(mu, sd, best)
                grad = dm * dmu + ds * dvar / (2 * sd)
                for cgp, thr in zip(cons, thresholds, strict=True):
                    mc, vc, dmc, dvc = cgp.predict_with_grad(u)
                    sc = math.sqrt(vc)
                    lv, gm, gs = acq.log_pof_grad(mc - thr, sc)
                    val += lv
                    grad = grad + gm * dmc + gs * dvc / (2 * sc)
                return -val, -grad[cols]

            res = minimize(fun, start[cols], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * cols.size,
                           options={"maxiter": 50})
        else:
            def fun_fd(v: np.ndarray) -> float:
                val = float(score_fn(full(v)[None, :])[0])
                return -val if math.isfinite(val) else 1e12

            res = minimize(fun_fd, start[cols], method="L-BFGS-B", bounds=[(0.0, 1.0)] * cols.size,
                           options={"maxiter": 15, "eps": 1e-5})
        return full(np.asarray(res.x))


def _yeo_johnson(y: np.ndarray) -> np.ndarray:
    """Standardized Yeo-Johnson transform of standardized ``y`` (``(n,)``); ``y`` itself when it cannot be fitted."""
    from scipy.stats import yeojohnson

    if y.size < 3 or not np.isfinite(y).all() or float(np.ptp(y)) <= 0.0:
        return y
    try:
        with np.errstate(all="ignore"):
            z, _ = yeojohnson(y)
    except (ValueError, FloatingPointError, OverflowError):
        return y
    z = np.asarray(z, dtype=float)
    if not np.isfinite(z).all() or float(np.std(z)) <= 1e-12:
        return y
    return np.asarray((z - z.mean()) / z.std())


def _fantasize(gp: GaussianProcess, cons: list[GaussianProcess],
               points: list[np.ndarray]) -> tuple[GaussianProcess, list[GaussianProcess]]:
    """Kriging believer: condition every GP on its own posterior mean at ``points``."""
    if not points:
        return gp, cons
    x = np.array(points)
    gp = gp.condition_on(x, gp.predict(x)[0])
    cons = [c.condition_on(x, c.predict(x)[0]) for c in cons]
    return gp, cons


def _paired_cov(gp: GaussianProcess, a: np.ndarray, b: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Posterior covariances ``Cov_n(a_i, b_i)`` of paired rows, shape ``(m,)``."""
    out = np.empty(len(a))
    for s in range(0, len(a), chunk):
        out[s:s + chunk] = np.diag(gp.covariance(a[s:s + chunk], b[s:s + chunk]))
    return out


def _roulette(cand: np.ndarray, scores: np.ndarray, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    # Diverse starts: sample candidates with probability proportional to exp(score), so that the
    # polish also explores other modes than the one holding the best few candidates.
    ok = np.isfinite(scores)
    if ok.sum() <= k:
        return []
    z = np.where(ok, scores - np.max(scores[ok]), -np.inf)
    if z.min() > -1e-300 and np.all(z == 0):
        return []
    w = np.exp(z)
    w = w / w.sum()
    idx = rng.choice(len(cand), size=min(k, int((w > 0).sum())), replace=False, p=w)
    return [cand[i] for i in idx]


def _top_distinct(cand: np.ndarray, scores: np.ndarray, k: int) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for i in np.argsort(-scores, kind="stable"):
        if len(out) >= k or not np.isfinite(scores[i]):
            break
        if all(np.max(np.abs(cand[i] - o)) > 1e-6 for o in out):
            out.append(cand[i])
    return out

