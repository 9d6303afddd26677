# latentrepro: download -> tokenize -> train -> evaluate -> report.
# Everything that varies lives in params.yaml; the rules only call the `latentrepro` CLI.


configfile: "params.yaml"
# Overrides written by `dvc exp run -S 'overrides.yaml:++KEY=VALUE'`, over params.yaml;
# --config goes over both.
configfile: "overrides.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/samples.smk"
include: "workflow/rules/reports.smk"


rule all:
    default_target: True
    input:
        rules.report.output,
        EXTRA_TARGETS,


check_resource_rules()
