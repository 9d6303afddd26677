"""Evaluation metrics: likelihood-side (log densities, KL, IW log p(x), PPL) and latent-side
(aggregated-posterior density, mutual information, active units). All are pure functions.
The density primitives (Gaussian log densities, KL) live in :mod:`latentrepro.density`, one
layer down, and are re-exported here."""

from latentrepro.density import (
    gaussian_kl,
    log_normal_diag,
    log_standard_normal,
    logmeanexp,
    mc_kl,
)
from latentrepro.metrics.holes import continuous_units, prior_to_aggregate_kl
from latentrepro.metrics.latent import (
    active_units,
    aggregate_posterior_log_density,
    batched_mutual_information,
    length_grouped_batches,
    mutual_information,
)
from latentrepro.metrics.likelihood import combine_iw_chunks, iw_log_likelihood, perplexity

__all__ = [
    "active_units",
    "aggregate_posterior_log_density",
    "batched_mutual_information",
    "combine_iw_chunks",
    "continuous_units",
    "gaussian_kl",
    "iw_log_likelihood",
    "length_grouped_batches",
    "log_normal_diag",
    "log_standard_normal",
    "logmeanexp",
    "mc_kl",
    "mutual_information",
    "perplexity",
    "prior_to_aggregate_kl",
]
