"""`GPOptimizer`: Bayesian optimization with a lean numpy GP, as an `Optimizer` any `Study` runs.

The loop follows Frazier (2018), "A Tutorial on Bayesian Optimization" (arXiv 1807.02811), §3:
a scrambled Sobol initial design, then at every ask a GP refit (MAP hyperparameters, warm-started
from the previous fit) and the maximizer of an acquisition function. The acquisition is maximized by
scoring a few thousand Sobol and local candidates and polishing the best few with L-BFGS-B.

* Batches (``ask(n)`` or ``batch_size > 1``): sequential greedy selection with *fantasies* (the
  "Kriging believer": each chosen or pending point is added to the GP with its posterior mean as
  its value, which collapses the variance there so the next point goes elsewhere).
* Outcome constraints: one GP per constraint residual; EI × P(feasible) (computed in log space).
* Multi-fidelity: a `Real` fidelity parameter with a known cost; cost-aware knowledge gradient
  (below) on the linear truncated fidelity GP of `guardopt.bo.fidelity_gp`, power learned.
* Conditional spaces (``when=``): the GP sees inactive parameters through the arc embedding of
  `guardopt.bo.conditional` (inactive is no value of the parameter), and candidates are projected
  so that inactive columns hold the space's fill (points differing only there are the same point).
* `recommend(guard)`: the evaluated point to report, feasible under a confidence bound of every
  constraint GP (``"pessimistic"``: upper bound ``<= 0``) or None when there is none yet.

Multi-fidelity KG (Wu et al. 2019's cost-aware KG, Frazier 2018 §4.2 for KG itself) scores a
candidate ``(x, s)`` by ``KG(x, s) / cost(s)`` with ``KG = min_A mu_n - E[min_A mu_{n+1} | y(x, s)]``,
both minima at the target fidelity, over a set ``A`` at the target: the evaluated designs and Sobol
points (cut to ``kg_points`` by posterior mean), the candidate's own design at the target, and, by
default (``kg_inner="polished"``), the continuous minimizers of the current posterior mean, found by
L-BFGS-B from the best three points of that set (the same polish `GPOptimizer.recommend_target`
uses). Without them ``min_A mu_n`` is a discrete set's minimum, not the current optimum: the baseline
then differs between candidates (it is the candidate's own design wherever that beats the set), so
a candidate near the optimum is measured against the optimum and one far from it against a worse
baseline. The expectation is exact for the set (Gauss-Hermite on lines, `acquisition`). Late in a
run the discrete set's KG also degenerates: on augmented Branin (seed 1003, 45 evaluations, 512
Sobol candidates) 91% of candidates scored KG < 1e-10 on the discrete set against 8% with the
polished minimizers in it.

``kg_inner="fantasy"`` also re-scores the three best candidates with ``A`` holding the continuous
minimizers of their fantasized means at ``z = -2, -1, 1, 2`` (a cheap version of BoTorch's one-shot
KG).

What the choice measured, on augmented Branin (cost 0.1 + 0.9 s, stopped at cost 18: the
``bo-tutorial`` setting, with its quick acquisition sizes, 256 candidates and 32 points in ``A``;
seeds 1000-1015, disjoint from the reproduction's), reported as it came out: the default
(``"polished"``, learned power) reached a median target regret of 0.016 against 0.0054 for the
previous version (``"discrete"``, power 1); paired log10 difference +0.39 (standard error 0.24),
lower on 6 of 16 seeds, so no improvement and possibly a loss. On seeds 1000-1007, against the
previous version, each change alone did worse as well (``"polished"`` with power 1: median 0.029,
lower regret on 1 of 8 seeds; ``"discrete"`` with the learned power: 0.011, 1 of 8), and
``"fantasy"`` with the learned power did worse still (median 0.042, 1 of 8, twice the time per run).
In these runs the regret was dominated by the model's error at the recommendation (the median
absolute error of the posterior mean there was 0.025-0.14 per variant, above the median regrets),
not by where KG sampled. ``"polished"`` is the default because it computes the quantity KG is
defined as; ``"discrete"`` stays available.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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
from guardopt.bo.warping import OUTPUT_TRANSFORMS, warp_outputs
from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    UnsupportedError,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Params, Real
from guardopt.core.trial import Trial, TrialState, is_finite_number

ACQUISITIONS = ("ei", "logei", "ucb", "nei", "kg", "mes")
KG_INNER = ("discrete", "polished", "fantasy")
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
            ``"half-rank"``: the half-rank and log warps of Vizier's GP bandit
            (`guardopt.bo.warping`): the worse half of the values replaced by normal quantiles of
            their ranks, the differences among the best stretched. On the conditional benchmarks'
            development seeds (``benchmarks/results/conditional-dev.md``) it helped model selection
            on the breast-cancer data and hurt the SVC on the digits data (it stays on the best
            kernel's plateau), so it is an option, not the default.
        fidelity: Name of a `Real` fidelity parameter (multi-fidelity mode; needs ``acquisition="kg"``).
        fidelity_cost: ``value -> cost`` of one evaluation at that fidelity (positive).
        target_fidelity: The fidelity whose optimum is wanted (None: the parameter's upper bound).
        fidelity_power: The power ``p`` of the fidelity kernel's discrepancy weight
            ``(t - u)(t - u')(1 + u u')^p`` (see `guardopt.bo.fidelity_gp`): None learns it with the
            other hyperparameters (MAP, BoTorch's ``Gamma(3, 3)`` prior); a number in ``[0.01, 10]``
            fixes it (1: the kernel with power 1).
        kg_inner: Multi-fidelity KG's inner maximization, the best posterior mean at the target
            fidelity before and after the fantasy observation, over a set ``A`` at the target:
            ``"discrete"`` (evaluated designs and Sobol points, cut to ``kg_points`` by posterior mean),
            ``"polished"`` (that set plus the continuous minimizers of the current posterior mean,
            found by L-BFGS-B from its best points: ``A`` then holds the current optimum) or
            ``"fantasy"`` (``"polished"``, and the best few candidates are re-scored with ``A`` also
            holding the continuous minimizers of their fantasized posterior means, a cheap version of
            one-shot KG). See the module docstring for the comparison behind the default.
        split_shared: In a conditional space, give a `Real` / `Integer` that is active under several
            values of a parent (``gamma`` with ``when={"kernel": ["rbf", "poly", "sigmoid"]}``) one
            arc, i.e. one input and one lengthscale of the GP, per value, so that what it does under
            one kernel is not assumed to be what it does under another (see
            `guardopt.bo.conditional`). False (the default): one arc for all of them.
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
    fidelity_power: float | None = None
    kg_inner: str = "polished"
    split_shared: bool = False
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
        check_choice(self.output_transform, "output_transform", _OWNER, OUTPUT_TRANSFORMS)
        check_choice(self.kg_inner, "kg_inner", _OWNER, KG_INNER)
        for flag in ("noise_free", "split_shared"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):  # a truthy string would switch it on silently
                raise InvalidParameterError(flag, _OWNER, "True or False", getattr(self, flag))
        if self.fidelity_power is not None:
            check_in_range(self.fidelity_power, "fidelity_power", _OWNER, 0.01, 10.0, low_open=False, high_open=False)
        if self.fidelity is not None:
            if self.acquisition != "kg":
                raise InvalidParameterError("acquisition", _OWNER, "'kg' when a fidelity parameter is given",
                                            self.acquisition)
            if not callable(self.fidelity_cost):
                raise InvalidParameterError("fidelity_cost", _OWNER, "a callable value -> cost",
                                            self.fidelity_cost)
        if self.target_fidelity is not None and not is_finite_number(self.target_fidelity):
            raise InvalidParameterError("target_fidelity", _OWNER, "None or a finite number", self.target_fidelity)

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
        else:
            given = [*(["acquisition"] if acquisition != "ei" else []), *(["batch_size"] if batch_size != 1 else []),
                     *sorted(options)]
            if given:
                raise InvalidParameterError(given[0], _OWNER, "left out when a config is given (set it in the "
                                            "GPConfig)", given)
        self.config = config
        self._init_loop(seed)
        self._theta: np.ndarray | None = None
        self._theta_cons: list[np.ndarray | None] = []
        self._model: _Model | None = None
        self._model_key = -1
        # Multi-fidelity KG's set A and its scorer factory, from the last `_scorer` call.
        self._mf_kg: tuple[np.ndarray, Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]]] | None = None

    # -- protocol -------------------------------------------------------------------------------

    def setup(self, problem: ProblemSpec) -> None:
        super().setup(problem)
        self._setup_design(problem)
        self._theta, self._model, self._model_key, self._mf_kg = None, None, -1, None
        dim = problem.space.dim
        cfg = self.config
        self._prior = GPPrior.for_dim(dim, scaled=cfg.lengthscale_prior == "dim-scaled")
        self._theta_cons = [None] * len(problem.constraints)
        self._fid_col: int | None = None
        self._embed = ArcEmbedding(self._enc, cfg.split_shared) if problem.space.is_conditional else None
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
            if not is_finite_number(target) or not p.low <= target <= p.high:
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
        row = self._recommended_row(guard)
        return None if row is None else dict(self._params[row])

    def recommend_trial_number(self, guard: str = "pessimistic") -> int | None:
        """The number of the trial `recommend` chooses (None when none qualifies).

        A configuration evaluated more than once has one row per evaluation; the model's bounds are
        the same for all of them, and this names the row chosen, so `guardopt.Study.best` reports
        that evaluation rather than any other trial with the same parameters.
        """
        check_choice(guard, "guard", f"{_OWNER}.recommend_trial_number", ("none", "pessimistic", "optimistic"))
        row = self._recommended_row(guard)
        return None if row is None else self._numbers[row]

    def _recommended_row(self, guard: str) -> int | None:
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
        return int(idx[np.argmin(score[idx])])

    def predict(self, params: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """The GP's posterior mean and standard deviation of the objective at ``params``, in its own units.

        What the model believes about configurations, evaluated or not (the analogue of BoTorch's
        ``model.posterior(X)``): the mean is in the objective's units and direction (a maximized
        accuracy comes back as an accuracy), the standard deviation is that of the latent function,
        without observation noise. In multi-fidelity mode the fidelity is one of the parameters.

        Args:
            params: Points of the study's space (each a mapping of name -> value).

        Returns:
            ``(mean, sd)``, each of shape ``(len(params),)``.

        Raises:
            UnsupportedError: fewer than two evaluations so far, or an ``output_transform`` other
                than ``"standardize"`` (the model then lives in warped units, not the objective's).
            InputDataError: a point outside the space, or ``params`` not a sequence of mappings.
        """
        owner = f"{_OWNER}.predict"
        if isinstance(params, Mapping) or not isinstance(params, Sequence):
            raise InputDataError(f"The 'params' argument of {owner} must be a sequence of parameter mappings "
                                 f"(a list of dicts). Got {type(params).__name__}.")
        if self.config.output_transform != "standardize":
            raise UnsupportedError(f"{owner} reports the objective's units, which needs output_transform="
                                   f"'standardize'; this optimizer uses {self.config.output_transform!r}.")
        if len(self._loss) < 2:
            raise UnsupportedError(f"{owner} needs a fitted model: at least two evaluated trials. "
                                   f"Got {len(self._loss)}.")
        space = self.problem.space
        u = np.array([space.encode(p) for p in params]).reshape(len(params), space.dim)
        model = self._fit()
        mu, var = model.gp.predict(u) if len(u) else (np.zeros(0), np.zeros(0))
        sign = self.problem.sign
        big = np.finfo(float).max
        with np.errstate(over="ignore", invalid="ignore"):
            # Back in the objective's units a value near the float64 limit can overflow: clip it to the
            # largest finite float rather than hand out an infinite mean.
            mean = np.clip(sign * (model.scaler.mean + model.scaler.std * mu), -big, big)
            sd = np.clip(model.scaler.std * np.sqrt(np.asarray(var)), 0.0, big)
        return mean, sd

    def recommend_target(self) -> Params:
        """Multi-fidelity: the point (evaluated or not) with the lowest posterior mean at the target fidelity.

        The minimizer is searched over the evaluated designs and Sobol points at the target fidelity,
        then polished with L-BFGS-B from the best few of them (`GPOptimizer._mean_minimizers`).
        """
        if getattr(self, "_fid_col", None) is None:
            raise UnsupportedError(f"{_OWNER}.recommend_target needs a fidelity parameter (GPConfig.fidelity).")
        if len(self._loss) < 2:
            raise UnsupportedError(f"{_OWNER}.recommend_target needs a fitted model: at least two evaluated "
                                   f"trials. Got {len(self._loss)}.")
        model = self._fit()
        a = self._target_set(model, np.random.default_rng([self._base, 3, self._told]))
        polished = self._mean_minimizers(model.gp, a)
        a = np.vstack([a, polished])
        mu = model.gp.predict(a)[0]
        return self.problem.space.decode(a[int(np.argmin(mu))])

    def fidelity_power(self) -> float | None:
        """Multi-fidelity: the fidelity kernel's power ``p`` of the last fit (None before a fit or without one)."""
        if getattr(self, "_fid_col", None) is None or self._theta is None:  # before setup there is no column
            return None
        return float(math.exp(fidelity_gp.full_theta(self._theta, self._enc.dim)[-1]))

    # -- model ------------------------------------------------------------------------------------

    def _fit(self) -> _Model:
        if self._model is not None and self._model_key == self._told:
            return self._model
        x = np.array(self._x)
        loss = np.array(self._loss)
        scaler = Standardizer.fit(loss)
        y = scaler.transform(loss)
        y = warp_outputs(y, self.config.output_transform)
        fixed = 1e-8 if self.config.noise_free else None
        gp: GaussianProcess
        if self._fid_col is not None:
            # Multi-fidelity: target function plus a discrepancy that vanishes at the target fidelity.
            starts = [fidelity_gp.initial_theta(x.shape[1], self._prior)]
            if self._theta is not None:
                starts.insert(0, self._theta)
            sub = self._fit_subset(y)
            self._theta = fidelity_gp.fit_hyperparameters(x[sub], y[sub], self._fid_col, self._target_u, self._prior,
                                                          starts, fixed_noise=fixed,
                                                          fixed_power=self.config.fidelity_power)
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
            if self.config.kg_inner != "discrete":
                # A holds the current posterior mean's continuous minimizer, so the "now" term of KG is
                # the current optimum for every candidate (see the module docstring).
                a_set = np.vstack([a_set, self._mean_minimizers(gp, a_set)])
        elif name == "kg":
            a_set = np.vstack([gp.x, self._discretization(gp, candidates, rng)])
        else:
            a_set = gp.x
        cost = self._cost_fn()

        def make_kg(a_set: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
            mean_a = gp.predict(a_set)[0]

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
                    out = acq.knowledge_gradient_values(mean_a, cov, var, gp.noise_var, mu_t,
                                                        _paired_cov(gp, u_t, u))
                if cost is not None:
                    out = out / cost(u)
                return np.log(np.maximum(out, 1e-300)) + log_pof(u) if cons else out

            return score_kg

        if self._fid_col is not None:
            self._mf_kg = (a_set, make_kg)
        return make_kg(a_set)

    def _cost_fn(self) -> Callable[[np.ndarray], np.ndarray] | None:
        if self._fid_col is None or self.config.fidelity_cost is None:
            return None
        p, col, fn = self._fid_param, self._fid_col, self.config.fidelity_cost

        def cost(u: np.ndarray) -> np.ndarray:
            values = p.low + np.clip(u[:, col], 0.0, 1.0) * (p.high - p.low)
            out = []
            for v in values:
                c = fn(float(v))
                # Loud: a NaN cost would make every knowledge-gradient score NaN, and the ask random.
                if not is_finite_number(c) or float(c) <= 0.0:
                    raise InvalidParameterError("fidelity_cost", _OWNER, "a callable returning a positive "
                                                f"finite cost (at fidelity {float(v)!r} it returned {c!r})", fn)
                out.append(float(c))
            return np.maximum(np.array(out), 1e-12)

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

    def _mean_minimizers(self, gp: GaussianProcess, a: np.ndarray, k: int = 3,
                         slope: np.ndarray | None = None) -> np.ndarray:
        """Continuous minimizers of the posterior mean at the target fidelity, polished from ``a``'s best ``k``.

        With ``slope = (x, z)`` it minimizes the fantasized mean ``mu_n(a) + z Cov_n(a, x) /
        sqrt(Var_n(x) + noise)`` instead: the posterior mean after observing ``y(x)`` with standardized
        innovation ``z`` (see `GPOptimizer._fantasy_rescore`). Gradients are central differences in
        one batched prediction per step.

        Args:
            gp: The (possibly fantasized) GP.
            a: Points at the target fidelity, shape ``(p, d)``.
            k: How many of the best points of ``a`` to polish from.
            slope: None, or a candidate ``x`` and ``z`` stacked as one row of shape ``(d + 1,)``.

        Returns:
            The polished points (projected onto the space, fidelity at the target), shape ``(<= k, d)``;
            each has a (fantasized) mean at most that of its start.
        """
        assert self._fid_col is not None
        cols = np.array([c for c in self._enc.continuous if c != self._fid_col], dtype=int)
        if cols.size == 0 or len(a) == 0:
            return np.empty((0, a.shape[1]))
        if slope is None:
            def value(pts: np.ndarray) -> np.ndarray:
                return gp.predict(pts)[0]
        else:
            xc, z = slope[None, :-1], float(slope[-1])
            denom = math.sqrt(max(float(gp.predict(xc)[1][0]) + gp.noise_var, 1e-12))

            def value(pts: np.ndarray) -> np.ndarray:
                return np.asarray(gp.predict(pts)[0] + z * gp.covariance(pts, xc)[:, 0] / denom)

        vals = value(a)
        out = []
        h = 1e-6
        for start in a[np.argsort(vals, kind="stable")[:k]]:
            def fun(v: np.ndarray, start: np.ndarray = start) -> tuple[float, np.ndarray]:
                # One batched call: the point and its central-difference neighbours in each column.
                u = np.repeat(start[None, :], 2 * cols.size + 1, axis=0)
                u[:, cols] = v
                u[1 + np.arange(cols.size), cols] += h
                u[1 + cols.size + np.arange(cols.size), cols] -= h
                m = value(u)
                return float(m[0]), (m[1:cols.size + 1] - m[cols.size + 1:]) / (2 * h)

            res = minimize(fun, start[cols], jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * cols.size,
                           options={"maxiter": 50})
            u = start.copy()
            u[cols] = res.x
            u = self._enc.project(u[None, :])[0]
            u[self._fid_col] = self._target_u
            out.append(u if float(value(u[None, :])[0]) <= float(value(start[None, :])[0]) else start)
        return np.array(out)

    def _fantasy_rescore(self, gp: GaussianProcess, cand: np.ndarray, scores: np.ndarray, ex: np.ndarray,
                         top: int = 3, zs: tuple[float, ...] = (-2.0, -1.0, 1.0, 2.0)) -> np.ndarray:
        """Re-score the ``top`` best candidates with ``A`` also holding their fantasy optima (``"fantasy"``).

        For each candidate ``x`` and each ``z`` in ``zs``, the fantasized posterior mean
        ``mu_n(a) + z Cov_n(a, x) / sqrt(Var_n(x) + noise)`` (the mean after observing ``y(x)`` at
        standardized innovation ``z``) is minimized continuously at the target fidelity and its
        minimizer added to ``A`` for that candidate's score. Adding points to ``A`` never lowers the
        expected fantasy optimum: it raises the scores of candidates whose observation would move the
        optimum to a place the discrete ``A`` does not hold (and lowers none, unless a fantasy
        minimizer also beats the current one, which then enters KG's "now" term too).
        """
        assert self._mf_kg is not None
        a_set, make_kg = self._mf_kg
        out = scores.copy()
        picked = 0
        for i in np.argsort(-scores, kind="stable"):
            if picked >= top or not np.isfinite(scores[i]):
                break
            if ex.size and np.min(np.max(np.abs(ex - cand[i]), axis=1)) <= 1e-9:
                continue
            picked += 1
            extra = [self._mean_minimizers(gp, a_set, k=2, slope=np.append(cand[i], z)) for z in zs]
            a_aug = np.vstack([a_set, *extra])
            out[i] = float(make_kg(a_aug)(cand[i][None, :])[0])
        return out

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
        if self._fid_col is not None and cfg.kg_inner == "fantasy" and self._mf_kg is not None:
            scores = self._fantasy_rescore(gp, cand, scores, ex)
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

