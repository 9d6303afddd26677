"""latentrepro: regenerate the tables and figures of LDEBM, DG-VAE and CLEL from raw data."""

__version__ = "0.1.0"
