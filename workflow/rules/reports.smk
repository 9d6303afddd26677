# Tables and figures beyond each experiment's own (params.yaml `reports`): one rule per report
# the active profile has runs for, with the inputs its renderer reads and the files it writes
# (latentrepro.report.renderers), each calling `latentrepro render`.
from latentrepro.report.renderers import get_renderer

for report_name in lr.active_reports(PARAMS):
    renderer = get_renderer(PARAMS["reports"][report_name]["render"])

    rule:
        name:
            f"report_{report_name}"
        input:
            **report_inputs(report_name, renderer.reads),
            code=code("render"),
        output:
            [f"results/{path}" for path in renderer.outputs(report_name)],
        log:
            f"logs/reports/{report_name}.log",
        conda:
            ENV
        threads: job_threads(f"report_{report_name}")
        resources:
            **job_resources(f"report_{report_name}"),
        params:
            config=json.dumps(lr.report_config(PARAMS, report_name), sort_keys=True),
            # bound now (the default argument): a shell command is formatted when the job
            # runs, after the loop has moved on to the last report
            inputs=lambda w, input, reads=renderer.reads: " ".join(
                f"--{kind} {getattr(input, kind)}" for kind in reads
            ),
        shell:
            "latentrepro --log {log} render --config {params.config:q} {params.inputs}"
            " --results results"

    EXTRA_TARGETS += [f"results/{path}" for path in renderer.outputs(report_name)]
