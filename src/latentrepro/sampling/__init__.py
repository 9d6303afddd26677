"""Samplers: Langevin dynamics over many chains at once and the level-by-level sampler of a
diffusion EBM (latent priors); SGLD and replay buffers for image EBMs (``sgld``,
``replay_buffer``)."""

from latentrepro.sampling.diffusion import DiffusionSchedule, sample_levels
from latentrepro.sampling.langevin import NonFiniteSampleError, check_step_size, langevin

__all__ = [
    "DiffusionSchedule",
    "NonFiniteSampleError",
    "check_step_size",
    "langevin",
    "sample_levels",
]
