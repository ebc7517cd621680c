"""Golden records: the bounds in tests/golden/NN_name.yaml that a notebook run's records must meet."""
from pathlib import Path

import yaml

GOLDEN = Path(__file__).parent / "golden"
TIMING = ("_seconds", "_rtf")  # records that measure time vary from run to run and are never golden


def is_timing(name: str) -> bool:
    return name.endswith(TIMING) or "_rtf_" in name


def load(notebook: str, section: str) -> dict:
    spec = yaml.safe_load((GOLDEN / f"{notebook}.yaml").read_text())
    return spec[section]


def check_value(name, value, rule) -> list[str]:
    problems = []
    if "equals" in rule and value != rule["equals"]:
        problems.append(f"{name} = {value!r}, expected {rule['equals']!r}")
    if isinstance(rule.get("approx"), dict):
        if not isinstance(value, dict) or set(value) != set(map(str, rule["approx"])):
            return [f"{name} = {value!r}, expected the keys {sorted(map(str, rule['approx']))}"]
        for key, expected in rule["approx"].items():
            problems += check_value(f"{name}[{key}]", value[str(key)], {**rule, "approx": expected})
        return problems
    if "approx" in rule:
        tol = rule.get("abs", 0.0) + rule.get("rel", 0.0) * abs(rule["approx"])
        if not abs(value - rule["approx"]) <= tol:
            problems.append(f"{name} = {value!r}, expected {rule['approx']} ± {tol:g}")
    if "min" in rule and not value >= rule["min"]:
        problems.append(f"{name} = {value!r} is below the minimum {rule['min']}")
    if "max" in rule and not value <= rule["max"]:
        problems.append(f"{name} = {value!r} is above the maximum {rule['max']}")
    if "each" in rule:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            problems += check_value(f"{name}[{key}]", item, rule["each"])
    return problems


def check(records: dict, spec: dict, require_all: bool = True) -> None:
    """Asserts every rule in ``spec``; with ``require_all`` every non-timing record must have a rule."""
    problems = []
    for name, rule in spec.items():
        if name not in records:
            problems.append(f"record {name!r} is missing")
        else:
            problems += check_value(name, records[name], rule)
    if require_all:
        unruled = sorted(n for n in records if n not in spec and not is_timing(n))
        if unruled:
            problems.append(f"records without a golden rule (add them to tests/golden/): {unruled}")
    assert not problems, "\n".join(problems)
