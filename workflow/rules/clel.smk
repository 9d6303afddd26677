# P3 (CLEL): the image EBMs train and are evaluated (FID) by the generic rules; here are the
# conditional samples of guided models, scored by a trained classifier, and CLEL's tables
# (FID, cost, conditional) and figures over every image EBM run.
CLEL_RUNS = lr.family_runs(PARAMS, "image_ebm")
CONDITIONAL_RUNS = lr.conditional_runs(PARAMS)


rule conditional:
    input:
        model="results/checkpoints/{dataset}/{model}/seed{seed}/model.pt",
        scorer=lambda w: checkpoint_of(
            lr.conditional_scorer(PARAMS, w.dataset, w.model)
        ),
        data=f"{DATA}/processed/{{dataset}}",
        code=code("clel-conditional"),
    output:
        samples="results/conditional/{dataset}/{model}/seed{seed}.pt",
        scores="results/conditional/{dataset}/{model}/seed{seed}.json",
    log:
        "logs/conditional/{dataset}/{model}/seed{seed}.log",
    conda:
        ENV
    threads: job_threads("conditional")
    resources:
        **job_resources("conditional"),
    params:
        settings=lambda w: json.dumps(
            lr.conditional_config(PARAMS, w.dataset, w.model), sort_keys=True
        ),
    shell:
        "latentrepro --log {log} clel-conditional"
        " --checkpoint {input.model} --classifier {input.scorer} --data {input.data}"
        " --settings {params.settings:q} --out {output.samples} --scores {output.scores}"


rule clel_report:
    input:
        metrics=run_paths(
            "results/metrics/runs/{dataset}/{model}/seed{seed}.json", CLEL_RUNS
        ),
        histories=run_paths(
            "results/curves/{dataset}/{model}/seed{seed}.csv", CLEL_RUNS
        ),
        benchmarks=run_paths(
            "results/benchmarks/train/{dataset}/{model}/seed{seed}.tsv", CLEL_RUNS
        ),
        samples=run_paths("results/latents/{dataset}/{model}/seed{seed}.pt", CLEL_RUNS),
        conditional=run_paths(
            "results/conditional/{dataset}/{model}/seed{seed}.json", CONDITIONAL_RUNS
        ),
        code=code("clel-report"),
    output:
        tables=expand(
            "results/tables/clel_{name}.{ext}",
            name=["fid", "cost", "conditional"],
            ext=["md", "csv", "tex"],
        ),
        reported="results/tables/clel_reported_elsewhere.md",
        figures=[
            "results/figures/clel_samples.png",
            "results/figures/clel_conditional.png",
        ],
    log:
        "logs/clel/report.log",
    conda:
        ENV
    threads: job_threads("clel_report")
    resources:
        **job_resources("clel_report"),
    shell:
        "latentrepro --log {log} clel-report --metrics {input.metrics} --histories {input.histories}"
        " --benchmarks {input.benchmarks} --samples {input.samples}"
        " --conditional {input.conditional} --tables results/tables"
        " --figures results/figures"


if CLEL_RUNS:
    EXTRA_TARGETS += rules.clel_report.output
