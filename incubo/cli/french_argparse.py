"""argparse speaking French, with « Vouliez-vous dire … ? » suggestions."""

from __future__ import annotations

import argparse
import re
import sys

from incubo.errors import suggestion

# argparse looks its strings up through gettext at call time (`argparse._`).
_FR = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "the following arguments are required: %s": "il manque : %s",
    "expected one argument": "une valeur est attendue",
    "unrecognized arguments: %s": "option inconnue : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (possibles : %(choices)s)",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s (possibles : %(matches)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "expected at least one argument": "au moins une valeur est attendue",
    "expected %s arguments": "%s valeurs sont attendues",
    "one of the arguments %s is required": "l'une de ces options est requise : %s",
    "not allowed with argument %s": "incompatible avec %s",
}
argparse._ = lambda text: _FR.get(text, text)  # type: ignore[attr-defined]


class FrenchParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one French sentence with a suggestion."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self.add_argument(
            "-h",
            "--help",
            action="help",
            default=argparse.SUPPRESS,
            help="afficher cette aide et quitter",
        )

    def all_option_strings(self) -> set[str]:
        found: set[str] = set()
        for action in self._actions:
            found.update(s for s in action.option_strings if s.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    if isinstance(sub, FrenchParser):
                        found |= sub.all_option_strings()
        return found

    def error(self, message: str):  # noqa: D401 - argparse API
        sentence = self._french_sentence(message)
        sys.stderr.write(f"Erreur : {sentence}\nAide : {self.prog} --help\n")
        raise SystemExit(2)

    def _french_sentence(self, message: str) -> str:
        choice = re.match(
            r"(?:argument [^:]+: )?choix invalide : '([^']*)' \(possibles : (.*)\)", message
        )
        if choice:
            value = choice.group(1)
            choices = [c.strip().strip("'") for c in choice.group(2).split(",")]
            what = "Commande inconnue" if self._is_subcommand_error(message) else "Valeur inconnue"
            return f"{what} : « {value} ».{suggestion(value, choices)}"
        unknown = re.match(r"option inconnue : (.*)", message)
        if unknown:
            first = unknown.group(1).split()[0]
            if first.startswith("-"):
                name = first.split("=")[0]
                return f"Option inconnue : « {name} ».{suggestion(name, self.all_option_strings())}"
            return f"Argument en trop : « {first} »."
        message = re.sub(r"^argument ([^:]+): ", r"\1 : ", message)
        return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")

    @staticmethod
    def _is_subcommand_error(message: str) -> bool:
        head = message.split(":")[0]
        return "COMMANDE" in head or "ACTION" in head or "{" in head
