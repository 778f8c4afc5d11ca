"""A glucose–insulin patient model for safe treatment policies (vectorized numpy, gymnasium API).

Bergman's minimal model (Bergman, Ider, Bowden & Cobelli 1979, "Quantitative estimation of insulin
sensitivity") for a patient without endogenous insulin (type 1), with a two-compartment gut for
meals (Hovorka et al. 2004's absorption form):

    dG/dt  = −(p1 + X)·G + p1·Gb + Ra / VG            plasma glucose  [mg/dL]
    dX/dt  = −p2·X + p3·(I − Ib)                        remote insulin action [1/min]
    dI/dt  = −n·(I − Ib) + u / VI                      plasma insulin above basal [µU/mL]
    dQ1/dt = −k·Q1,  dQ2/dt = k·(Q1 − Q2),  Ra = f·k·Q2 / BW    gut glucose [mg], appearance [mg/kg/min]

Basal insulin (Ib) is assumed delivered by a pump; the action is the extra insulin (a bolus) given
at each 30-minute decision step, normalized: a ∈ [−1, 1] ↦ u ∈ [0, u_max] units, delivered at the
start of the step. The ODE is integrated with 1-minute Euler sub-steps. Three meals a day (at 7:00,
12:00 and 18:00, 40–80 g, drawn per episode) are announced one step ahead in the observation.

Reward −|G − 110| / 100 per step; cost 1[G < 70] + 1[G > 250] (hypo- and hyperglycaemia).
Observation (G/100, ΔG/100 over the last step, insulin on board [U], sin and cos of the time of day,
grams of the meal announced for the next step / 100). One episode is one day: 48 steps.

The parameters are those of a typical adult in the minimal-model literature (p1 = 0.01, p2 = 0.025,
n = 0.09, VI = 12 L, VG = 1.6 dL/kg, BW = 70 kg), except p3 = 4e-6, below the intravenous value
1.3e-5, standing in for the slower action of subcutaneous insulin. They make a plausible patient, not
a validated virtual cohort (simglucose's UVA/Padova patients are the fidelity check).
"""

from __future__ import annotations

import numpy as np

from guardopt.problems.safe_control import SafeControlEnv

__all__ = ["BEHAVIOURS", "GlucoseInsulin", "basal_bolus_action", "clinician_action", "collect_clinician_dataset"]


class GlucoseInsulin(SafeControlEnv):
    """The glucose–insulin patient; ``info["cost"]`` flags hypo- and hyperglycaemia (see the module)."""

    obs_dim = 6
    action_dim = 1
    max_episode_steps = 48
    cost_limit = 5.0
    name = "GlucoseInsulin"
    step_minutes = 30
    u_max = 6.0
    p1, p2, p3, n_i = 0.01, 0.025, 4e-6, 0.09
    gb = 120.0
    vi_ml = 12_000.0
    vg, bw, f_abs, k_abs = 1.6, 70.0, 0.9, 0.025
    meal_times = (14, 24, 36)  # decision steps: 7:00, 12:00, 18:00

    def _state_dim(self) -> int:
        # G, X, I (above basal), Q1, Q2, previous G, insulin on board, meal grams of the three meals
        return 10

    def _reset_state(self, rng: np.random.Generator) -> np.ndarray:
        n = self.num_envs
        g = rng.uniform(100.0, 160.0, n)
        meals = rng.uniform(40.0, 80.0, (n, 3))
        z = np.zeros(n)
        return np.column_stack([g, z, z, z, z, g, z, meals])

    def _announced(self, t: int) -> np.ndarray:
        out = np.zeros(self.num_envs)
        for j, mt in enumerate(self.meal_times):
            if t + 1 == mt:
                out = self.state[:, 7 + j]
        return out

    def _obs(self) -> np.ndarray:
        s = self.state
        phase = 2 * np.pi * (self.t % self.max_episode_steps) / self.max_episode_steps
        return np.column_stack([s[:, 0] / 100.0, (s[:, 0] - s[:, 5]) / 100.0, s[:, 6],
                                np.full(self.num_envs, np.sin(phase)), np.full(self.num_envs, np.cos(phase)),
                                self._announced(self.t) / 100.0])

    def _dynamics(self, a: np.ndarray) -> np.ndarray:
        s = self.state.copy()
        u = (a[:, 0] + 1.0) / 2.0 * self.u_max  # units
        g, x, i, q1, q2 = s[:, 0], s[:, 1], s[:, 2], s[:, 3], s[:, 4]
        prev_g = g.copy()
        for j, mt in enumerate(self.meal_times):
            if self.t == mt:
                q1 = q1 + s[:, 7 + j] * 1000.0  # grams -> mg
        i = i + u * 1e6 / self.vi_ml  # bolus: units -> µU/mL
        for _ in range(self.step_minutes):
            ra = self.f_abs * self.k_abs * q2 / self.bw
            dg = -(self.p1 + x) * g + self.p1 * self.gb + ra / self.vg
            dx = -self.p2 * x + self.p3 * i
            di = -self.n_i * i
            dq1 = -self.k_abs * q1
            dq2 = self.k_abs * (q1 - q2)
            g, x, i, q1, q2 = g + dg, x + dx, i + di, q1 + dq1, q2 + dq2
            g = np.maximum(g, 10.0)
        iob = s[:, 6] * np.exp(-self.step_minutes / 120.0) + u  # insulin on board, 2-hour decay
        self.state = np.column_stack([g, x, i, q1, q2, prev_g, iob, s[:, 7:]])
        return -np.abs(g - 110.0) / 100.0

    @classmethod
    def constraint_value(cls, state: np.ndarray) -> np.ndarray:
        """h = max(70 − G, G − 250): positive in hypo- or hyperglycaemia."""
        g = np.asarray(state, dtype=float)[..., 0]
        return np.maximum(70.0 - g, g - 250.0)

    def scripted_action(self, obs: np.ndarray, care: np.ndarray) -> np.ndarray:
        """A basal-bolus clinician: a meal bolus (carbs / 10 units) plus a correction above 150 mg/dL;
        a careless one over-boluses (×2.5) and ignores insulin on board."""
        return basal_bolus_action(obs, care, self.u_max)


def basal_bolus_action(obs: np.ndarray, care: np.ndarray, u_max: float = 6.0) -> np.ndarray:
    """Normalized action of the basal-bolus rule for observations ``(B, 6)`` and care levels ``(B,)``."""
    g = obs[:, 0] * 100.0
    iob = obs[:, 2]
    meal = obs[:, 5] * 100.0
    care = np.asarray(care, dtype=float)
    factor = 1.0 + 1.5 * (1.0 - care)
    dose = factor * (meal / 10.0 + np.clip(g - 150.0, 0.0, None) / 50.0) - care * iob * 0.5
    dose = np.clip(dose, 0.0, u_max)
    return (2.0 * dose / u_max - 1.0)[:, None]


# A noisy "clinician": a careful basal-bolus rule on most days, a mis-dosing behaviour on the rest.
BEHAVIOURS = ("careful", "over-bolus", "skipped-bolus")


def clinician_action(obs: np.ndarray, behaviour: np.ndarray, noise: float, rng: np.random.Generator,
                     u_max: float = 6.0) -> np.ndarray:
    """Normalized actions ``(B, 1)`` of the noisy clinician for observations ``(B, 6)``.

    ``behaviour (B,)`` indexes `BEHAVIOURS`. 0, careful: a meal bolus of carbs / 10 units plus a
    correction of (G − 140) / 20 units above 140 mg/dL, minus 0.2 × insulin on board (on this
    patient it keeps about 80% of the time in range, with some hyperglycaemia after meals).
    1, over-bolus: the careful dose without the insulin-on-board term, plus 2 units at every step
    (insulin stacking; it causes hypoglycaemia). 2, skipped bolus: no insulin all day
    (hyperglycaemia). Gaussian noise of standard deviation ``noise`` is added to the normalized
    dose, then the action is clipped to [−1, 1].
    """
    behaviour = np.asarray(behaviour)
    g, iob, meal = obs[:, 0] * 100.0, obs[:, 2], obs[:, 5] * 100.0
    dose = meal / 10.0 + np.clip(g - 140.0, 0.0, None) / 20.0 - 0.2 * iob
    dose = np.where(behaviour == 1, meal / 10.0 + np.clip(g - 140.0, 0.0, None) / 20.0 + 2.0, dose)
    dose = np.where(behaviour == 2, 0.0, dose)
    a = 2.0 * np.clip(dose, 0.0, u_max) / u_max - 1.0
    return np.clip(a[:, None] + noise * rng.standard_normal((len(obs), 1)), -1.0, 1.0)


def collect_clinician_dataset(days: int = 300, seed: int = 0, misdosing_fraction: float = 0.2,
                              noise: float = 0.1) -> dict[str, np.ndarray]:
    """Patient-days of the noisy clinician on `GlucoseInsulin`, in the D4RL/DSRL dictionary layout.

    Each day is one episode (48 steps). A ``misdosing_fraction`` of the days (drawn independently)
    use a mis-dosing behaviour, half over-bolus and half skipped bolus; the others the careful rule.
    Returns ``observations (N, 6)``, ``actions (N, 1)``, ``rewards``, ``costs``, ``next_observations``,
    ``terminals``, ``timeouts``, ``h`` (the signed constraint value) and ``behaviour`` (N,), with
    N = 48 · days, day after day.
    """
    from guardopt.core.errors import check_in_range, check_int

    days = check_int(days, "days", "collect_clinician_dataset", low=1, high=1_000_000)
    seed = check_int(seed, "seed", "collect_clinician_dataset", low=0)
    check_in_range(misdosing_fraction, "misdosing_fraction", "collect_clinician_dataset", 0.0, 1.0,
                   low_open=False, high_open=False)
    check_in_range(noise, "noise", "collect_clinician_dataset", 0.0, 10.0, low_open=False)
    rng = np.random.default_rng(seed)
    mis = rng.random(days) < misdosing_fraction
    behaviour = np.where(mis, 1 + (rng.random(days) < 0.5), 0)
    env = GlucoseInsulin(num_envs=days)
    obs, _ = env.reset(seed=int(rng.integers(2**31)))
    keys = ("observations", "actions", "rewards", "costs", "next_observations", "terminals", "timeouts", "h")
    buf: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for _ in range(env.max_episode_steps):
        a = clinician_action(obs, behaviour, noise, rng, env.u_max)
        nxt, r, term, trunc, info = env.step(a)
        for k, v in zip(keys, (obs, a, r, info["cost"], nxt, term, trunc, info["h"])):
            buf[k].append(v)
        obs = nxt
    t = env.max_episode_steps
    out = {k: np.swapaxes(np.stack(v), 0, 1).reshape((days * t, *np.stack(v).shape[2:])) for k, v in buf.items()}
    out["terminals"] = out["terminals"].astype(bool)
    out["timeouts"] = out["timeouts"].astype(bool)
    out["behaviour"] = np.repeat(behaviour, t)
    return out
