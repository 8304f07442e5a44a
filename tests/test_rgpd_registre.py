"""The record of processing (docs/rgpd/registre.md) covers every statement field and storage place the code has.

A new key in a statement, a new context extension, a new `INCUBO_*` path or URL, a new
folder of the course or the hub, a new file of the RGPD store: each must get its line in
the registre, or this test fails and names it. The notice's default text is checked too.
"""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

from harness import ROOT

from incubo import course_layout, rgpd, xapi
from incubo.config import HubSettings, Settings

REGISTRE = ROOT / "docs" / "rgpd" / "registre.md"
PARTS = ("widgets", "grading", "apps", "hub", "incubo", "reports")


def listed() -> set[str]:
    """Every `backticked` word of the registre."""
    return set(re.findall(r"`([^`]+)`", REGISTRE.read_text(encoding="utf-8")))


def paths(obj, prefix: str = "") -> set[str]:
    """Dotted key paths of a statement (`context.contextActivities.parent`)."""
    found = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if re.fullmatch(r"[a-z]{2}-[A-Z]{2}", key):
                continue  # a language map's key (`fr-FR`), not a field
            path = f"{prefix}.{key}" if prefix else key
            found.add(path)
            found |= paths(value, path)
    elif isinstance(obj, list):
        for item in obj:
            if prefix.endswith(("parent", "grouping")):
                continue  # activities inside: the same fields as `object`
            found |= paths(item, prefix)
    return found


def literal_keys(keyword: str) -> set[str]:
    """String keys of the dict literals the code passes as `keyword=` (or names `ext`/`extensions`)."""
    keys: set[str] = set()
    for part in PARTS:
        for file in (ROOT / part).rglob("*.py"):
            tree = ast.parse(file.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                dicts = []
                if isinstance(node, ast.keyword) and node.arg == keyword:
                    dicts.append(node.value)
                if keyword == "extensions" and isinstance(node, ast.Assign):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    if {"ext", "extensions"} & set(names):
                        dicts.append(node.value)
                if keyword == "extensions" and isinstance(node, ast.Assign):
                    for t in node.targets:  # extensions["name"] = …
                        if (
                            isinstance(t, ast.Subscript)
                            and isinstance(t.value, ast.Name)
                            and t.value.id in ("ext", "extensions")
                            and isinstance(t.slice, ast.Constant)
                        ):
                            keys.add(str(t.slice.value))
                for d in dicts:
                    if isinstance(d, ast.Dict):
                        keys |= {k.value for k in d.keys if isinstance(k, ast.Constant)}
                    if isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dict":
                        keys |= {k.arg for k in d.keywords if k.arg}
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id.endswith("_EXTENSION") for t in node.targets
                ):
                    if keyword == "extensions" and isinstance(node.value, ast.Constant):
                        keys.add(str(node.value.value))
    return keys


def test_every_statement_field_the_code_can_emit_has_an_entry():
    extensions = literal_keys("extensions")
    results = literal_keys("result")
    assert {"verdict", "hint-number", "attempt", "questionnaire-moment"} <= extensions
    assert {"success", "response", "score"} <= results
    stmt = xapi.statement(
        "answered",
        parcours="p",
        module="m",
        kind="quiz",
        ident="q",
        name_fr="Question",
        result={k: True for k in results} | {"score": xapi.score(1, 2)},
        extensions={k: 1 for k in extensions},
        registration="r",
    )
    emitted = {p for p in paths(stmt) if not p.startswith("context.extensions.")}
    emitted |= {p for p in paths(stmt["context"]["extensions"])}
    emitted = {p.rsplit("/", 1)[-1] for p in emitted}  # extension IRIs by their short name
    emitted |= {"verb.display", "object.definition.name"}
    missing = sorted(emitted - listed())
    assert not missing, f"champs de traces absents de docs/rgpd/registre.md : {missing}"


def test_every_storage_place_has_an_entry():
    places = set()
    for f in fields(Settings):
        kind = f.type if isinstance(f.type, str) else str(f.type)
        if "Path" in kind or f.name.endswith(("_url", "_file", "_dir", "_key")):
            places.add(f.metadata["env"])
    places |= {
        name
        for name, value in vars(HubSettings).items()
        if isinstance(value, property) and name != "url"
    }
    places |= {f.name for f in fields(HubSettings) if f.name.endswith(("_dir", "_base"))}
    places |= {"INCUBO_HUB_DB_URL", "jupyterhub.sqlite", "lrs", "lrs/donnees", "seances"}
    places |= {
        value
        for name, value in vars(course_layout).items()
        if name.isupper() and isinstance(value, str)
    }
    places |= {
        value for name, value in vars(rgpd).items() if name.isupper() and isinstance(value, str)
    } - {"opposition", "consentement"}
    missing = sorted(places - listed())
    assert not missing, f"lieux de stockage absents de docs/rgpd/registre.md : {missing}"


def test_the_notice_is_french_versioned_and_filled_in(tmp_path, monkeypatch):
    monkeypatch.setenv("INCUBO_RGPD_DIR", str(tmp_path))
    monkeypatch.setenv("INCUBO_RGPD_CONTACT", "dpd@exemple.gouv.fr")
    monkeypatch.setenv("INCUBO_CONSERVATION_MOIS", "12")
    text = rgpd.notice()
    assert text.path == rgpd.DEFAULT_NOTICE and text.version == "2026-12-1"
    assert "dpd@exemple.gouv.fr" in text.text and "gardées 12 mois" in text.text
    assert "{" not in text.text and "version:" not in text.text
    assert "vous vous y opposez" in text.text
    monkeypatch.setenv("INCUBO_RECHERCHE_BASE", "consentement")
    assert "que si vous l’acceptez" in rgpd.notice().text
    # the operator's own text, a new version: asked again
    assert rgpd.needs_notice("agent-a")
    rgpd.acknowledge("agent-a")
    assert not rgpd.needs_notice("agent-a")
    (tmp_path / "notice.md").write_text("---\nversion: 2027-1\n---\nNouveau texte.\n")
    assert rgpd.notice().version == "2027-1" and rgpd.notice().text.strip() == "Nouveau texte."
    assert rgpd.needs_notice("agent-a")
    assert Path(rgpd.DEFAULT_NOTICE).is_relative_to(ROOT / "incubo")


def test_the_first_screen_shows_the_notice_once_per_version(tmp_path, monkeypatch):
    monkeypatch.setenv("INCUBO_RGPD_DIR", str(tmp_path))
    text = rgpd.inform_once("agent-b")
    assert text and text.startswith("# Vos données dans incubo")
    assert rgpd.inform_once("agent-b") is None
    (tmp_path / "notice.md").write_text("---\nversion: 2\n---\nTexte.\n\n---\n\nSuite.\n")
    assert rgpd.inform_once("agent-b") == "Texte.\n\n---\n\nSuite.\n"
    assert [r["version"] for r in rgpd.acknowledgements("agent-b")] == ["2026-12-1", "2"]


def test_a_store_that_cannot_be_read_is_an_error_not_an_empty_list(tmp_path, monkeypatch):
    import pytest

    from incubo.errors import IncuboError

    monkeypatch.setenv("INCUBO_RGPD_DIR", str(tmp_path))
    (tmp_path / rgpd.CHOICES).mkdir()  # unreadable as a file, whoever runs the test
    with pytest.raises(IncuboError, match="registre RGPD .* est illisible"):
        rgpd.research_rule()
