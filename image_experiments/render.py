"""Draw an image report's figures (PNG and PDF) and its report.md from the CSVs that
``image_experiments.report`` wrote into OUT: no unit is read and no model runs, so
``imgctl plot OUT`` redraws everything in seconds. Figures share their CSV's stem."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments import figures, readings, relations
from image_experiments import report_files as files
from irrepro.errors import UserError
from irrepro.tables import save_figure, write_text


def read_manifest(out):
    """The report.json of the report folder ``out`` (a UserError when there is none)."""
    path = Path(out) / files.MANIFEST
    try:
        return json.loads(path.read_text())
    except OSError:
        raise UserError(f"no report in {out} (no report.json); run `imgctl report "
                        "RESULTS_DIR` first") from None


def read_frame(path):
    """The CSV at ``path`` as a DataFrame ('' for empty text cells), or None if absent."""
    path = Path(path)
    if not path.exists():
        return None
    frame = pd.read_csv(path)
    text = frame.select_dtypes(include="object").columns
    frame[text] = frame[text].fillna("")
    return frame


def render(out):
    """Draw every figure of the report in ``out`` and write report.md; returns the paths
    written."""
    out = Path(out)
    manifest = read_manifest(out)
    written, lines = [], header(manifest)

    def draw(fig, stem):
        written.extend(Path(p) for p in save_figure(fig, str(out / stem)))
        return f"![{stem}]({stem}.png)"

    table1 = read_frame(out / files.TABLE1)
    summary = read_frame(out / files.HYPOTHESIS_SUMMARY)
    deltas = read_frame(out / files.SHEETS)
    checkpoint = manifest["options"]["checkpoint"]
    for dataset in manifest["datasets"]:
        lines += [f"## {dataset}", ""]
        fig2 = read_frame(out / f"{files.fig2(dataset)}.csv")
        if fig2 is not None:
            lines += section("Fig. 2: SVCCA (= -RM) and PM against the strategy",
                             draw(figures.multiplicity_figure(
                                 fig2, f"{dataset}: RM and PM, {checkpoint} checkpoint"),
                                  files.fig2(dataset)),
                             readings.multiplicity_reading(fig2)
                             + readings.keep_all_reading(fig2) + readings.caution(fig2))
            lines += section("Risk equivalence: checkpoint accuracies and variants",
                             "Checkpoints are each variant's first step at or above the "
                             "target; the spread is max - min of their test accuracies.",
                             readings.protocol_reading(fig2))
        mine = None if table1 is None else table1[table1["dataset"] == dataset]
        if mine is not None and not mine.empty:
            wide = relations.table1_wide(mine)
            image = draw(figures.table_figure(wide, f"{dataset}: Pearson r(SVCCA, PM)"),
                         files.table1(dataset))
            lines += section("Table 1: Pearson r between SVCCA (= -RM) and PM",
                             readings.markdown_table(wide) + "\n\n" + image,
                             readings.table1_reading(mine))
        lines += hypothesis_section(out, dataset, summary, draw)
        lines += confabulation_section(out, dataset, draw)
        lines += sheets_section(out, dataset, manifest["metrics"], deltas, draw)
        selection = read_frame(out / f"{files.selection(dataset)}.csv")
        if selection is not None:
            lines += section(
                "Model selection: spread left on unforeseen metrics",
                draw(figures.selection_figure(selection, f"{dataset}: top-k% selection on "
                                              f"{selection['selected_on'].iloc[0]}"),
                     files.selection(dataset)), readings.selection_reading(selection))
    path = out / files.MARKDOWN
    write_text(path, "\n".join(lines) + "\n")
    return [*written, path]


def header(manifest):
    options = manifest["options"]

    def listed(values):
        return ", ".join(f"{v:g}" for v in values)

    lines = [f"# Image report: {manifest['results_dir']}", "",
             f"{manifest['units']} stored units, checkpoint `{options['checkpoint']}`. "
             f"Sheets: {', '.join(manifest['metrics'])}; selection on "
             f"{', '.join(manifest['select'])} (top {listed(options['top_percents'])}%). "
             f"Noise rates {listed(options['noise_rates'])}; PGD budgets "
             f"{listed(options['pgd_budgets'])}, {options['pgd_steps']} steps, "
             f"{options['pgd_points']} test inputs.", ""]
    if manifest["notes"]:
        lines += ["Notes:", "", *(f"- {note}" for note in manifest["notes"]), ""]
    return lines


def section(title, body, reading):
    return [f"### {title}", "", body, "", *(f"- {line}" for line in reading), ""]


def hypothesis_section(out, dataset, summary, draw):
    frame = read_frame(out / f"{files.hypothesis(dataset)}.csv")
    if frame is None:
        return []
    mine = summary[summary["dataset"] == dataset]
    return section("Hypothesis 1 (Fig. 3): RM on a low-PM subset predicts the full-set PM",
                   draw(figures.hypothesis_figure(frame, f"{dataset}: min-max scaled"),
                        files.hypothesis(dataset)),
                   readings.hypothesis_reading(mine) + readings.caution(frame))


def confabulation_section(out, dataset, draw):
    frame = read_frame(out / f"{files.confabulation(dataset)}.csv")
    if frame is None:
        return []
    npz = out / f"{files.confabulation(dataset)}.npz"
    if npz.exists():
        with np.load(npz) as stored:
            body = draw(figures.confabulation_figure(frame, stored["images"],
                                                     f"{dataset}: most confabulated inputs"),
                        files.confabulation(dataset))
    else:
        body = (f"(no figure: the {dataset} images were unavailable; the table lists the "
                "inputs)\n\n" + readings.markdown_table(frame))
    return section("Confabulation (Fig. 4): inputs labelled most differently", body,
                   readings.confabulation_reading(frame))


def sheets_section(out, dataset, metrics, deltas, draw):
    lines = []
    for name in metrics:
        wide = read_frame(out / f"{files.sheet(dataset, name)}.csv")
        if wide is None:
            continue
        wide["row"] = wide["row"].astype(str)
        lines += section(f"Multiplicity sheet: {name} (%)",
                         draw(figures.sheet_figure(wide, f"{dataset}: {name} (%)"),
                              files.sheet(dataset, name)), readings.sheet_reading(wide, name))
    mine = None if deltas is None else deltas[(deltas["dataset"] == dataset)
                                              & (deltas["regime"] != "all")]
    if mine is not None and not mine.empty:
        lines += section("Δmax^all of every intervention",
                         draw(figures.deltas_figure(mine, f"{dataset}: Δmax^all"),
                              files.sheets(dataset)), readings.deltas_reading(mine))
    return lines


def print_written(out, written, echo=print):
    """Print the report's notes and the files written into ``out``."""
    for note in read_manifest(out)["notes"]:
        echo(f"note: {note}")
    echo(f"wrote {len(written)} files into {out}:")
    for path in written:
        echo(f"  {path}")


def plot_command(report_dir, echo=print):
    """``imgctl plot``: redraw the report in ``report_dir`` from its CSVs (a Ganesh study's
    with its own renderer), list the files."""
    if read_manifest(report_dir).get("study"):
        from image_experiments import study_report

        written = study_report.render(report_dir)
    else:
        written = render(report_dir)
    print_written(report_dir, written, echo)
    return written
