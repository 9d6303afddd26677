rule report:
    input:
        metrics=run_paths("results/metrics/runs/{dataset}/{model}/seed{seed}.json"),
        histories=run_paths("results/curves/{dataset}/{model}/seed{seed}.csv"),
        latents=run_paths("results/latents/{dataset}/{model}/seed{seed}.pt"),
        code=code("report"),
    output:
        tables=expand(
            "results/tables/{experiment}.{ext}",
            experiment=EXPERIMENTS,
            ext=["md", "csv", "tex"],
        ),
        figures=expand(
            "results/figures/{experiment}_{kind}.png",
            experiment=EXPERIMENTS,
            kind=["curves", "latents"],
        ),
        summary="results/metrics/summary.json",
    log:
        "logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        ENV
    threads: job_threads("report")
    resources:
        **job_resources("report"),
    params:
        experiments=json.dumps(EXPERIMENTS, sort_keys=True),
    shell:
        "latentrepro --log {log} report --experiments {params.experiments:q} --metrics {input.metrics}"
        " --histories {input.histories} --latents {input.latents}"
        " --tables results/tables --figures results/figures --summary {output.summary}"
