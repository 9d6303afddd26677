# P3 (CLEL): image EBMs (baseline and CLEL) on image datasets, FID with the workflow's own
# classifier (or the Inception weights it fetches), conditional/compositional samples scored by
# that classifier, tables and figures.
# Images have their own data tree (data/images/{raw,processed}) and DVC stage `clel`.
from latentrepro import clel_config as clel_params

CLEL = clel_params.clel_profile(PARAMS)
CLEL_RUNS = clel_params.clel_runs(PARAMS)
CLEL_DATASETS = sorted({run.dataset for run in CLEL_RUNS})
CLEL_GUIDED = [
    m for m in (CLEL or {}).get("models", []) if PARAMS["clel"]["models"][m]["guidance"]
]
CLEL_OWN_FID = CLEL is not None and CLEL["extractor"]["kind"] == "classifier"
CLEL_DIR = "results/clel"
CLEL_DATA = f"{DATA}/images"

try:
    clel_params.check_clel_params(PARAMS)
except lr.ParamsError as err:
    sys.exit(str(err))


CLEL_CONDITIONAL = [
    f"{CLEL_DIR}/conditional/{dataset}/{CLEL_GUIDED[0]}/seed{seed}.json"
    for dataset in CLEL_DATASETS
    for seed in (CLEL or {}).get("seeds", [])
    if CLEL_GUIDED
]
CLEL_WEIGHTS = f"{DATA}/{clel_params.INCEPTION_DIR}"


rule clel_weights:
    input:
        code=code("download"),
    output:
        directory(CLEL_WEIGHTS),
    log:
        "logs/clel/weights.log",
    conda:
        ENV
    params:
        root=lambda w, output: os.path.dirname(output[0]),
    shell:
        "latentrepro --log {log} download inception_fid --root {params.root}"


rule clel_download:
    input:
        code=code("download"),
    output:
        directory(f"{CLEL_DATA}/raw/{{dataset}}"),
    log:
        "logs/clel/download/{dataset}.log",
    conda:
        ENV
    threads: job_threads("clel_download")
    resources:
        **job_resources("clel_download"),
    params:
        root=lambda w, output: os.path.dirname(output[0]),
        options=lambda w: json.dumps(
            PARAMS["datasets"][w.dataset].get("options", {}), sort_keys=True
        ),
    shell:
        "latentrepro --log {log} download {wildcards.dataset} --root {params.root}"
        " --options {params.options:q}"


rule clel_prepare:
    input:
        raw=f"{CLEL_DATA}/raw/{{dataset}}",
        code=code("prepare-arrays"),
    output:
        directory(f"{CLEL_DATA}/processed/{{dataset}}"),
    log:
        "logs/clel/prepare/{dataset}.log",
    conda:
        ENV
    threads: job_threads("clel_prepare")
    resources:
        **job_resources("clel_prepare"),
    shell:
        "latentrepro --log {log} prepare-arrays {wildcards.dataset} --raw {input.raw} --out {output}"


rule clel_classifier:
    input:
        data=f"{CLEL_DATA}/processed/{{dataset}}",
        code=code("train"),
    output:
        model=f"{CLEL_DIR}/checkpoints/{{dataset}}/fid_classifier.pt",
        history=f"{CLEL_DIR}/curves/{{dataset}}/fid_classifier.csv",
    log:
        "logs/clel/classifier/{dataset}.log",
    conda:
        ENV
    threads: job_threads("clel_classifier")
    resources:
        **job_resources("clel_classifier"),
    params:
        config=lambda w: json.dumps(
            clel_params.classifier_train_config(PARAMS, w.dataset), sort_keys=True
        ),
        resume=f"{CLEL_DIR}/resume/{{dataset}}/fid_classifier.pt",
    shell:
        "OMP_NUM_THREADS={threads} latentrepro --log {log} train --config {params.config:q}"
        " --data {input.data} --seed 0 --out {output.model} --history {output.history}"
        " --resume {params.resume}"


rule clel_classifier_evaluate:
    input:
        model=f"{CLEL_DIR}/checkpoints/{{dataset}}/fid_classifier.pt",
        data=f"{CLEL_DATA}/processed/{{dataset}}",
        raw=f"{CLEL_DATA}/raw/{{dataset}}",
    output:
        metrics=f"{CLEL_DIR}/metrics/{{dataset}}/fid_classifier.json",
        latents=temp(f"{CLEL_DIR}/metrics/{{dataset}}/fid_classifier.pt"),
    log:
        "logs/clel/classifier_evaluate/{dataset}.log",
    conda:
        ENV
    threads: job_threads("clel_classifier_evaluate")
    resources:
        **job_resources("clel_classifier_evaluate"),
    params:
        settings=(
            json.dumps(clel_params.classifier_evaluate_config(PARAMS), sort_keys=True)
            if CLEL
            else ""
        ),
        split=lambda w: PARAMS["clel"]["datasets"][w.dataset]["reference_split"],
    shell:
        "OMP_NUM_THREADS={threads} latentrepro --log {log} evaluate --checkpoint {input.model}"
        " --data {input.data} --split {params.split} --settings {params.settings:q} --seed 0"
        " --manifest {input.raw}/manifest.json --out {output.metrics}"
        " --latents {output.latents}"


rule clel_train:
    input:
        data=f"{CLEL_DATA}/processed/{{dataset}}",
        code=code("train"),
    output:
        model=f"{CLEL_DIR}/checkpoints/{{dataset}}/{{model}}/seed{{seed}}.pt",
        history=f"{CLEL_DIR}/curves/{{dataset}}/{{model}}/seed{{seed}}.csv",
    log:
        "logs/clel/train/{dataset}/{model}/seed{seed}.log",
    benchmark:
        f"{CLEL_DIR}/benchmarks/train/{{dataset}}/{{model}}/seed{{seed}}.tsv"
    conda:
        ENV
    threads: job_threads("clel_train")
    resources:
        **job_resources("clel_train"),
    params:
        config=lambda w: json.dumps(
            clel_params.clel_train_config(PARAMS, w.dataset, w.model), sort_keys=True
        ),
        resume=f"{CLEL_DIR}/resume/{{dataset}}/{{model}}/seed{{seed}}.pt",
    shell:
        "OMP_NUM_THREADS={threads} latentrepro --log {log} train --config {params.config:q}"
        " --data {input.data} --seed {wildcards.seed} --out {output.model}"
        " --history {output.history} --resume {params.resume}"


rule clel_evaluate:
    input:
        model=f"{CLEL_DIR}/checkpoints/{{dataset}}/{{model}}/seed{{seed}}.pt",
        classifier=lambda w: (
            f"{CLEL_DIR}/checkpoints/{w.dataset}/fid_classifier.pt"
            if CLEL_OWN_FID
            else []
        ),
        weights=[] if CLEL_OWN_FID else CLEL_WEIGHTS,
        data=f"{CLEL_DATA}/processed/{{dataset}}",
        raw=f"{CLEL_DATA}/raw/{{dataset}}",
        code=code("evaluate"),
    output:
        metrics=f"{CLEL_DIR}/metrics/runs/{{dataset}}/{{model}}/seed{{seed}}.json",
        samples=f"{CLEL_DIR}/samples/{{dataset}}/{{model}}/seed{{seed}}.pt",
    log:
        "logs/clel/evaluate/{dataset}/{model}/seed{seed}.log",
    conda:
        ENV
    threads: job_threads("clel_evaluate")
    resources:
        **job_resources("clel_evaluate"),
    params:
        settings=lambda w: json.dumps(
            clel_params.clel_evaluate_config(
                PARAMS,
                f"{CLEL_DIR}/checkpoints/{w.dataset}/fid_classifier.pt",
                f"{CLEL_DATA}/processed/{w.dataset}",
            ),
            sort_keys=True,
        ),
        split=lambda w: PARAMS["clel"]["datasets"][w.dataset]["reference_split"],
    shell:
        "OMP_NUM_THREADS={threads} latentrepro --log {log} evaluate --checkpoint {input.model}"
        " --data {input.data} --split {params.split} --settings {params.settings:q}"
        " --seed {wildcards.seed} --manifest {input.raw}/manifest.json"
        " --out {output.metrics} --latents {output.samples}"


rule clel_conditional:
    input:
        model=f"{CLEL_DIR}/checkpoints/{{dataset}}/{{model}}/seed{{seed}}.pt",
        classifier=f"{CLEL_DIR}/checkpoints/{{dataset}}/fid_classifier.pt",
        data=f"{CLEL_DATA}/processed/{{dataset}}",
        code=code("clel-conditional"),
    output:
        samples=f"{CLEL_DIR}/conditional/{{dataset}}/{{model}}/seed{{seed}}.pt",
        scores=f"{CLEL_DIR}/conditional/{{dataset}}/{{model}}/seed{{seed}}.json",
    log:
        "logs/clel/conditional/{dataset}/{model}/seed{seed}.log",
    conda:
        ENV
    threads: job_threads("clel_conditional")
    resources:
        **job_resources("clel_conditional"),
    params:
        settings=lambda w: json.dumps(
            {
                **CLEL["conditional"],
                "label": PARAMS["clel"]["datasets"][w.dataset]["label"],
            },
            sort_keys=True,
        ),
    shell:
        "OMP_NUM_THREADS={threads} latentrepro --log {log} clel-conditional"
        " --checkpoint {input.model} --classifier {input.classifier} --data {input.data}"
        " --settings {params.settings:q} --out {output.samples} --scores {output.scores}"


rule all_clel:
    input:
        clel_params.run_paths(
            CLEL_RUNS,
            f"{CLEL_DIR}/metrics/runs/{{dataset}}/{{model}}/seed{{seed}}.json",
        ),
        expand(
            f"{CLEL_DIR}/metrics/{{dataset}}/fid_classifier.json",
            dataset=CLEL_DATASETS,
        ),
        CLEL_CONDITIONAL,


rule clel_report:
    input:
        metrics=clel_params.run_paths(
            CLEL_RUNS,
            f"{CLEL_DIR}/metrics/runs/{{dataset}}/{{model}}/seed{{seed}}.json",
        ),
        histories=clel_params.run_paths(
            CLEL_RUNS, f"{CLEL_DIR}/curves/{{dataset}}/{{model}}/seed{{seed}}.csv"
        ),
        benchmarks=clel_params.run_paths(
            CLEL_RUNS,
            f"{CLEL_DIR}/benchmarks/train/{{dataset}}/{{model}}/seed{{seed}}.tsv",
        ),
        samples=clel_params.run_paths(
            CLEL_RUNS, f"{CLEL_DIR}/samples/{{dataset}}/{{model}}/seed{{seed}}.pt"
        ),
        conditional=CLEL_CONDITIONAL,
        classifier=expand(
            f"{CLEL_DIR}/metrics/{{dataset}}/fid_classifier.json",
            dataset=CLEL_DATASETS,
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
