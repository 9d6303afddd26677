rule download:
    input:
        code=code("data"),
    output:
        directory(f"{DATA}/raw/{{dataset}}"),
    log:
        "logs/download/{dataset}.log",
    benchmark:
        "results/benchmarks/download/{dataset}.tsv"
    conda:
        ENV
    params:
        root=lambda w, output: os.path.dirname(output[0]),
        options=lambda w: json.dumps(
            PARAMS["datasets"][w.dataset].get("options", {}), sort_keys=True
        ),
    shell:
        "latentrepro download {wildcards.dataset} --root {params.root}"
        " --options {params.options:q} > {log} 2>&1"


rule tokenize:
    input:
        raw=f"{DATA}/raw/{{dataset}}",
        code=code("data"),
    output:
        directory(f"{DATA}/processed/{{dataset}}"),
    log:
        "logs/tokenize/{dataset}.log",
    benchmark:
        "results/benchmarks/tokenize/{dataset}.tsv"
    conda:
        ENV
    params:
        vocab_size=lambda w: PARAMS["datasets"][w.dataset]["vocab_size"],
        max_length=lambda w: PARAMS["datasets"][w.dataset]["max_length"],
    shell:
        "latentrepro tokenize {wildcards.dataset} --raw {input.raw} --out {output}"
        " --vocab-size {params.vocab_size} --max-length {params.max_length} > {log} 2>&1"


rule all_download:
    input:
        expand(f"{DATA}/raw/{{dataset}}", dataset=DATASETS),


rule all_tokenize:
    input:
        expand(f"{DATA}/processed/{{dataset}}", dataset=DATASETS),
