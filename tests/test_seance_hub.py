"""A séance in the room, for real: a trainer and three learners in Chromium through the hub.

Every step is named (`step`): open from the dashboard, the projection, three
learners who see the séance in their lab and act, a poll launched and
answered with the keyboard, its results live on the projection, the answer
revealed, the next step unlocked and fetched into every home, the séance
closed (statements after it carry no registration), `incubo seance etat`,
the séance's report; axe-core on the projection and the learner's panel.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from harness import axe_violations, incubo, wait_for
from hub_support import unique_name
from seance_support import MODULE, seance_room  # noqa: F401 (a fixture)

from incubo.config import hub_settings
from incubo.hub import lrs_keys

XAPI = {"X-Experience-API-Version": "1.0.3"}
PANEL = "#incubo-seance-panel"


def step(name: str) -> None:
    """Name the step under way (pytest shows it with a failure)."""
    print(f"[{time.strftime('%H:%M:%S')}] ÉTAPE : {name}", flush=True)


def statements(hub, **query) -> list[dict]:
    """The room's statements, read through the gate with the trainers' read-only account."""
    user, password = lrs_keys.reader_auth(lrs_keys.gate_secret(hub.hub_dir), "formateurs").split(
        ":", 1
    )
    found, url, params = [], hub.url + "/services/lrs/xAPI/statements", dict(query, limit="1000")
    while url:
        body = requests.get(
            url, params=params, auth=(user, password), headers=XAPI, timeout=30
        ).json()
        found += body["statements"]
        url, params = (hub.url + body["more"], None) if body.get("more") else ("", None)
    return found


def act(lab, code: str) -> None:
    """Run `code` in the learner's kernel (cwd: the module) and wait until the LRS has it all."""
    if not getattr(lab, "nb", None):
        lab.nb = lab.kernel(notebook=f"incubo/{MODULE}/01-lecon.ipynb")
    out = lab.run(
        code + "\nfrom incubo import events\nassert events.wait_delivered(30)", kernel=lab.nb
    )
    assert out["error"] is None, out


def files(lab) -> set[str]:
    r = lab.api("GET", f"/contents/incubo/{MODULE}")
    assert r.status_code == 200, r.text
    return {item["name"] for item in r.json()["content"]}


@pytest.fixture(scope="module")
def room(seance_room):  # noqa: F811 (the fixture imported above)
    """The room hub shared with test_seance_service (seance_support.seance_room)."""
    return seance_room


def test_a_seance_with_a_trainer_and_three_learners_in_chromium(room, browser, tmp_path):
    hub = room
    step("le formateur ouvre une séance pas à pas depuis le tableau de bord")
    trainer = browser.new_context(locale="fr-FR", bypass_csp=True)  # Playwright's waits need eval
    board = trainer.new_page()
    hub.login(board, hub.trainer)
    board.wait_for_load_state()
    assert board.goto(hub.url + "/services/tableau-de-bord/").status == 200
    board.locator("#form-ouvrir").wait_for(timeout=30_000)
    board.select_option("#seance-module", MODULE)
    board.check("#seance-pas-a-pas")
    board.locator("#form-ouvrir button[type=submit]").click()
    board.locator("#seance-code").wait_for(timeout=30_000)
    wait_for(lambda: board.inner_text("#seance-code").strip(), timeout=30, what="séance code")
    code = board.inner_text("#seance-code").strip()
    assert 4 <= len(code) <= 8 and code.isalnum() and code.upper() == code, code

    step("la projection s'ouvre sur l'écran de la salle")
    projection = trainer.new_page()
    assert (
        projection.goto(f"{hub.url}/services/tableau-de-bord/seance/{code}/projection").status
        == 200
    )
    projection.wait_for_function(
        "document.getElementById('etat').innerText.includes('Séance en cours')", timeout=30_000
    )

    step("trois apprenants se connectent : la séance s'affiche dans leur lab, étape 1 seulement")
    names = [unique_name("a") for _ in range(3)]
    with ThreadPoolExecutor(len(names)) as pool:  # the hub spawns their servers side by side
        labs = dict(zip(names, pool.map(hub.lab, names), strict=True))
    pages = {}
    for name in names:  # the three log in, then their labs load, side by side
        ctx = browser.new_context(locale="fr-FR", bypass_csp=True)
        pages[name] = hub.login(ctx.new_page(), name)
    for name, page in pages.items():
        page.wait_for_url(lambda url: "/hub/login" not in url, wait_until="commit")
        page.goto(f"{hub.url}/user/{name}/lab", wait_until="commit")
    for name, page in pages.items():
        page.locator(PANEL).get_by_text(code).first.wait_for(timeout=120_000)
        assert files(labs[name]) & {
            "01-lecon.ipynb",
            "02-exercices.ipynb",
            "03-plus-loin.ipynb",
        } == {"01-lecon.ipynb"}

    step("les trois apprenants agissent : chacun ouvre la leçon")
    t0 = time.monotonic()
    for name in names:
        act(labs[name], "from incubo.widgets import demarrer\ndemarrer('01-lecon')")
    projection.wait_for_function(
        "document.getElementById('etapes').innerText.includes('3')", timeout=10_000
    )
    assert time.monotonic() - t0 < 60

    step("le formateur lance une question écrite sur le moment")
    board.select_option("#sondage-type", "choix-unique")
    board.fill("#sondage-question", "Quel jour est la réunion d'équipe ?")
    board.fill("#sondage-options", "Lundi\nMardi\nJeudi")
    board.fill("#sondage-correcte", "2")
    board.locator("#form-tapee button[type=submit]").click()
    launched = time.monotonic()

    step("chaque apprenant voit la question en moins de 5 s, sans recharger, et répond au clavier")
    for page in pages.values():
        form = page.locator(f"{PANEL} form[aria-label='Question de la séance']")
        form.wait_for(timeout=max(1_000, int(1000 * (launched + 5 - time.monotonic()))))
    for page in pages.values():
        form = page.locator(f"{PANEL} form[aria-label='Question de la séance']")
        form.locator("input[type=radio]").first.focus()
        page.keyboard.press(
            "ArrowDown"
        )  # a radio group moves and selects with the arrows: « Mardi »
        assert form.locator("input[type=radio]").nth(1).is_checked()
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        form.get_by_text("Réponse envoyée").wait_for(timeout=10_000)

    step("les réponses arrivent sur la projection, en direct")
    projection.wait_for_function(
        "document.getElementById('sondage').innerText.includes('3 réponses reçues')",
        timeout=15_000,
    )
    bars = projection.inner_text("#sondage ol.choix")
    assert "Mardi" in bars and "3" in bars, bars

    step("le formateur révèle la bonne réponse")
    board.click("#seance-reveler")
    projection.locator("#sondage li.correcte", has_text="Mardi").wait_for(timeout=10_000)
    for page in pages.values():
        page.locator(PANEL).get_by_text("Bonne réponse : Mardi").wait_for(timeout=10_000)

    step("étape suivante : le notebook suivant arrive dans chaque lab, sans clic")
    board.click("#seance-suivante")
    for name, page in pages.items():
        page.locator(PANEL).get_by_text("Nouvelle étape disponible").wait_for(timeout=15_000)
        assert "02-exercices.ipynb" in files(labs[name])
        assert "03-plus-loin.ipynb" not in files(labs[name])  # nobody has finished early

    step("axe-core : la projection et le panneau de l'apprenant")
    assert not axe_violations(projection)
    page = pages[names[0]]
    page.add_script_tag(path=str(Path(__file__).parent.parent / "node_modules/axe-core/axe.min.js"))
    found = page.evaluate(
        f"async () => (await axe.run('{PANEL}', {{resultTypes: ['violations']}})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)"
    )
    assert not found, found

    step("aucun nom d'apprenant sur la projection")
    shown = projection.content()
    for name in names:
        assert name not in shown

    step(
        "le formateur ferme la séance : le panneau disparaît, les déclarations suivantes n'ont plus la séance"
    )
    board.once("dialog", lambda d: d.accept())  # « Fermer la séance XXXX ? »
    board.click("#seance-fermer")
    for page in pages.values():
        page.locator(PANEL).wait_for(state="detached", timeout=15_000)
    act(labs[names[0]], "from incubo.widgets import demarrer\ndemarrer('02-exercices')")
    every = statements(hub)
    seance = json.loads((hub.hub_dir / "seances" / f"{code}.json").read_text())
    registration = seance["registration"]
    tagged = [s for s in every if (s.get("context") or {}).get("registration") == registration]
    verbs = sorted(s["verb"]["id"].rsplit("/", 1)[-1] for s in tagged)
    assert verbs.count("experienced") == 3 and verbs.count("answered") == 3, verbs
    after = [s for s in every if s["object"]["id"].endswith("/lecon/02-exercices")]
    assert after and all("registration" not in (s.get("context") or {}) for s in after)
    assert {s["actor"]["account"]["name"] for s in tagged} == set(names)

    step("incubo seance etat : l'état en JSON")
    state = incubo("seance", "etat", code, env=hub.env)
    assert state.returncode == 0, state.stderr
    view = json.loads(state.stdout)
    assert view["participants"] == 3 and not view["ouverte"]
    poll = view["sondages"][0]
    assert [o["reponses"] for o in poll["options"]] == [0, 3, 0]
    assert poll["bonne_reponse"] == "Mardi"
    for name in names:
        assert name not in state.stdout

    step("la synthèse de la séance, pseudonymisée, sur la machine du hub sans option : son LRS")
    env = {k: v for k, v in hub.env.items() if not k.startswith(("INCUBO_LRS_", "INCUBO_HUB_P"))}
    env.update(
        INCUBO_HUB_DIR=str(hub.hub_dir), INCUBO_PSEUDONYM_KEY="cle-de-test-seance-0123456789"
    )
    # what `incubo seance ouvrir` prints in that shell: the room's real address (its port too)
    assert hub_settings(env={"INCUBO_HUB_DIR": str(hub.hub_dir)}).url == hub.url
    out = tmp_path / "rapports"
    report = incubo(
        "report", "seance", "-p", "seance", code,
        "-p", "k", "2", "--derogation-k", "test-seance-3-apprenants",
        "-o", out, env=env,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    html = (out / "seance.html").read_text(encoding="utf-8")
    assert "Mardi" in html and '<script src="http' not in html
    assert "Données de démonstration" not in html  # the room's real LRS, a real key
    for name in names:
        assert name not in html
    trainer.close()
