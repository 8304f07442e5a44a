"""`Autoevaluation`: the self-assessment questionnaire taken at the start and the end of a parcours.

Six statements about confidence with digital tools and code, each on a
Likert scale from 1 to 5. The research compares the « debut » and « fin »
answers; each answer is an xAPI `answered` statement on a questionnaire
item (activity type survey), with the `questionnaire-moment` extension.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import ipywidgets as w

from incubo.widgets import session, ui

log = logging.getLogger(__name__)

MOMENTS = ("debut", "fin")
#: (stable item id, statement). Item ids are part of the research data: never renumber them.
ITEMS: list[tuple[str, str]] = [
    ("aise-numerique", "Je suis à l'aise avec les outils numériques de mon travail quotidien."),
    ("tableur", "Je sais trier, filtrer et faire un calcul dans un tableur sans aide."),
    (
        "comprendre-code",
        "Je comprends ce qu'est un programme et à quoi il peut servir dans mon service.",
    ),
    (
        "ecrire-code",
        "Je me sens capable d'écrire quelques lignes de code pour automatiser une tâche.",
    ),
    ("erreurs", "Face à un message d'erreur, je sais chercher une solution par moi-même."),
    ("donnees", "Je saurais utiliser des données publiques pour éclairer une décision."),
]
SCALE: list[tuple[str, int]] = [
    ("1 – Pas du tout d'accord", 1),
    ("2 – Plutôt pas d'accord", 2),
    ("3 – Ni d'accord ni pas d'accord", 3),
    ("4 – Plutôt d'accord", 4),
    ("5 – Tout à fait d'accord", 5),
]


class Autoevaluation(ui.TextFallback, w.VBox):
    """The questionnaire; `repondre({item: note})` answers it without a browser."""

    def __init__(
        self, moment: str = "debut", *, parcours: str | None = None, **kwargs: Any
    ) -> None:
        self.moment = moment if moment in MOMENTS else "debut"
        self._parcours = parcours
        self.sent: dict[str, int] = {}
        self.scales: dict[str, w.RadioButtons] = {}
        rows: list[w.Widget] = [
            w.HTML(
                '<p lang="fr"><strong>Auto-évaluation ('
                + ("début" if self.moment == "debut" else "fin")
                + " de parcours)</strong><br>Pour chaque phrase, choisissez de 1 (pas du tout d'accord) "
                "à 5 (tout à fait d'accord). Il n'y a pas de bonne ou de mauvaise réponse.</p>"
            )
        ]
        for number, (item, text) in enumerate(ITEMS, start=1):
            scale = w.RadioButtons(options=SCALE, value=None)
            scale.layout.width = "auto"
            self.scales[item] = scale
            rows.append(
                w.HTML(f'<p lang="fr" style="margin-bottom:0">{number}. {html.escape(text)}</p>')
            )
            rows.append(scale)
        self.submit_button = w.Button(
            description="Envoyer mes réponses",
            button_style="primary",
            tooltip="Envoyer mes réponses",
        )
        self.submit_button.layout.width = "auto"
        self.submit_button.on_click(lambda _b: self.send())
        self.feedback = w.HTML()
        super().__init__([*rows, self.submit_button, self.feedback], **kwargs)
        self.add_class("incubo-autoevaluation")

    def repondre(self, notes: dict[str, int]) -> int:
        """Set answers by item id and send them."""
        for item, value in notes.items():
            if item in self.scales:
                self.scales[item].value = int(value)
        return self.send()

    def send(self) -> int:
        """Record each answered item once (a changed answer is recorded again); returns how many were sent."""
        try:
            answered = {item: s.value for item, s in self.scales.items() if s.value is not None}
            if not answered:
                self.feedback.value = ui.box_html(
                    "non-tente", "Choisissez au moins une réponse avant d'envoyer."
                )
                return 0
            sent = 0
            texts = dict(ITEMS)
            for item, value in answered.items():
                if self.sent.get(item) == value:
                    continue
                session.emit(
                    "answered",
                    kind="questionnaire",
                    ident=f"autoevaluation-{item}",
                    name_fr=texts[item],
                    result={"response": str(value)},
                    extensions={"questionnaire-moment": self.moment},
                    parcours=self._parcours,
                )
                self.sent[item] = value
                sent += 1
            missing = len(ITEMS) - len(answered)
            message = f"Merci ! {len(answered)} réponse{'s' if len(answered) > 1 else ''} enregistrée{'s' if len(answered) > 1 else ''}."
            if missing:
                message += f" Il reste {missing} phrase{'s' if missing > 1 else ''} sans réponse."
            self.feedback.value = ui.box_html("correct", message)
            if not ui.widget_frontend():
                print(message)
            return sent
        except Exception:
            log.warning("self-assessment could not be sent", exc_info=True)
            self.feedback.value = ui.box_html(
                "erreur", "Vos réponses n'ont pas pu être enregistrées."
            )
            return 0

    def plain_text(self) -> str:
        lines = [
            "Auto-évaluation : pour chaque phrase, une note de 1 (pas du tout d'accord) à 5 (tout à fait d'accord)."
        ]
        lines += [f"  {item} : {text}" for item, text in ITEMS]
        if not ui.widget_frontend():
            lines.append('Répondez avec .repondre({"aise-numerique": 4, ...}).')
        return "\n".join(lines)
