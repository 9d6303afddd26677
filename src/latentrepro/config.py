"""params.yaml: validation against the JSON schema, and resolution into per-job configurations.

Snakemake and the CLI both go through :func:`validate_params`, so a misspelled key or a wrong
type stops a run before any job starts, with the offending key named. The resolvers
(:func:`train_config`, :func:`evaluate_config`) cut out exactly the part of the parameters a
job depends on; Snakemake passes that as the job's ``params`` so that a change reruns only the
jobs it affects.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"


class ParamsError(ValueError):
    """params.yaml (or an override) is invalid; the message names every offending key."""


@dataclass(frozen=True, order=True)
class Run:
    """One training run: a model on a dataset with a seed."""

    dataset: str
    model: str
    seed: int


def load_params(
    path: str | Path = "params.yaml", overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read, override (dotted keys, e.g. ``{"profile": "paper"}``) and validate params."""
    with open(path, encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    for dotted, value in (overrides or {}).items():
        set_dotted(params, dotted, value)
    return validate_params(params)


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree[a][b][c] = value`` for ``dotted == "a.b.c"``, creating nothing silently."""
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        if not isinstance(node.get(key), dict):
            raise ParamsError(f"override {dotted!r}: {key!r} is not a section of params.yaml")
        node = node[key]
    node[leaf] = value


def validate_params(
    params: Mapping[str, Any],
    schema_path: Path = SCHEMA_PATH,
    overrides: Mapping[str, Any] | None = None,
    source: str = "--config",
) -> dict[str, Any]:
    """Check ``params`` against the schema and the cross-references between its sections.

    ``overrides`` is the nested tree given on the command line (Snakemake's ``--config``, whose
    nested values arrive as strings): its values are coerced to the schema's types
    (:func:`coerce_overrides`) and merged into ``params``, and a problem at one of its keys is
    reported as coming from ``source``. Returns a deep copy; raises :class:`ParamsError`
    listing every problem with its key path.
    """
    params = copy.deepcopy(dict(params))
    schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
    overridden: set[tuple[str, ...]] = set()
    if overrides:
        coerced = coerce_overrides(overrides, schema)
        _merge(params, coerced)
        overridden = set(_leaf_paths(coerced))
    # Entries that extend another are resolved first: the schema checks complete entries (a
    # child gives only the keys it changes); a key it misspells stays and is reported there.
    written = {section: params.get(section) for section in EXTENDABLE}
    try:
        for section in EXTENDABLE:
            if isinstance(params.get(section), dict):
                params[section] = resolve_extends(params[section], section)
    except ParamsError as err:
        problems = [str(err)]
    else:
        validator = jsonschema.Draft202012Validator(schema)
        problems = _schema_problems(validator, params, overridden, source)
        problems = [p for p in problems if not _inherited(p, written)]
    if not problems:
        problems = _cross_reference_problems(params, schema)
    if problems:
        where = f"params.yaml with {source} overrides" if overrides else "params.yaml"
        raise ParamsError(f"invalid {where}:\n  " + "\n  ".join(problems))
    return params


def _schema_problems(
    validator: jsonschema.Validator, params: dict[str, Any], overridden: set, source: str
) -> list[str]:
    errors = sorted(validator.iter_errors(params), key=lambda e: e.json_path)
    problems = [_describe(err) + _blame(err, overridden, source) for err in errors]
    reported = {problem.partition(":")[0] for problem in problems}
    return problems + [
        p for p in non_finite_problems(params) if p.partition(":")[0] not in reported
    ]


def _inherited(problem: str, written: Mapping[str, Any]) -> bool:
    """Whether ``problem`` sits at a key an extending entry took from its parent (it is
    reported where it is written, at the parent)."""
    parts = problem.partition(":")[0].split(".")
    if len(parts) < 3 or not isinstance(written.get(parts[0]), dict):
        return False
    node = written[parts[0]].get(parts[1])
    if not isinstance(node, dict) or "extends" not in node:
        return False
    for key in parts[2:]:
        if not isinstance(node, dict):
            return False  # inside a list or scalar the entry wrote whole
        if key not in node:
            return True
        node = node[key]
    return False


#: Sections whose entries may name the entry they build on (``extends``), and per section the
#: keys a child replaces whole rather than merging (a profile's experiments are its own grid).
EXTENDABLE: dict[str, tuple[str, ...]] = {"profiles": ("experiments",), "models": ()}


def resolve_extends(
    section: Mapping[str, Any], where: str, replace: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Every entry of ``section`` with its ``extends`` resolved, and the key removed.

    An entry ``{extends: parent, ...}`` is ``parent``'s resolved entry with the entry's own keys
    over it (:func:`merge_over`), so each setting is written once: a CPU profile that differs
    from another in its budget names that profile and gives its ``train`` keys only. Chains
    are followed; an unknown parent or a circle is a :class:`ParamsError` naming the key.
    """
    replace = EXTENDABLE.get(where, ()) if replace is None else replace
    resolved: dict[str, dict[str, Any]] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        entry = dict(section[name]) if isinstance(section[name], dict) else section[name]
        parent = entry.pop("extends", None) if isinstance(entry, dict) else None
        if parent is not None:
            if not isinstance(parent, str) or parent not in section:
                raise ParamsError(
                    f"{where}.{name}.extends: {parent!r} is not one of {where}: {sorted(section)}"
                )
            if parent in chain:
                circle = " -> ".join([*chain[chain.index(parent) :], parent])
                raise ParamsError(f"{where}.{name}.extends: a circle ({circle})")
            entry = merge_over(resolve(parent, (*chain, parent)), entry, replace)
        resolved[name] = entry
        return entry

    return {name: copy.deepcopy(resolve(name, (name,))) for name in section}


def merge_over(
    base: Mapping[str, Any], child: Mapping[str, Any], replace: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``child``'s keys over ``base``: mappings merged key by key at every depth, except those
    under a key of ``replace`` and a mapping naming a different component than the one it
    replaces (its ``name``: a ``kl`` regulariser keeps none of a ``density_gap`` one's keys);
    lists and scalars replace."""
    merged = copy.deepcopy(dict(base))
    for key, value in child.items():
        old = merged.get(key)
        same = (
            isinstance(old, dict)
            and isinstance(value, dict)
            and key not in replace
            and value.get("name", old.get("name")) == old.get("name")
        )
        merged[key] = merge_over(old, value) if same else copy.deepcopy(value)
    return merged


def coerce_overrides(overrides: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` with every string leaf the schema does not take as a string parsed as YAML
    (``"60"`` -> 60, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"null"`` -> None), walking the
    schema's ``properties``, ``additionalProperties``, ``items`` and ``$ref`` alongside.

    Snakemake parses ``--config 'profiles={smoke: {train: {epochs: 60}}}'`` with YAML's base
    loader, which leaves every nested scalar a string. A leaf the schema knows nothing about
    (a misspelled key) is parsed as YAML too, and left for validation to name.
    """
    return _coerce(dict(overrides), schema, schema)


def _coerce(value: Any, node: Mapping[str, Any] | None, root: Mapping[str, Any]) -> Any:
    node = _resolve(node, root)
    if isinstance(value, dict):
        return {key: _coerce(item, _child(node, key), root) for key, item in value.items()}
    if isinstance(value, list):
        items = (node or {}).get("items")
        return [_coerce(item, items, root) for item in value]
    if not isinstance(value, str):
        return value
    types = _types(node)
    if "null" in types and value in ("null", "Null", "NULL", "~"):
        return None
    if "string" in types:
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _resolve(node: Mapping[str, Any] | None, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    while node is not None and "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = root["$defs"][name]
    return node


def _child(node: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    if node is None:
        return None
    if key in node.get("properties", {}):
        return node["properties"][key]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _types(node: Mapping[str, Any] | None) -> set[str]:
    """JSON types a schema node accepts; an ``enum`` or ``const`` of strings accepts strings."""
    if node is None:
        return set()
    declared = node.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    members = node.get("enum", []) + ([node["const"]] if "const" in node else [])
    types |= {"string" for member in members if isinstance(member, str)}
    return types


def _merge(tree: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Nested update, as Snakemake merges ``--config`` into the config file."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(tree.get(key), dict):
            _merge(tree[key], value)
        else:
            tree[key] = value


def _leaf_paths(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, value in tree.items():
        here = (*prefix, str(key))
        paths += _leaf_paths(value, here) if isinstance(value, dict) and value else [here]
    return paths


def _blame(err: jsonschema.ValidationError, overridden: set[tuple[str, ...]], source: str) -> str:
    """`` (from SOURCE)`` when the problem lies at or under a value given on the command line,
    or is an unknown key that the command line added."""
    path = tuple(str(p) for p in err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        wrong = {(*path, str(k)) for k in err.instance} - {
            (*path, str(k)) for k in err.schema.get("properties", {})
        }
    else:
        wrong = {path}
    hit = any(o[: len(w)] == w or w[: len(o)] == o for o in overridden for w in wrong)
    return f" (from {source})" if hit else ""


def non_finite_problems(tree: Any, where: str = "") -> list[str]:
    """Every NaN or infinite number in ``tree``, by key path.

    JSON schema's bounds do not catch them (``nan > 0`` and ``nan <= 0`` are both false, and
    ``.inf`` satisfies every lower bound), and no setting of this project means "infinite":
    a ``.nan`` learning rate would otherwise fail only at the first training step.
    """
    if isinstance(tree, dict):
        return [
            problem
            for key, value in tree.items()
            for problem in non_finite_problems(value, f"{where}.{key}" if where else str(key))
        ]
    if isinstance(tree, list):
        return [
            problem
            for index, value in enumerate(tree)
            for problem in non_finite_problems(value, f"{where}.{index}")
        ]
    if isinstance(tree, float) and not math.isfinite(tree):
        return [f"{where or '(top level)'}: {tree} is not a finite number"]
    return []


def _describe(err: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"{where}: unknown key {', '.join(map(repr, extra))}{hint}"
    return f"{where}: {err.message}"


def _cross_reference_problems(params: dict[str, Any], schema: Mapping[str, Any]) -> list[str]:
    from latentrepro.data.registry import REGISTRY

    problems = _schedule_problems(params) + _pairing_problems(params)
    problems += [
        f"reports.{name}.samples: {spec['samples']!r} has no entry under samples"
        for name, spec in params.get("reports", {}).items()
        if "samples" in spec and spec["samples"] not in params.get("samples", {})
    ]
    if params["profile"] not in params["profiles"]:
        problems.append(
            f"profile: {params['profile']!r} is not one of profiles: {sorted(params['profiles'])}"
        )
    for pname, profile in params["profiles"].items():
        for ename, exp in profile["experiments"].items():
            where = f"profiles.{pname}.experiments.{ename}"
            for dataset in exp["datasets"]:
                if dataset not in params["datasets"]:
                    problems.append(f"{where}.datasets: {dataset!r} has no entry under datasets")
                if dataset not in REGISTRY:
                    problems.append(f"{where}.datasets: {dataset!r} is not a registered dataset")
            known = [m for m in exp["models"] if m in params["models"]]
            for model in exp["models"]:
                if model not in params["models"]:
                    problems.append(f"{where}.models: {model!r} has no entry under models")
            problems += _experiment_model_problems(params, schema, exp, known, where)
            for model in known:
                family = params["models"][model]["arch"]
                networks = model_archs(params, model)
                for dataset in exp["datasets"]:
                    if dataset not in networks:
                        problems.append(
                            f"{where}: model {model!r} needs archs.{family}.{dataset}, which is missing"
                        )
                problems += _batch_chunk_problems(params, model, pname, ename)
        # The tools experiments name (extractors, classifiers, scorers) are checked once every
        # experiment is sound, all of them, so that one experiment's problem does not hide
        # another's.
        if not problems:
            for ename, exp in profile["experiments"].items():
                where = f"profiles.{pname}.experiments.{ename}"
                problems += _image_problems(params, profile, exp, where)
                problems += _text_classifier_problems(params, exp, where)
                problems += _sample_problems(params, schema, profile, ename, exp, where)
        problems += _job_problems(params, profile, pname)
    return sorted(set(problems), key=problems.index)


def _experiment_model_problems(
    params: dict[str, Any],
    schema: Mapping[str, Any],
    exp: Mapping[str, Any],
    models: list[str],
    where: str,
) -> list[str]:
    """An experiment's ``model`` and ``per_model`` settings, merged over its models, must give
    valid models (a misspelled key or a wrong type is named at the experiment)."""
    problems = [
        f"{where}.per_model: {name!r} is not a model of the experiment ({exp['models']})"
        for name in exp.get("per_model", {})
        if name not in exp["models"]
    ]
    if not (exp.get("model") or exp.get("per_model")):
        return problems
    validator = jsonschema.Draft202012Validator({"$ref": "#/$defs/model", "$defs": schema["$defs"]})
    for model in models:
        merged = settings_of(params, model, exp)
        for err in sorted(validator.iter_errors(merged), key=lambda e: e.json_path):
            problems.append(f"{where} (model {model!r}): " + _describe(err))
    return problems


def _batch_chunk_problems(params: dict[str, Any], model: str, pname: str, ename: str) -> list[str]:
    """DG-VAE's chunk size |b| must divide the batch size of every experiment that trains it."""
    chunk = params["models"][model].get("regulariser", {}).get("batch_chunk")
    profile = params["profiles"][pname]
    override = profile["experiments"][ename].get("train", {})
    where = (
        f"profiles.{pname}.experiments.{ename}" if "batch_size" in override else f"profiles.{pname}"
    )
    batch = {**profile["train"], **override}["batch_size"]
    if chunk is None or batch % chunk == 0:
        return []
    return [
        f"models.{model}.regulariser.batch_chunk: |b| = {chunk} does not divide "
        f"{where}.train.batch_size = {batch}"
    ]


def _job_problems(params: dict[str, Any], profile: dict[str, Any], pname: str) -> list[str]:
    """A (dataset, model) job is one checkpoint and one evaluation, so every experiment that
    lists it must give it the same training budget, model settings and estimator settings."""
    problems = []
    seen: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for ename, exp in profile["experiments"].items():
        for dataset, model in itertools.product(exp["datasets"], exp["models"]):
            if model not in params["models"]:
                continue
            job = {
                "train": budget_of(profile["train"], exp.get("train", {})),
                "model": settings_of(params, model, exp),
                "evaluate": _exp_evaluate(profile, exp),
            }
            first_name, first = seen.setdefault((dataset, model), (ename, job))
            for part in job:
                if first[part] != job[part]:
                    problems.append(
                        f"profiles.{pname}.experiments: {model!r} on {dataset!r} is in "
                        f"experiments {first_name!r} and {ename!r} with different {part} "
                        f"settings ({first[part]} and {job[part]}); give them the same {part} block"
                    )
    return problems


def _image_problems(
    params: dict[str, Any], profile: dict[str, Any], exp: Mapping[str, Any], where: str
) -> list[str]:
    """Cross-references of image experiments: registered image datasets, a replay buffer
    that holds a batch and the FID samples, Normalize statistics per channel, and FID
    extractors that are classifier runs on the same dataset."""
    from latentrepro.data.registry import REGISTRY

    families = {m: params["models"][m]["arch"] for m in exp["models"]}
    image_models = [m for m, family in families.items() if family.startswith("image_")]
    if not image_models:
        return []
    problems = [
        f"{where}.datasets: {dataset!r} is not a registered image dataset"
        for dataset in exp["datasets"]
        if REGISTRY[dataset].kind != "images"
    ]
    block = _exp_evaluate(profile, exp)
    batch = budget_of(profile["train"], exp.get("train", {}))["batch_size"]
    for model in (m for m in image_models if families[m] == "image_ebm"):
        settings = settings_of(params, model, exp)
        buffer = settings["replay_buffer"]["size"]
        if buffer < batch:
            problems.append(
                f"{where} (model {model!r}): replay_buffer.size {buffer} is smaller than the "
                f"batch (train.batch_size {batch}); each step draws a batch of distinct entries"
            )
        for key in ("fid", "extractor"):
            if key not in block:
                problems.append(f"{where}.evaluate.{key}: needed by the image_ebm model {model!r}")
        fid = block.get("fid", {})
        if fid.get("protocol") == "replay" and fid["samples"] > buffer:
            problems.append(
                f"{where}.evaluate.fid.samples: {fid['samples']} exceeds replay_buffer.size "
                f"{buffer} of {model!r} (evaluation samples are distinct buffer chains)"
            )
        for dataset in exp["datasets"]:
            stats = arch_config(params, dataset, model).get("normalize")
            if stats and len(stats["mean"]) != len(stats["std"]):
                problems.append(
                    f"archs.image_ebm.{dataset}.normalize: {len(stats['mean'])} means but "
                    f"{len(stats['std'])} stds"
                )
    tool = block.get("extractor", {}).get("model")
    if tool is not None:
        key = f"{where}.evaluate.extractor.model"
        problems += _tool_problems(params, profile, exp, key, tool, "extractor")
    return problems


def _text_classifier_problems(
    params: dict[str, Any], exp: Mapping[str, Any], where: str
) -> list[str]:
    """A text_classifier trains on text datasets only (it reads their vocabulary and tokens)."""
    from latentrepro.data.registry import REGISTRY

    return [
        f"{where}.datasets: {dataset!r} is not a registered text dataset (the text_classifier "
        f"model {model!r} trains on it)"
        for model in exp["models"]
        if params["models"][model]["arch"] == "text_classifier"
        for dataset in exp["datasets"]
        if REGISTRY[dataset].kind != "text"
    ]


#: Per role of a tool run, the family it must be of, by the kind of data it serves: FID
#: features come from an image classifier; a scorer is the classifier of the data's kind.
TOOL_FAMILIES: dict[str, dict[str, str]] = {
    "extractor": {"images": "image_classifier"},
    "scorer": {"images": "image_classifier", "text": "text_classifier"},
}


def _tool_problems(
    params: dict[str, Any],
    profile: dict[str, Any],
    exp: Mapping[str, Any],
    key: str,
    tool: str,
    role: str,
) -> list[str]:
    """A run used as a tool in ``role`` (:data:`TOOL_FAMILIES`: an FID extractor, a scorer)
    must be of the family that role takes for the kind of each of the experiment's datasets,
    and an experiment of the same profile must train it on each of them."""
    from latentrepro.data.registry import REGISTRY

    family = params["models"].get(tool, {}).get("arch")
    problems = []
    for dataset in exp["datasets"]:
        kind = REGISTRY[dataset].kind
        wanted = TOOL_FAMILIES[role].get(kind)
        if wanted is None:
            problems.append(f"{key}: no {role} serves {kind} data ({dataset!r})")
        elif family != wanted:
            article = "an" if wanted[0] in "aeiou" else "a"
            problems.append(f"{key}: {tool!r} is not {article} {wanted} model")
        elif _first_seed(profile, dataset, tool) is None:
            problems.append(f"{key}: no experiment of the profile trains {tool!r} on {dataset!r}")
    return list(dict.fromkeys(problems))


def _sample_problems(
    params: dict[str, Any],
    schema: Mapping[str, Any],
    profile: dict[str, Any],
    ename: str,
    exp: Mapping[str, Any],
    where: str,
) -> list[str]:
    """An experiment's samples: its own settings must belong to a kind that draws from it, and
    every kind drawing from it must resolve to valid settings with a tool of the profile
    (and, for conditional samples, guided image models)."""
    kinds = params.get("samples", {})
    problems = [
        f"{where}.samples.{kind}: samples.{kind} does not draw from experiment {ename!r}"
        for kind in exp.get("samples", {})
        if ename not in kinds.get(kind, {}).get("experiments", [])
    ]
    for kind, spec in kinds.items():
        if ename not in spec["experiments"]:
            continue
        merged = _sample_spec(params, kind, exp)
        definition = {"$ref": f"#/$defs/samples/properties/{kind}", "$defs": schema["$defs"]}
        validator = jsonschema.Draft202012Validator(definition)
        errors = sorted(validator.iter_errors(merged), key=lambda e: e.json_path)
        problems += [f"{where} (samples.{kind}): " + _describe(err) for err in errors]
        if errors:
            continue
        if kind in SAMPLE_TOOLS:
            key = f"{where} (samples.{kind}.{SAMPLE_TOOLS[kind]})"
            tool = merged[SAMPLE_TOOLS[kind]]
            problems += _tool_problems(params, profile, exp, key, tool, SAMPLE_TOOLS[kind])
        for model in (m for m in merged["models"] if m in exp["models"]):
            problem = _sampled_model_problem(kind, settings_of(params, model, exp))
            if problem:
                problems.append(f"{where} (samples.{kind}.models): {model!r} is not {problem}")
    return problems


def _sampled_model_problem(kind: str, settings: Mapping[str, Any]) -> str | None:
    """What a model drawn from by ``kind`` samples must be, when it is not that."""
    if kind == "conditional" and (settings["arch"] != "image_ebm" or not settings.get("guidance")):
        return "a guided image_ebm model"
    if kind == "responses" and settings["arch"] != "dialogue_vae":
        return "a dialogue_vae model"
    label = settings.get("regulariser", {}).get("cluster", {}).get("label")
    if kind == "controlled" and (settings["arch"] != "symbol_vae" or not label):
        return "a symbol_vae model with symbols trained on a label (regulariser.cluster.label)"
    return None


def _schedule_problems(params: dict[str, Any]) -> list[str]:
    """Diffusion levels must be strictly increasing (JSON schema cannot say so)."""
    problems = []
    for name, model in params["models"].items():
        levels = model.get("prior", {}).get("diffusion", {}).get("levels")
        if levels is not None and any(b <= a for a, b in itertools.pairwise(levels)):
            problems.append(
                f"models.{name}.prior.diffusion.levels: must be strictly increasing, got {levels}"
            )
    return problems


#: Priors whose density carries an estimated normaliser; their latent term is the ``ebm``
#: regulariser's KL surrogate (the others need a normalised log p(z) during training).
EBM_PRIORS = ("lebm", "svebm", "ldebm")


def _pairing_problems(params: dict[str, Any]) -> list[str]:
    """An EBM prior trains with the ``ebm`` regulariser and the ``ebm`` regulariser only with
    an EBM prior (caught here rather than by a non-finite loss or an error mid-training)."""
    problems = []
    for name, model in params["models"].items():
        if "prior" not in model or "regulariser" not in model:
            continue  # image families: no prior, no regulariser (the schema requires both elsewhere)
        prior, regulariser = model["prior"]["name"], model["regulariser"]["name"]
        where = f"models.{name}.regulariser.name"
        if prior in EBM_PRIORS and regulariser != "ebm":
            problems.append(
                f"{where}: prior {prior!r} needs the 'ebm' regulariser, got {regulariser!r}"
            )
        elif regulariser == "ebm" and prior not in EBM_PRIORS:
            problems.append(f"{where}: 'ebm' needs one of the priors {EBM_PRIORS}, got {prior!r}")
    return problems


def active_profile(params: Mapping[str, Any]) -> dict[str, Any]:
    return params["profiles"][params["profile"]]


def experiments(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The active profile's experiments: name -> {datasets, models}."""
    return active_profile(params)["experiments"]


def runs(params: Mapping[str, Any], experiment: str | None = None) -> list[Run]:
    """Every (dataset, model, seed) the active profile trains, sorted and without repeats;
    an experiment's own ``seeds`` replace the profile's for its runs."""
    profile = active_profile(params)
    chosen = experiments(params)
    if experiment is not None:
        chosen = {experiment: chosen[experiment]}
    return sorted(
        {
            Run(dataset, model, seed)
            for exp in chosen.values()
            for dataset in exp["datasets"]
            for model in exp["models"]
            for seed in _seeds(profile, exp)
        }
    )


def trained_run(params: Mapping[str, Any], dataset: str, model: str) -> Run:
    """The run whose checkpoint other jobs use as a tool (an FID feature extractor, a scorer):
    ``model`` on ``dataset`` with the first seed of the first experiment that trains it."""
    seed = _first_seed(active_profile(params), dataset, model)
    if seed is None:
        raise ParamsError(
            f"profiles.{params['profile']}.experiments: no experiment trains {model!r} on "
            f"{dataset!r}"
        )
    return Run(dataset, model, seed)


def _first_seed(profile: Mapping[str, Any], dataset: str, model: str) -> int | None:
    exp = _experiment_of(profile, dataset, model)
    return _seeds(profile, exp)[0] if exp else None


def _seeds(profile: Mapping[str, Any], exp: Mapping[str, Any]) -> list[int]:
    """An experiment's own ``seeds``, else the profile's."""
    return exp.get("seeds", profile["seeds"])


def _exp_evaluate(profile: Mapping[str, Any], exp: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's ``evaluate`` with the experiment's ``evaluate`` keys over it."""
    return merge_over(profile.get("evaluate", {}), exp.get("evaluate", {}))


def datasets(params: Mapping[str, Any]) -> list[str]:
    return sorted({run.dataset for run in runs(params)})


def dataset_config(params: Mapping[str, Any], dataset: str) -> dict[str, Any]:
    return {"name": dataset, **params["datasets"][dataset]}


def _experiment_of(profile: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """The first experiment of ``profile`` that runs ``model`` on ``dataset`` (validation makes
    every experiment that lists the pair resolve to the same job settings), else ``{}``."""
    for exp in profile["experiments"].values():
        if dataset in exp["datasets"] and model in exp["models"]:
            return exp
    return {}


def budget_of(profile_train: Mapping[str, Any], exp_train: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's ``train`` with an experiment's ``train`` keys over it; a budget given in
    ``iterations`` replaces one in ``epochs`` and the other way round."""
    budget = {**profile_train, **exp_train}
    for given, replaced in (("iterations", "epochs"), ("epochs", "iterations")):
        if given in exp_train:
            budget.pop(replaced, None)
    return budget


def experiment_budget(profile: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """The training budget of ``model`` on ``dataset`` in ``profile`` (:func:`budget_of` of
    the experiment that runs them)."""
    return budget_of(profile["train"], _experiment_of(profile, dataset, model).get("train", {}))


def settings_of(params: Mapping[str, Any], model: str, exp: Mapping[str, Any]) -> dict[str, Any]:
    """``models.<model>`` with the experiment's ``model`` settings, then its
    ``per_model.<model>`` ones, merged over it (:func:`merge_over`)."""
    merged = merge_over(params["models"][model], exp.get("model", {}))
    return merge_over(merged, exp.get("per_model", {}).get(model, {}))


def model_settings(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """The settings of ``model`` in the job that trains it on ``dataset`` (:func:`settings_of`
    of the experiment that runs them)."""
    return settings_of(params, model, _experiment_of(active_profile(params), dataset, model))


def train_config(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """Everything a training job depends on (and nothing more)."""
    profile = active_profile(params)
    model_cfg = model_settings(params, dataset, model)
    return {
        "dataset": dataset_config(params, dataset),
        "model": {"name": model, **model_cfg},
        "arch": {**arch_config(params, dataset, model), **_latent_override(model_cfg)},
        "train": experiment_budget(profile, dataset, model),
        "device": profile["device"],
    }


def model_archs(params: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The networks of ``model`` by dataset: ``archs.<family>``, with the model's own
    ``archs`` entries (a paper-size network next to a CPU-size one) in place of those."""
    model_cfg = params["models"][model]
    return {**params["archs"].get(model_cfg["arch"], {}), **model_cfg.get("archs", {})}


def arch_config(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """The network of ``model`` on ``dataset`` (see :func:`model_archs`)."""
    return dict(model_archs(params, model)[dataset])


def _latent_override(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A model may override the latent size of its architecture (DG-VAE's 2-D runs)."""
    return {"latent_dim": model_cfg["latent_dim"]} if "latent_dim" in model_cfg else {}


_TEXT_EVALUATE = (
    "iw_samples", "iw_chunk", "batch_size", "batching", "mi_aggregate", "mi_batch_size",
    "whole_sentences", "au_threshold", "max_sentences", "hole_samples", "cu_threshold",
)  # fmt: skip
#: The ``evaluate`` keys each model family reads (its slice of a profile's estimator
#: settings): a setting only one family reads reruns that family's evaluations only.
EVALUATE_KEYS: dict[str, tuple[str, ...]] = {
    "lstm_vae": _TEXT_EVALUATE,
    "symbol_vae": (*_TEXT_EVALUATE, "generation"),
    "dialogue_vae": ("batch_size", "responses"),
    "point_ebm": (),
    "image_ebm": ("fid", "extractor"),
    "image_classifier": ("batch_size",),
    "text_classifier": ("batch_size",),
}


def _evaluate_block(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """The profile's ``evaluate`` with the ``evaluate`` keys of the experiment that runs
    ``model`` on ``dataset`` over it."""
    profile = active_profile(params)
    return _exp_evaluate(profile, _experiment_of(profile, dataset, model))


def evaluate_config(params: Mapping[str, Any], dataset: str, model: str) -> dict[str, Any]:
    """The estimator settings of one evaluation job: the keys of the model's family
    (:data:`EVALUATE_KEYS`) of :func:`_evaluate_block`, and the device."""
    block = _evaluate_block(params, dataset, model)
    keys = EVALUATE_KEYS[params["models"][model]["arch"]]
    return {
        "evaluate": {key: block[key] for key in keys if key in block},
        "device": active_profile(params)["device"],
    }


def evaluate_split(params: Mapping[str, Any], dataset: str, model: str) -> str:
    """The split an evaluation job scores (``evaluate.split``, default ``test``)."""
    return _evaluate_block(params, dataset, model).get("split", "test")


def _sample_spec(params: Mapping[str, Any], kind: str, exp: Mapping[str, Any]) -> dict[str, Any]:
    """``samples.<kind>`` with the experiment's own ``samples.<kind>`` keys over it."""
    return merge_over(params.get("samples", {})[kind], exp.get("samples", {}).get(kind, {}))


def _sampled(params: Mapping[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(experiment name, experiment) of the active profile that ``samples.<kind>`` draws from."""
    spec = params.get("samples", {}).get(kind)
    if spec is None:
        return []
    return [(name, exp) for name, exp in experiments(params).items() if name in spec["experiments"]]


def sample_runs(params: Mapping[str, Any], kind: str) -> list[Run]:
    """The runs ``kind`` samples are drawn from: the kind's models of its experiments."""
    profile = active_profile(params)
    return sorted(
        {
            Run(dataset, model, seed)
            for _, exp in _sampled(params, kind)
            for dataset in exp["datasets"]
            for model in exp["models"]
            if model in _sample_spec(params, kind, exp)["models"]
            for seed in _seeds(profile, exp)
        }
    )


def _sampling_experiment(
    params: Mapping[str, Any], kind: str, dataset: str, model: str
) -> dict[str, Any]:
    for _, exp in _sampled(params, kind):
        if dataset in exp["datasets"] and model in exp["models"]:
            return exp
    raise ParamsError(f"samples.{kind}: drawn from no run of {model!r} on {dataset!r}")


#: Per kind of samples, the key naming the run of another model the sampler uses as a tool.
SAMPLE_TOOLS = {"conditional": "scorer", "controlled": "scorer"}


def sample_config(params: Mapping[str, Any], kind: str, dataset: str, model: str) -> dict[str, Any]:
    """The settings of ``kind`` samples of ``model`` on ``dataset`` (which runs, and the tool,
    are the job's inputs, not its settings)."""
    spec = _sample_spec(params, kind, _sampling_experiment(params, kind, dataset, model))
    drop = {"experiments", "models", SAMPLE_TOOLS.get(kind)}
    return {key: value for key, value in spec.items() if key not in drop}


def sample_tool(params: Mapping[str, Any], kind: str, dataset: str, model: str) -> Run | None:
    """The run whose checkpoint the ``kind`` sampler of ``model`` on ``dataset`` uses (the
    classifier scoring conditional samples), or None."""
    key = SAMPLE_TOOLS.get(kind)
    if key is None:
        return None
    spec = _sample_spec(params, kind, _sampling_experiment(params, kind, dataset, model))
    return trained_run(params, dataset, spec[key])


def active_reports(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``reports`` the active profile builds: those with runs to draw from."""
    return {
        name: spec
        for name, spec in params.get("reports", {}).items()
        if report_runs(params, name) or report_samples(params, name)
    }


def report_runs(params: Mapping[str, Any], name: str) -> list[Run]:
    """The runs of the experiments a report reads that the active profile has."""
    spec = params["reports"][name]
    chosen = [e for e in spec.get("experiments", []) if e in experiments(params)]
    return sorted({run for e in chosen for run in runs(params, e)})


def report_samples(params: Mapping[str, Any], name: str) -> list[Run]:
    """The runs whose samples (of the report's ``samples`` kind) a report reads: of its
    experiments' runs where it names experiments, else all of them."""
    spec = params["reports"][name]
    if "samples" not in spec:
        return []
    drawn = sample_runs(params, spec["samples"])
    return [r for r in drawn if r in report_runs(params, name)] if "experiments" in spec else drawn


def report_config(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    """What a report depends on besides its input files: its own settings, the grid of its
    experiments (in params order) and the settings of their models."""
    spec = dict(params["reports"][name])
    chosen = {
        e: experiments(params)[e] for e in spec.pop("experiments", []) if e in experiments(params)
    }
    models = {m for exp in chosen.values() for m in exp["models"]}
    return {
        "name": name,
        **spec,
        "experiments": {
            e: {"datasets": x["datasets"], "models": x["models"]} for e, x in chosen.items()
        },
        "models": {m: params["models"][m] for m in sorted(models)},
    }


def family_runs(params: Mapping[str, Any], family: str) -> list[Run]:
    """The active profile's runs of the models of one family (``arch``)."""
    return [run for run in runs(params) if params["models"][run.model]["arch"] == family]


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, order-independent hash of a resolved configuration."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def uses_conda(workflow: Any) -> bool:
    """Whether a Snakemake workflow runs its jobs in conda environments (--use-conda)."""
    settings = getattr(workflow, "deployment_settings", None)
    methods = getattr(settings, "deployment_method", ()) or ()
    return any(str(getattr(method, "name", method)).lower() == "conda" for method in methods)
