# LDEBM (issue 4): figures beyond the generic per-experiment report. The runs themselves go
# through the generic train/evaluate/report rules (experiments ldebm_synthetic, ldebm_attributes);
# a profile without one of these experiments requests nothing from here.

LDEBM_LATENTS = {
    name: [
        f"results/latents/{r.dataset}/{r.model}/seed{r.seed}.pt"
        for r in (lr.runs(PARAMS, name) if name in EXPERIMENTS else [])
    ]
    for name in ("ldebm_synthetic", "ldebm_attributes")
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
        code=code("report"),
    output:
        "results/figures/ldebm_synthetic_grid.png",
    log:
        "logs/ldebm/synthetic_grid.log",
    conda:
        ENV
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
        code=code("report"),
    output:
        "results/figures/ldebm_attributes_symbols.png",
    log:
        "logs/ldebm/symbol_latents.log",
    conda:
        ENV
    shell:
        "latentrepro --log {log} ldebm-figures symbols --latents {input.latents} --label act"
        " --out {output}"
