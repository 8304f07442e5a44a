"""Generate the synthetic data of the « Données et démarches » parcours, reproducibly.

Writes, next to this script:
- `export_demarche_subventions.csv`: a fictitious export shaped like a
  démarches-simplifiées « dossiers » export (one row per dossier: id, state,
  dates of submission / instruction / decision, motivation, instructors, then
  one column per form field);
- `api_dossiers_page1.json`: the first dossiers of that export as the
  démarches-simplifiées GraphQL API nests them (data → demarche → dossiers → nodes);
- `api_geo_communes_31.json`: the communes of Haute-Garonne as the
  geo.api.gouv.fr API returns them (`/departements/31/communes`), built from
  the real INSEE file of the tableur-pandas parcours.

People, associations and amounts are invented; communes and populations are
real (INSEE, Licence Ouverte). Run: `python generer_donnees.py [DOSSIER]`
(same seed, same files; default: next to this script).
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMUNES_CSV = HERE.parent.parent / "tableur-pandas" / "donnees" / "communes_population_2023.csv"
FERIES_CSV = HERE / "jours_feries.csv"
SEED = 20240105
N_DOSSIERS = 320

PRENOMS = [
    "Marie",
    "Jean",
    "Nathalie",
    "Pierre",
    "Isabelle",
    "Michel",
    "Sylvie",
    "Philippe",
    "Catherine",
    "Alain",
    "Françoise",
    "Patrick",
    "Christine",
    "Nicolas",
    "Sandrine",
    "Laurent",
    "Valérie",
    "Christophe",
    "Sophie",
    "Éric",
    "Céline",
    "Olivier",
    "Karima",
    "Mohamed",
    "Léa",
    "Hugo",
]
NOMS = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "Andre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "Fabre",
    "Benali",
    "Rouquette",
]
OBJETS = [
    "Comité des fêtes",
    "Club de randonnée",
    "Association des parents d'élèves",
    "Foyer rural",
    "Amicale des aînés",
    "Atelier théâtre",
    "Jardins partagés",
    "Club de football",
    "Chorale",
    "Épicerie solidaire",
    "Repair café",
    "Bibliothèque associative",
]
TYPES = ["Culture", "Sport", "Solidarité", "Environnement", "Jeunesse"]
INSTRUCTEURS = {  # one small team per department (fictitious addresses)
    "09": ["c.roux@ariege.example.gouv.fr"],
    "11": ["m.fabre@aude.example.gouv.fr"],
    "12": ["p.bonnet@aveyron.example.gouv.fr"],
    "30": ["s.girard@gard.example.gouv.fr", "h.morel@gard.example.gouv.fr"],
    "31": ["a.dupont@haute-garonne.example.gouv.fr", "k.benali@haute-garonne.example.gouv.fr"],
    "32": ["l.lambert@gers.example.gouv.fr"],
    "34": ["n.mercier@herault.example.gouv.fr", "o.vincent@herault.example.gouv.fr"],
    "46": ["j.andre@lot.example.gouv.fr"],
    "48": ["v.rouquette@lozere.example.gouv.fr"],
    "65": ["e.simon@hautes-pyrenees.example.gouv.fr"],
    "66": ["c.garcia@pyrenees-orientales.example.gouv.fr"],
    "81": ["i.david@tarn.example.gouv.fr"],
    "82": ["f.petit@tarn-et-garonne.example.gouv.fr"],
}
MOTIFS_REFUS = [
    "Projet hors du champ de l'appel à projets.",
    "Dossier incomplet malgré relance.",
    "Budget prévisionnel non équilibré.",
    "Association non éligible (moins d'un an d'existence).",
]
MOTIFS_SANS_SUITE = [
    "Demande retirée par l'association.",
    "Projet financé par un autre dispositif.",
]
ETAT_API = {
    "En construction": "en_construction",
    "En instruction": "en_instruction",
    "Accepté": "accepte",
    "Refusé": "refuse",
    "Sans suite": "sans_suite",
}

FIELDS = [
    "ID",
    "Email",
    "Civilité",
    "Nom",
    "Prénom",
    "Archivé",
    "État du dossier",
    "Dernière mise à jour le",
    "Déposé le",
    "Passé en instruction le",
    "Traité le",
    "Motivation de la décision",
    "Instructeurs",
    "Nom de l'association",
    "Commune du siège",
    "Code INSEE de la commune",
    "Département",
    "Type de projet",
    "Montant demandé (€)",
    "Nombre de bénéficiaires",
]


def occitanie_communes() -> list[dict]:
    with COMMUNES_CSV.open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter=";") if r["REG"] == "76"]


def holidays() -> set[date]:
    with FERIES_CSV.open(encoding="utf-8", newline="") as f:
        return {date.fromisoformat(r["date"]) for r in csv.DictReader(f)}


def add_working_days(start: datetime, n: int, feries: set[date]) -> datetime:
    d = start
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5 and d.date() not in feries:
            n -= 1
    return d.replace(
        hour=random.randint(8, 17), minute=random.randint(0, 59), second=random.randint(0, 59)
    )


def stamp(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S") if d else ""


#: The first names of PRENOMS that take « Mme ».
PRENOMS_FEMININS = frozenset(
    {
        "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Christine",
        "Sandrine", "Valérie", "Sophie", "Céline", "Karima", "Léa",
    }
)  # fmt: skip


def make_dossiers() -> list[dict]:
    random.seed(SEED)
    feries = holidays()
    communes = occitanie_communes()
    weights = [int(c["PMUN"]) ** 0.5 for c in communes]
    first = datetime(2024, 1, 8, 9, 0)
    rows = []
    for i in range(N_DOSSIERS):
        commune = random.choices(communes, weights)[0]
        prenom, nom = random.choice(PRENOMS), random.choice(NOMS)
        civ = "Mme" if prenom in PRENOMS_FEMININS else "M."
        depot = first + timedelta(
            days=random.randint(0, 295), hours=random.randint(0, 9), minutes=random.randint(0, 59)
        )
        while depot.weekday() >= 5:
            depot += timedelta(days=1)
        instruction = decision = None
        motivation = ""
        age = (datetime(2024, 10, 31) - depot).days
        r = random.random()
        if age < 20 and r < 0.6:
            etat = "En construction"
        else:
            instruction = add_working_days(depot, random.randint(1, 15), feries)
            if age < 45 and r < 0.7:
                etat = "En instruction"
            else:
                # a long tail: most decisions within two months, a few much later
                days = int(random.lognormvariate(3.0, 0.7))
                decision = add_working_days(instruction, max(3, days), feries)
                etat = random.choices(["Accepté", "Refusé", "Sans suite"], [0.68, 0.24, 0.08])[0]
                if etat == "Refusé":
                    motivation = random.choice(MOTIFS_REFUS)
                elif etat == "Sans suite":
                    motivation = random.choice(MOTIFS_SANS_SUITE)
        maj = decision or instruction or depot
        montant = random.choice([500, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 8000])
        rows.append(
            {
                "ID": 18000000 + 137 * i + random.randint(0, 136),
                "Email": f"{prenom.lower().replace('é', 'e').replace('ç', 'c')}.{nom.lower()}@example.org",
                "Civilité": civ,
                "Nom": nom,
                "Prénom": prenom,
                "Archivé": "false",
                "État du dossier": etat,
                "Dernière mise à jour le": stamp(maj),
                "Déposé le": stamp(depot),
                "Passé en instruction le": stamp(instruction),
                "Traité le": stamp(decision),
                "Motivation de la décision": motivation,
                "Instructeurs": ", ".join(INSTRUCTEURS[commune["DEP"]]) if instruction else "",
                "Nom de l'association": f"{random.choice(OBJETS)} de {commune['Commune']}",
                "Commune du siège": commune["Commune"],
                "Code INSEE de la commune": commune["COM"],
                "Département": commune["DEP"],
                "Type de projet": random.choice(TYPES),
                "Montant demandé (€)": montant,
                "Nombre de bénéficiaires": random.randint(8, 400),
            }
        )
    rows.sort(key=lambda r: r["Déposé le"])
    return rows


def iso_api(value: str) -> str | None:
    return value.replace(" ", "T") + "+01:00" if value else None


def api_page(rows: list[dict], size: int = 20) -> dict:
    nodes = []
    for r in rows[:size]:
        nodes.append(
            {
                "number": r["ID"],
                "state": ETAT_API[r["État du dossier"]],
                "dateDepot": iso_api(r["Déposé le"]),
                "datePassageEnInstruction": iso_api(r["Passé en instruction le"]),
                "dateTraitement": iso_api(r["Traité le"]),
                "motivation": r["Motivation de la décision"] or None,
                "usager": {"email": r["Email"]},
                "groupeInstructeur": {"label": r["Département"]},
                "champs": [
                    {"label": "Nom de l'association", "stringValue": r["Nom de l'association"]},
                    {"label": "Commune du siège", "stringValue": r["Commune du siège"]},
                    {"label": "Type de projet", "stringValue": r["Type de projet"]},
                    {"label": "Montant demandé (€)", "stringValue": str(r["Montant demandé (€)"])},
                ],
            }
        )
    return {
        "data": {
            "demarche": {
                "number": 98765,
                "title": "Demande de subvention pour un projet associatif (exemple fictif)",
                "dossiers": {
                    "pageInfo": {
                        "hasNextPage": True,
                        "endCursor": "MjAyNC0wMi0xNlQxMDozMDowMFo7MTgwMDI3NDA",
                    },
                    "nodes": nodes,
                },
            }
        }
    }


def geo_communes(dep: str = "31") -> list[dict]:
    out = [
        {
            "nom": c["Commune"],
            "code": c["COM"],
            "codeDepartement": c["DEP"],
            "codeRegion": c["REG"],
            "population": int(c["PMUN"]),
        }
        for c in occitanie_communes()
        if c["DEP"] == dep
    ]
    return sorted(out, key=lambda c: c["code"])


def main(out: Path = HERE) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = make_dossiers()
    with (out / "export_demarche_subventions.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "api_dossiers_page1.json").write_text(
        json.dumps(api_page(rows), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "api_geo_communes_31.json").write_text(
        json.dumps(geo_communes(), ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
