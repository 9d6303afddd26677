"""Tables and figures: each experiment's own (:mod:`.experiments`) and the named reports of
params.yaml (:mod:`.renderers`). Empty, so that the Snakefile can read the renderers' specs
without importing torch or matplotlib."""
