# LDEBM (issue 4): figures beyond the generic per-experiment report. The runs themselves go
# through the generic train/evaluate/report rules (experiments ldebm_synthetic, ldebm_attributes,
# and the baselines' svebm_attributes / svebm_generation where a profile gives them their own budget);
# a profile without one of these experiments requests nothing from here.

# The baselines run with their own authors' budget in experiments of their own (paper profile:
# svebm_attributes); their latents join LDEBM's in the figure.
LDEBM_EXPERIMENTS = {
    "ldebm_synthetic": ("ldebm_synthetic",),
    "ldebm_attributes": ("ldebm_attributes", "svebm_attributes"),
}
LDEBM_LATENTS = {
    name: [
        f"results/latents/{r.dataset}/{r.model}/seed{r.seed}.pt"
        for part in parts
        for r in (lr.runs(PARAMS, part) if part in EXPERIMENTS else [])
    ]
    for name, parts in LDEBM_EXPERIMENTS.items()
}
LDEBM_SYNTHETIC = EXPERIMENTS.get("ldebm_synthetic", {"datasets": [], "models": []})
if LDEBM_LATENTS["ldebm_synthetic"]:
    EXTRA_TARGETS.append("results/figures/ldebm_synthetic_grid.png")
if LDEBM_LATENTS["ldebm_attributes"]:
    EXTRA_TARGETS.append("results/figures/ldebm_attributes_symbols.png")


rule ldebm_synthetic_grid:
    input:
        latents=LDEBM_LATENTS["ldebm_synthetic"],
        data=expand(
            f"{DATA}/processed/{{dataset}}", dataset=LDEBM_SYNTHETIC["datasets"]
        ),
        code=code("ldebm-figures"),
    output:
        "results/figures/ldebm_synthetic_grid.png",
    log:
        "logs/ldebm/synthetic_grid.log",
    conda:
        ENV
    threads: job_threads("ldebm_synthetic_grid")
    resources:
        **job_resources("ldebm_synthetic_grid"),
    params:
        data=lambda w, input: " ".join(
            f"{os.path.basename(d)}={d}/test.pt" for d in input.data
        ),
        models=" ".join(LDEBM_SYNTHETIC["models"]),
    shell:
        "latentrepro --log {log} ldebm-figures synthetic --latents {input.latents}"
        " --data {params.data} --models {params.models} --out {output}"


rule ldebm_symbol_latents:
    input:
        latents=LDEBM_LATENTS["ldebm_attributes"],
        code=code("ldebm-figures"),
    output:
        "results/figures/ldebm_attributes_symbols.png",
    log:
        "logs/ldebm/symbol_latents.log",
    conda:
        ENV
    threads: job_threads("ldebm_symbol_latents")
    resources:
        **job_resources("ldebm_symbol_latents"),
    shell:
        "latentrepro --log {log} ldebm-figures symbols --latents {input.latents} --label act"
        " --out {output}"
