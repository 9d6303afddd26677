rule evaluate:
    input:
        model="results/checkpoints/{dataset}/{model}/seed{seed}/model.pt",
        data=f"{DATA}/processed/{{dataset}}",
        raw=f"{DATA}/raw/{{dataset}}",
        extractor=lambda w: extractor_input(w.dataset, w.model),
        code=code("evaluate"),
    output:
        metrics="results/metrics/runs/{dataset}/{model}/seed{seed}.json",
        latents="results/latents/{dataset}/{model}/seed{seed}.pt",
    log:
        "logs/evaluate/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{model}/seed{seed}.tsv"
    conda:
        ENV
    threads: job_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        settings=lambda w: json.dumps(
            lr.evaluate_config(PARAMS, w.dataset, w.model), sort_keys=True
        ),
        split=lambda w: lr.evaluate_split(PARAMS, w.dataset, w.model),
        extractor=lambda w, input: (
            f"--extractor {input.extractor}" if input.extractor else ""
        ),
    shell:
        "latentrepro --log {log} evaluate --checkpoint {input.model} --data {input.data}"
        " --split {params.split} --manifest {input.raw}/manifest.json"
        " --settings {params.settings:q} {params.extractor}"
        " --seed {wildcards.seed} --out {output.metrics} --latents {output.latents}"


rule all_evaluate:
    input:
        run_paths("results/metrics/runs/{dataset}/{model}/seed{seed}.json"),
