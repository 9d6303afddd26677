rule download:
    input:
        code=code("download"),
    output:
        directory(f"{DATA}/raw/{{dataset}}"),
    log:
        "logs/download/{dataset}.log",
    benchmark:
        "results/benchmarks/download/{dataset}.tsv"
    conda:
        ENV
    threads: job_threads("download")
    resources:
        **job_resources("download"),
    params:
        root=lambda w, output: os.path.dirname(output[0]),
        options=lambda w: json.dumps(
            PARAMS["datasets"][w.dataset].get("options", {}), sort_keys=True
        ),
    shell:
        "latentrepro --log {log} download {wildcards.dataset} --root {params.root}"
        " --options {params.options:q}"


rule weights:
    input:
        code=code("download"),
    output:
        directory(INCEPTION_WEIGHTS),
    log:
        "logs/download/inception_fid.log",
    conda:
        ENV
    threads: job_threads("weights")
    resources:
        **job_resources("weights"),
    params:
        root=lambda w, output: os.path.dirname(output[0]),
    shell:
        "latentrepro --log {log} download inception_fid --root {params.root}"


rule tokenize:
    input:
        raw=f"{DATA}/raw/{{dataset}}",
        code=code("tokenize"),
    output:
        directory(f"{DATA}/processed/{{dataset}}"),
    log:
        "logs/tokenize/{dataset}.log",
    benchmark:
        "results/benchmarks/tokenize/{dataset}.tsv"
    conda:
        ENV
    threads: job_threads("tokenize")
    resources:
        **job_resources("tokenize"),
    params:
        # Text datasets only; points and images are stored as tensors.
        sizes=lambda w: " ".join(
            f"--{key.replace('_', '-')} {PARAMS['datasets'][w.dataset][key]}"
            for key in ("vocab_size", "max_length")
            if key in PARAMS["datasets"][w.dataset]
        ),
    shell:
        "latentrepro --log {log} tokenize {wildcards.dataset} --raw {input.raw} --out {output}"
        " {params.sizes}"


rule all_download:
    input:
        expand(f"{DATA}/raw/{{dataset}}", dataset=DATASETS),


rule all_tokenize:
    input:
        expand(f"{DATA}/processed/{{dataset}}", dataset=DATASETS),
