"""MCMC samplers for latent energy-based priors: Langevin dynamics over many chains at once, and
the level-by-level sampler of a diffusion EBM."""

from latentrepro.sampling.diffusion import DiffusionSchedule, sample_levels
from latentrepro.sampling.langevin import NonFiniteSampleError, check_step_size, langevin

__all__ = [
    "DiffusionSchedule",
    "NonFiniteSampleError",
    "check_step_size",
    "langevin",
    "sample_levels",
]
