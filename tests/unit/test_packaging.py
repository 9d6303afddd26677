"""The install path, the conda environment and the package's dependencies agree."""

import re
import tomllib

import yaml

from latentrepro.config import REPO_ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def _runtime_dependencies() -> list[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [_norm(re.split(r"[<>=!~ \[;]", dep)[0]) for dep in project["dependencies"]]


def test_torch_is_pinned_to_the_local_cpu_wheel_version():
    assert _pins()["torch"] == "2.13.0"


def test_every_dependency_and_extra_is_pinned():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    names = _runtime_dependencies() + [
        _norm(re.split(r"[<>=!~ \[;]", dep)[0])
        for extra in project["optional-dependencies"].values()
        for dep in extra
    ]
    missing = [name for name in names if name not in _pins()]
    assert not missing, f"not pinned in requirements/constraints.txt: {missing}"


def test_conda_envs_match_the_package_dependencies():
    pins = _pins()
    envs = sorted((REPO_ROOT / "workflow" / "envs").glob("*.yaml"))
    assert envs
    for env_file in envs:
        env = yaml.safe_load(env_file.read_text())
        pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        requirements = {}
        for item in pip_section:
            if item.startswith("-e"):
                assert (env_file.parent / item.split()[1]).resolve() == REPO_ROOT
                continue
            name, version = item.split("==")
            requirements[_norm(name)] = version
        assert sorted(requirements) == sorted(_runtime_dependencies()), env_file.name
        for name, version in requirements.items():
            assert version == pins[name], (
                f"{env_file.name}: {name}=={version}, constraints say {pins[name]}"
            )
        python = next(
            d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")
        )
        assert python == "python=3.11"


def test_every_rule_file_names_an_existing_conda_env():
    rules = sorted((REPO_ROOT / "workflow" / "rules").glob("*.smk"))
    common = (REPO_ROOT / "workflow" / "rules" / "common.smk").read_text()
    env = re.search(r'ENV = "(.+?)"', common).group(1)
    assert (REPO_ROOT / "workflow" / "rules" / env).resolve().is_file()
    for path in rules:
        text = path.read_text()
        shells = len(re.findall(r"^ +shell:$", text, re.M))
        condas = len(re.findall(r"^ +conda:\n +ENV$", text, re.M))
        assert condas == shells, f"{path.name}: a shell rule without conda"
