rule train:
    input:
        data=f"{DATA}/processed/{{dataset}}",
        code=code("train"),
    output:
        model="results/checkpoints/{dataset}/{model}/seed{seed}/model.pt",
        history="results/curves/{dataset}/{model}/seed{seed}.csv",
    log:
        "logs/train/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{model}/seed{seed}.tsv"
    conda:
        ENV
    threads: job_threads("train")
    resources:
        **job_resources("train"),
    params:
        # Only the parameters this job depends on: changing another model's settings
        # does not rerun it (Snakemake's params rerun trigger).
        config=lambda w: json.dumps(
            lr.train_config(PARAMS, w.dataset, w.model), sort_keys=True
        ),
        # Resumable state, kept until the job finishes (not an output: a killed job resumes).
        resume="results/resume/{dataset}/{model}/seed{seed}.pt",
    shell:
        "latentrepro --log {log} train --config {params.config:q} --data {input.data} --seed {wildcards.seed}"
        " --out {output.model} --history {output.history} --resume {params.resume}"


rule all_train:
    input:
        run_paths("results/checkpoints/{dataset}/{model}/seed{seed}/model.pt"),
