# DG-VAE (paper P2): the |b| ablation (table and MI / AU / CU against |b|) and interpolation
# between test sentences. The main tables per dataset are the generic report's tables of the
# dgvae_* experiments (mean ± std over seeds). No "paper" column is printed: papers.md marks
# none of DG-VAE's numbers as verified (its Yahoo numbers come from the authors' notebook).

DGVAE_ABLATION = "dgvae_ablation"
DGVAE_DENSITY = "dgvae_density"
# Interpolation paths are decoded for the plain VAE and DG-VAE of every DG-VAE experiment.
DGVAE_INTERPOLATED = ["vae", "dg_vae"]
DGVAE_ABLATION_RUNS = (
    lr.runs(PARAMS, DGVAE_ABLATION) if DGVAE_ABLATION in EXPERIMENTS else []
)
DGVAE_DENSITY_RUNS = (
    lr.runs(PARAMS, DGVAE_DENSITY) if DGVAE_DENSITY in EXPERIMENTS else []
)
DGVAE_INTERPOLATIONS = sorted(
    f"results/tables/dgvae_interpolation/{r.dataset}/{r.model}/seed{r.seed}.json"
    for name in EXPERIMENTS
    if name.startswith("dgvae_") and name not in (DGVAE_ABLATION, DGVAE_DENSITY)
    for r in lr.runs(PARAMS, name)
    if r.model in DGVAE_INTERPOLATED
)


rule dgvae_interpolate:
    input:
        model="results/checkpoints/{dataset}/{model}/seed{seed}/model.pt",
        data=f"{DATA}/processed/{{dataset}}",
        code=code("interpolate"),
    output:
        "results/tables/dgvae_interpolation/{dataset}/{model}/seed{seed}.json",
    log:
        "logs/dgvae_interpolate/{dataset}/{model}/seed{seed}.log",
    conda:
        ENV
    threads: job_threads("dgvae_interpolate")
    resources:
        **job_resources("dgvae_interpolate"),
    params:
        max_length=lambda w: PARAMS["datasets"][w.dataset]["max_length"],
    shell:
        "latentrepro --log {log} interpolate --checkpoint {input.model} --data {input.data}"
        " --seed {wildcards.seed} --pairs 20 --points 11 --max-length {params.max_length}"
        " --out {output}"


rule dgvae_interpolation_table:
    input:
        runs=DGVAE_INTERPOLATIONS,
        code=code("dgvae-report"),
    output:
        expand("results/tables/dgvae_interpolation.{ext}", ext=["md", "csv"]),
    log:
        "logs/dgvae_interpolation_table.log",
    conda:
        ENV
    threads: job_threads("dgvae_interpolation_table")
    resources:
        **job_resources("dgvae_interpolation_table"),
    shell:
        "latentrepro --log {log} dgvae-report --interpolations {input.runs} --tables results/tables"
        ""


rule dgvae_ablation:
    input:
        metrics=[
            f"results/metrics/runs/{r.dataset}/{r.model}/seed{r.seed}.json"
            for r in DGVAE_ABLATION_RUNS
        ],
        code=code("dgvae-report"),
    output:
        tables=expand("results/tables/dgvae_ablation_b.{ext}", ext=["md", "csv", "tex"]),
        figure="results/figures/dgvae_ablation_b.png",
    log:
        "logs/dgvae_ablation.log",
    conda:
        ENV
    threads: job_threads("dgvae_ablation")
    resources:
        **job_resources("dgvae_ablation"),
    params:
        chunks=json.dumps(
            {
                r.model: PARAMS["models"][r.model]["regulariser"]["batch_chunk"]
                for r in DGVAE_ABLATION_RUNS
            },
            sort_keys=True,
        ),
    shell:
        "latentrepro --log {log} dgvae-report --ablation-metrics {input.metrics} --chunks {params.chunks:q}"
        " --tables results/tables --figure {output.figure}"


rule dgvae_density:
    input:
        latents=[
            f"results/latents/{r.dataset}/{r.model}/seed{r.seed}.pt"
            for r in DGVAE_DENSITY_RUNS
        ],
        code=code("dgvae-report"),
    output:
        "results/figures/dgvae_density.png",
    log:
        "logs/dgvae_density.log",
    conda:
        ENV
    threads: job_threads("dgvae_density")
    resources:
        **job_resources("dgvae_density"),
    shell:
        "latentrepro --log {log} dgvae-report --density-latents {input.latents}"
        " --density-figure {output}"


if DGVAE_INTERPOLATIONS:
    EXTRA_TARGETS += rules.dgvae_interpolation_table.output
if DGVAE_ABLATION in EXPERIMENTS:
    EXTRA_TARGETS += rules.dgvae_ablation.output
if DGVAE_DENSITY in EXPERIMENTS:
    EXTRA_TARGETS += rules.dgvae_density.output
