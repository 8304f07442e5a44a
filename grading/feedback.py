"""French HTML feedback per student, which never shows a hidden test.

Stock `generate_feedback` renders the autograded notebook, hidden tests
included (nbgrader #917), and a failing hidden assertion shows its own line
in the traceback. We render the notebook ourselves: each test cell as the
learner received it (nbgrader's own hidden-region removal), and any output
of that cell that quotes a hidden line replaced by a plain sentence. The
page is self-contained (no CDN), with the score of each test and the
verdicts of the correction.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from pathlib import Path

import nbformat
from nbconvert.filters import markdown2html, strip_ansi
from nbgrader import utils as nbutils
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from incubo.errors import IncuboError, suggestion

from . import pipeline
from .answers import NO_ANSWER, grade_id, is_unanswered, question_titles
from .gradebook_writer import read_verdicts
from .verdicts import visible_source

log = logging.getLogger(__name__)

HIDDEN_NOTICE = "Un test caché de cette cellule n'est pas passé."
STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1e1e1e;line-height:1.5}
h1{font-size:1.6rem} table{border-collapse:collapse;margin:1rem 0} td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}
.cellule{border-left:4px solid #ddd;margin:1rem 0;padding:.2rem .8rem} .test{border-left-color:#000091}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap} .erreur{background:#fee;color:#a00}
.remarques{background:#fff4e5;padding:.6rem 1rem;border:1px solid #e6a700}
"""


def _hidden_lines(source: str, visible: str) -> list[str]:
    seen = {line.strip() for line in visible.splitlines()}
    return [
        line.strip()
        for line in source.splitlines()
        if len(line.strip()) >= 4 and line.strip() not in seen
    ]


def _output_text(output) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind == "error":
        return (
            strip_ansi("\n".join(output.get("traceback", [])))
            + f"\n{output.get('ename', '')}: {output.get('evalue', '')}"
        )
    data = output.get("data", {})
    return str(data.get("text/plain", ""))


def _quotes_hidden(output, hidden: list[str]) -> bool:
    """Would this output, as rendered, reveal a hidden test (its text, or that it is the one that failed)?"""
    if output.get("output_type") != "error":
        return any(line in _output_text(output) for line in hidden)
    failing = None
    for line in strip_ansi("\n".join(output.get("traceback", []))).splitlines():
        m = re.match(r"^\s*-*>\s*\d+\s+(.*)$", line)
        if m:
            failing = m.group(1).strip()
    if failing is None:
        return True  # we cannot tell which test failed: say only that one did
    return failing in hidden or any(line in f"{output.get('evalue', '')}" for line in hidden)


def _render_output(output) -> str:
    kind = output.get("output_type")
    if kind == "error":
        if output.get("ename") == "NotImplementedError":
            return f'<pre class="erreur">{NO_ANSWER.capitalize()}.</pre>'
        text = f"{output.get('ename', 'Erreur')} : {output.get('evalue', '')}"
        return f'<pre class="erreur">{html.escape(text)}</pre>'
    if kind == "stream":
        return f"<pre>{html.escape(output.get('text', ''))}</pre>"
    data = output.get("data", {})
    if "image/png" in data:
        png = data["image/png"]
        png = png if isinstance(png, str) else base64.b64encode(png).decode()
        return f'<img alt="figure produite par le code" src="data:image/png;base64,{png.strip()}">'
    if "text/plain" in data:
        return f"<pre>{html.escape(str(data['text/plain']))}</pre>"
    return ""


def render(
    nb, title: str, scores: list[tuple[str, float | None, float]], remarks: list[str], config=None
) -> str:
    """The feedback page of one notebook."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    titles = question_titles(nb)
    total = sum(s or 0 for _n, s, _m in scores)
    maximum = sum(m for _n, _s, m in scores)
    parts.append(f"<p><strong>Note : {total:g} / {maximum:g}</strong></p>")
    if scores:
        parts.append(
            "<table><caption>Détail des points</caption><tr><th scope='col'>Question</th><th scope='col'>Points</th></tr>"
        )
        parts += [
            f"<tr><td>{html.escape(titles.get(n, n))}</td><td>{'à corriger par le formateur' if s is None else f'{s:g}'} / {m:g}</td></tr>"
            for n, s, m in scores
        ]
        parts.append("</table>")
    if remarks:
        parts.append('<section class="remarques"><h2>Remarques de la correction</h2><ul>')
        parts += [f"<li>{html.escape(r)}</li>" for r in remarks]
        parts.append("</ul></section>")
    for cell in nb.cells:
        is_test = (
            nbutils.is_grade(cell) and not nbutils.is_solution(cell) and cell.cell_type == "code"
        )
        if cell.cell_type == "markdown":
            if nbutils.is_solution(cell) and is_unanswered(cell):
                parts.append(
                    f'<div class="cellule"><p class="sans-reponse"><strong>{NO_ANSWER.capitalize()}.</strong></p></div>'
                )
            else:
                parts.append(f'<div class="cellule">{markdown2html(cell.source)}</div>')
            continue
        if cell.cell_type != "code":
            continue
        source, hidden = cell.source, []
        if is_test:
            source = visible_source(cell.source, config)
            hidden = _hidden_lines(cell.source, source)
        gid = grade_id(cell)
        if is_test:
            label = f"Vérification — {titles.get(gid, gid)}"
        elif nbutils.is_solution(cell):
            label = f"Votre réponse — {titles.get(gid, gid)}" if gid in titles else "Votre réponse"
        else:
            label = "Cellule de code"
        parts.append(
            f'<div class="cellule{" test" if is_test else ""}"><p><em>{html.escape(label)}</em></p>'
        )
        if nbutils.is_solution(cell) and is_unanswered(cell):
            # the release's stub and its NotImplementedError say nothing to a learner
            parts.append(
                f'<p class="sans-reponse"><strong>{NO_ANSWER.capitalize()}.</strong></p></div>'
            )
            continue
        parts.append(f"<pre><code>{html.escape(source)}</code></pre>")
        for output in cell.get("outputs", []):
            if hidden and _quotes_hidden(output, hidden):
                parts.append(f'<pre class="erreur">{HIDDEN_NOTICE}</pre>')
            else:
                parts.append(_render_output(output))
        parts.append("</div>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def generate_feedback(
    course_dir: Path, assignment: str, *, student: str | None = None
) -> list[Path]:
    """Write `feedback/<student>/<assignment>/<notebook>.html` for every autograded submission."""
    config = pipeline.load_config(Path(course_dir))
    coursedir = CourseDirectory(config=config)
    written: list[Path] = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        names = [a.name for a in gb.assignments]
        if assignment not in names:
            raise IncuboError(
                f"Le devoir « {assignment} » n'existe pas dans le carnet de notes.{suggestion(assignment, names)}",
                code="devoir-inconnu",
            )
        remarks_by = read_verdicts(gb)
        for submission in gb.find_assignment(assignment).submissions:
            sid = submission.student.id
            if student and sid != student:
                continue
            graded = Path(coursedir.format_path(coursedir.autograded_directory, sid, assignment))
            if not graded.is_dir():
                continue
            dest = Path(coursedir.format_path(coursedir.feedback_directory, sid, assignment))
            dest.mkdir(parents=True, exist_ok=True)
            for nb_row in submission.notebooks:
                path = graded / f"{nb_row.name}.ipynb"
                if not path.exists():
                    continue
                try:
                    nb = nbformat.read(path, as_version=4)
                except Exception:  # noqa: BLE001 - an autograded file we cannot read: say so, keep going
                    log.warning("unreadable autograded notebook %s", path)
                    continue
                scores = [
                    (
                        g.name,
                        None if g.needs_manual_grade and g.manual_score is None else float(g.score),
                        float(g.max_score),
                    )
                    for g in nb_row.grades
                ]
                remarks = [
                    r
                    for (code, _sev, r) in remarks_by.get((assignment, sid), [])
                    if r.startswith(f"{nb_row.name} :")
                ]
                title = f"Retour sur « {nb_row.name} » — devoir {assignment} — {sid}"
                out = dest / f"{nb_row.name}.html"
                out.write_text(render(nb, title, scores, remarks, config), encoding="utf-8")
                written.append(out)
    if student and not written:
        raise IncuboError(
            f"Aucune copie corrigée de « {student} » pour « {assignment} ». Lancez d'abord « incubo grade autograde ».",
            code="copie-introuvable",
        )
    return written


def visible_text(page: str) -> str:
    """What a reader sees: tags removed, entities unescaped (used by tests to look for leaks)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))
