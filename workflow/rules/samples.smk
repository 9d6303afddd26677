# Samples drawn from trained runs beyond their evaluation (params.yaml `samples`): DG-VAE's
# interpolation paths, CLEL's conditional samples. One rule for every kind; a kind that uses
# another run (the classifier scoring conditional samples) takes its checkpoint as an input.


wildcard_constraints:
    kind="|".join(PARAMS.get("samples", {})) or "no_samples",


rule sample:
    input:
        model="results/checkpoints/{dataset}/{model}/seed{seed}/model.pt",
        data=f"{DATA}/processed/{{dataset}}",
        tool=sample_tool_input,
        code=code("sample"),
    output:
        samples="results/samples/{kind}/{dataset}/{model}/seed{seed}.pt",
        record="results/samples/{kind}/{dataset}/{model}/seed{seed}.json",
    log:
        "logs/sample/{kind}/{dataset}/{model}/seed{seed}.log",
    conda:
        ENV
    threads: job_threads("sample")
    resources:
        **job_resources("sample"),
    params:
        settings=lambda w: json.dumps(
            lr.sample_config(PARAMS, w.kind, w.dataset, w.model), sort_keys=True
        ),
        tool=lambda w, input: f"--tool {input.tool}" if input.tool else "",
    shell:
        "latentrepro --log {log} sample {wildcards.kind} --checkpoint {input.model}"
        " --data {input.data} --seed {wildcards.seed} --settings {params.settings:q}"
        " {params.tool} --out {output.samples} --record {output.record}"
