"""Samplers: Langevin dynamics in data and latent space, replay buffers, diffusion recovery."""
