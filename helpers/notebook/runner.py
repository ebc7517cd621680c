"""The notebook runner: executes notebooks with papermill under a profile, and refreshes committed ones.

Used by ``make run/smoke/refresh/models`` (through ``python -m helpers``) and by the notebook tests.

- Profiles (``notebooks/profiles.yaml``) hold per-notebook parameter overrides; ``default`` is the notebooks'
  own parameters. A profile entry for a notebook that does not exist, or a parameter name that the notebook's
  ``parameters`` cell does not define, is rejected before anything runs (papermill itself only warns).
- The kernel inherits an environment set before it starts, so that huggingface_hub, which reads its settings
  at import time, sees them: offline unless the profile says otherwise, no hub progress bars.
"""
from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..core.checks import check_like
from ..core.records import read_records

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PROFILES = NOTEBOOKS / "profiles.yaml"
VOLATILE_CELL_METADATA = ("papermill", "execution")


def list_notebooks(selection=None, directory: Path = NOTEBOOKS) -> list[Path]:
    """The numbered notebooks, all or those named in ``selection`` (``"01"``, ``"01_signal_basics"`` or a file name)."""
    available = sorted(directory.glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return available
    chosen = []
    for item in [selection] if isinstance(selection, str) else selection:
        key = Path(str(item)).stem
        matches = [p for p in available if p.stem == key or p.stem.split("_")[0] == key]
        if not matches:
            raise ValueError(f"no notebook {item!r}; choose from {[p.stem for p in available]}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def notebook_parameters(path: Path) -> dict:
    """The names and default values of the notebook's ``parameters`` cell (which holds literals only)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{Path(path).name} must have exactly one cell tagged 'parameters', found {len(cells)}")
    params = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            params[node.targets[0].id] = ast.literal_eval(node.value)
    return params


def check_parameters(path: Path, parameters: dict) -> None:
    """Raises ValueError if ``parameters`` names anything the notebook's parameters cell does not define, or gives a
    value of another type than the parameter's default (``bit_depths=16`` where a list is expected)."""
    known = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(f"{Path(path).stem} has no parameter {', '.join(map(repr, unknown))}; "
                         f"its parameters are: {', '.join(known)}")
    for name, value in parameters.items():
        try:
            check_like(value, known[name], name)
        except ValueError as err:
            raise ValueError(f"{Path(path).stem}: {err}") from None


@dataclass
class Profile:
    """A named set of parameter overrides per notebook stem, and whether runs may use the network."""

    name: str
    offline: bool = True
    overrides: dict = field(default_factory=dict)

    def parameters_for(self, notebook: Path) -> dict:
        return dict(self.overrides.get(notebook.stem, {}))


def load_profile(name: str = "default", path: Path = PROFILES, directory: Path = NOTEBOOKS) -> Profile:
    """Reads and validates one profile: every notebook it names must exist and define every parameter it sets."""
    spec = (yaml.safe_load(Path(path).read_text()) or {}) if Path(path).exists() else {}
    if name == "default" and name not in spec:
        return Profile(name)
    if name not in spec:
        raise ValueError(f"unknown profile {name!r}; profiles: {['default', *sorted(spec)]} (see {path.name})")
    entry = spec[name] or {}
    profile = Profile(name, offline=bool(entry.get("offline", True)), overrides=entry.get("notebooks") or {})
    stems = {p.stem: p for p in list_notebooks(directory=directory)}
    for stem, params in profile.overrides.items():
        if stem not in stems:
            raise ValueError(f"profile {name!r} names notebook {stem!r}, which does not exist; "
                             f"notebooks: {sorted(stems)}")
        check_parameters(stems[stem], params or {})
    return profile


def kernel_settings(offline: bool = True) -> dict:
    """Environment variables for notebook kernels: hub offline (or not), no hub progress bars or telemetry."""
    return {
        "HF_HUB_OFFLINE": "1" if offline else "0",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # ipykernel's debugger warns about frozen modules otherwise
    }


@contextlib.contextmanager
def kernel_environment(offline: bool = True):
    """Applies :func:`kernel_settings` for kernels started inside the block, then restores the environment."""
    settings = kernel_settings(offline)
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class RunResult:
    """The outcome of one notebook run."""

    notebook: str
    ok: bool
    seconds: float
    output: Path
    records: dict = field(default_factory=dict)
    error: str = ""
    html: Path | None = None


# JupyterLab's HTML page without what it fetches from CDNs at view time (require.js, MathJax, Mermaid, the widget
# renderer): export_html renders the formulas itself, and the page works offline, as a workshop handout must
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
# $$display$$ or $inline$ TeX in markdown; code spans and fenced blocks are skipped (they may hold dollars)
MATH = re.compile(r"(```.*?```|`[^`\n]*`)|\$\$(.+?)\$\$|(?<![\\$])\$(?![\s$])(.+?)(?<![\\$\s])\$", re.S)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATIC_WIDGET = ("<p><em>Interactive controls stand here in JupyterLab (<code>make lab</code>); this page shows the "
                 "view at their first values.</em></p>")


def offline_notebook(nb) -> list[tuple[str, bool]]:
    """Prepares an nbformat notebook for a page that needs no network, in place: formulas become placeholders
    (returned as ``(tex, display)``, rendered to MathML by :func:`export_html`), widget views become a static note,
    widget state is dropped, and each cell's streams are merged so that a progress bar leaves its final line."""
    formulas = []

    def stash(match):
        if match.group(1):
            return match.group(1)
        formulas.append((match.group(2) or match.group(3), match.group(2) is not None))
        return f"ALMMATH{len(formulas) - 1}X"

    nb.metadata.pop("widgets", None)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = MATH.sub(stash, cell.source)
        elif cell.cell_type == "code":
            coalesce_streams(cell, index)
            for output in cell.get("outputs", []):
                if WIDGET_VIEW in output.get("data", {}):
                    output["data"] = {"text/html": STATIC_WIDGET}
    return formulas


def export_html(notebook: Path) -> Path:
    """Writes ``notebook`` as a standalone HTML page next to it and returns its path. The page loads nothing from
    the network: formulas are MathML (latex2mathml, which browsers render natively), figures and audio are embedded,
    widgets are replaced by a note (:func:`offline_notebook`)."""
    import jinja2
    import nbformat
    from latex2mathml.converter import convert
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    formulas = offline_notebook(nb)
    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2")
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r"ALMMATH(\d+)X", lambda m: convert(formulas[int(m.group(1))][0], display=(
        "block" if formulas[int(m.group(1))][1] else "inline")), body)
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def run_notebook(path: Path, output: Path, parameters: dict | None = None, offline: bool = True,
                 html: bool = False, timeout: int | None = None) -> RunResult:
    """Executes one notebook with papermill (in its own folder) into ``output`` and returns its result."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    path, output = Path(path), Path(output)
    if output.resolve() == path.resolve():
        raise ValueError(f"the output {output} is the notebook itself: give another folder (`make refresh` "
                         "re-executes committed notebooks in place)")
    parameters = parameters or {}
    check_parameters(path, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    error = ""
    with kernel_environment(offline):
        try:
            pm.execute_notebook(str(path), str(output), parameters=parameters, cwd=str(path.parent),
                                kernel_name="python3", progress_bar=False, log_output=False,
                                execution_timeout=timeout, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        except PapermillExecutionError as err:
            error = f"cell {err.cell_index} (execution count {err.exec_count}): {err.ename}: {err.evalue}"
    seconds = time.perf_counter() - start
    records = read_records(output) if output.exists() else {}
    result = RunResult(path.stem, not error, seconds, output, records, error)
    if html and output.exists():
        result.html = export_html(output)
    return result


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summary_table(results: list[RunResult], width: int = 70) -> str:
    """A text table: notebook, status, seconds, and its scalar records (lists/dicts are in the JSON summary)."""
    lines = [f"{'notebook':<24} {'status':<6} {'seconds':>8}  key records", "-" * (42 + width)]
    for r in results:
        scalars = ", ".join(f"{k}={_short(v)}" for k, v in r.records.items() if not isinstance(v, (list, dict)))
        if len(scalars) > width:
            scalars = scalars[: width - 1] + "…"
        lines.append(f"{r.notebook:<24} {'ok' if r.ok else 'FAILED':<6} {r.seconds:>8.1f}  {scalars}")
    for r in results:
        if not r.ok:
            lines.append(f"FAILED {r.notebook}: {r.error}  (see {r.output})")
    return "\n".join(lines)


def run_profile(profile: str = "default", selection=None, out_dir: Path | None = None, overrides: dict | None = None,
                html: bool = True) -> list[RunResult]:
    """Runs the selected notebooks under ``profile`` into ``out_dir`` (default ``runs/<profile>``).

    ``overrides`` are extra parameters applied to every selected notebook (after the profile's).
    Writes ``summary.json`` there and returns the results.
    """
    prof = load_profile(profile)
    notebooks = list_notebooks(selection)
    out_dir = Path(out_dir or ROOT / "runs" / profile).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file; give a folder for the executed notebooks")
    for nb in notebooks:
        if (out_dir / nb.name).resolve() == nb.resolve():
            raise ValueError(f"--out {out_dir} would overwrite the committed {nb.name}; give another folder "
                             f"(default runs/{profile}; `make refresh` re-executes committed notebooks)")
    plans = [(nb, {**prof.parameters_for(nb), **(overrides or {})}) for nb in notebooks]
    for nb, params in plans:
        check_parameters(nb, params)
    results = []
    for nb, params in plans:
        print(f"▶ {nb.stem} ({profile}{', ' + ', '.join(f'{k}={v!r}' for k, v in params.items()) if params else ''})",
              flush=True)
        result = run_notebook(nb, out_dir / nb.name, params, offline=prof.offline, html=html)
        print(f"  {'ok' if result.ok else 'FAILED'} in {result.seconds:.1f} s"
              + (f": {result.error}" if result.error else ""), flush=True)
        results.append(result)
    summary = [{"notebook": r.notebook, "ok": r.ok, "seconds": round(r.seconds, 1), "error": r.error,
                "records": r.records} for r in results]
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return results


def coalesce_streams(cell, index: int) -> None:
    """Merges a code cell's consecutive stream outputs and keeps what follows each carriage return, so that a
    progress bar is stored as its final line (:func:`strip_volatile`, :func:`offline_notebook`)."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess_cell(cell, {}, index)


def strip_volatile(nb) -> None:
    """Removes what changes from run to run without meaning (papermill and timing metadata, injected cells) and
    merges each cell's consecutive stream outputs, so that a progress bar is stored as its final state."""
    nb.metadata.pop("papermill", None)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for index, cell in enumerate(nb.cells):
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            coalesce_streams(cell, index)


def refresh(selection=None) -> list[RunResult]:
    """Re-executes committed notebooks in place with their defaults (offline) and strips volatile metadata.

    A notebook that fails is left untouched, and the error is reported.
    """
    import tempfile

    import nbformat

    results = []
    for nb_path in list_notebooks(selection):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"▶ refreshing {nb_path.stem}", flush=True)
            result = run_notebook(nb_path, Path(tmp) / nb_path.name)
            if result.ok:
                nb = nbformat.read(str(result.output), as_version=4)
                strip_volatile(nb)
                nbformat.write(nb, str(nb_path))
            result.output = nb_path
            print(f"  {'ok' if result.ok else 'FAILED (left unchanged)'} in {result.seconds:.1f} s"
                  + (f": {result.error}" if result.error else ""), flush=True)
            results.append(result)
    return results


def hub_ids(profile: Profile) -> list[str]:
    """The hub checkpoints a profile names (values of parameters called ``model_id`` or ``*_model_id``)."""
    from ..zoo import HUB_ID

    ids = []
    for params in profile.overrides.values():
        for key, value in (params or {}).items():
            if (key == "model_id" or key.endswith("_model_id")) and isinstance(value, str) and HUB_ID.fullmatch(value):
                ids.append(value)
    return sorted(set(ids))


def prefetch(profile_name: str) -> list[str]:
    """Downloads every hub checkpoint that ``profile_name`` names into the local hub cache (``make models``)."""
    from ..zoo import download

    profile = load_profile(profile_name)
    ids = hub_ids(profile)
    if not ids:
        raise ValueError(f"profile {profile_name!r} names no hub checkpoints; try PROFILE=pretrained")
    for model_id in ids:
        print(f"▶ {model_id}", flush=True)
        print(f"  cached at {download(model_id)}", flush=True)
    return ids
