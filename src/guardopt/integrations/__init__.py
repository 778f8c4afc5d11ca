"""Adapters to the libraries users already run (Optuna, scikit-learn).

Each adapter imports its library lazily, inside the module that wraps it, so ``import
guardopt.integrations`` costs nothing. The methods themselves live in their family packages; an
adapter only translates.

* `guardopt.integrations.optuna` (needs ``guardopt[optuna]``): any Optuna sampler as a guardopt
  `Optimizer`, guardopt's constrained GP as an Optuna sampler, a high-confidence test of an Optuna
  study's best trial, and import of an Optuna study's trials into a guardopt `Study`.
* `guardopt.integrations.sklearn`: `GuardedSearchCV`, a ``SearchCV``-style estimator over a guardopt
  `Study` with constraint functions and a recommendation certified on a held-out split.
* `guardopt.integrations.trl` (needs ``guardopt[trl]``): TRL ``DPOTrainer`` / ``GRPOTrainer``
  subclasses whose losses are `guardopt.align.losses` (Intervened PO, GRPO) on a real causal LM.
* `guardopt.integrations.hf_policy` (needs ``guardopt[trl]``): `HFPolicy`, a Hugging Face causal LM
  driven by guardopt's own trainers and sampler, and tiny offline Llamas and word tokenizers.
* `guardopt.integrations.trl_matched` (needs ``guardopt[trl]``): TRL's own ``DPOTrainer`` and
  ``GRPOTrainer`` run from guardopt's trainer configs, every differing TRL default overridden (for
  cross-checking trained outcomes).
"""
