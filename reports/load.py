"""Load learning statements, grades and learner attributes into pseudonymised tidy tables (DuckDB).

DuckDB reads the JSON Lines directly and aggregates in SQL: one million
statements load in about a second and a few hundred megabytes, where
`pandas.read_json` needs half a minute and gigabytes (BASELINES.md). Real
identities exist only inside this process, in memory, during loading: the
tables a notebook sees carry HMAC pseudonyms (`privacy.pseudonym`) and no
names, e-mails or user names; DuckDB is told never to spill to disk.

Tables of `Data.con`:

- `statements(learner, verb, parcours, module, kind, item, ts, success, response,
  scaled, raw_score, registration, cohort_registration, verdict, hint, attempt, moment)`
  (`registration` is the statement's `context.registration`: a cohort's, or a séance's, in
  which case the cohort's is `cohort_registration`, the `registration-cohorte` extension; both
  are only read when a cohort or a séance is asked for);
- `learners(learner, service, departement, tranche_age, cohorte)` (when a learners file exists);
- `grades(learner, module, score, max_score)`: a learner's total on an assignment (on demand, from the gradebook).
"""

from __future__ import annotations

import csv
import logging
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from incubo import authority, xapi
from incubo.errors import IncuboError
from incubo.reports import privacy, sources

log = logging.getLogger(__name__)

#: actor.account.homePage of statements pseudonymised on the way in (LRS copies).
PSEUDO_HOMEPAGE = "urn:incubo:pseudonyme"
ATTRIBUTES = ["service", "departement", "tranche_age", "cohorte"]

#: Context extensions the analyses use, with their types.
EXTENSIONS = {
    "verdict": "VARCHAR",
    "hint-number": "INTEGER",
    "attempt": "INTEGER",
    "questionnaire-moment": "VARCHAR",
    "registration-cohorte": "VARCHAR",
}


def _columns() -> str:
    """The JSON schema DuckDB parses: only what the analyses read, typed, no inference.

    Extensions are read under the configured activity base (`INCUBO_ACTIVITY_BASE`,
    the one `incubo.xapi` writes with) as a typed struct: parsing them as a map and
    searching it costs several times more on a million statements.
    """
    ext = ", ".join(f'"{xapi.extension(name)}" {typ}' for name, typ in EXTENSIONS.items())
    return (
        "{actor: 'STRUCT(account STRUCT(homePage VARCHAR, name VARCHAR), mbox VARCHAR)', verb: 'STRUCT(id VARCHAR)', "
        "object: 'STRUCT(id VARCHAR)', timestamp: 'TIMESTAMPTZ', "
        "result: 'STRUCT(success BOOLEAN, response VARCHAR, score STRUCT(raw DOUBLE, max DOUBLE, scaled DOUBLE))', "
        f"context: 'STRUCT(registration VARCHAR, extensions STRUCT({ext}))'}}"
    )


def _ext(name: str) -> str:
    return f'context.extensions."{xapi.extension(name)}"'


def registration_of(cohorte: str) -> str:
    """The xAPI registration (a UUID) that carries a cohort name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"incubo:cohorte:{cohorte}"))


@dataclass
class Data:
    con: duckdb.DuckDBPyConnection
    k: int
    src: sources.Sources
    key: bytes = field(repr=False)
    filters: dict = field(default_factory=dict)
    _grades_loaded: bool = False
    #: People left out by their research choice (`incubo.rgpd`): how many, and the rule.
    excluded: int = 0
    research_base: str = "opposition"
    _rule: object = field(default=None, repr=False)

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(query, params or []).df()

    def scalar(self, query: str, params: list | None = None):
        return self.con.execute(query, params or []).fetchall()[0][0]  # all: no result left open

    @property
    def has_learners(self) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_name = 'learners'"
            )
        )

    @property
    def n_learners(self) -> int:
        return int(self.scalar("select count(distinct learner) from statements"))

    @property
    def n_statements(self) -> int:
        return int(self.scalar("select count(*) from statements"))

    def grades(self) -> bool:
        """Load the gradebook's scores into table `grades`; False when there is no gradebook."""
        if not self._grades_loaded:
            self._grades_loaded = True
            if not self.src.gradebook_url:
                return False
            _load_grades(self)
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_name = 'grades'"
            )
        )


def _parse_date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise IncuboError(
            f"La date {name} « {value} » n'est pas au format AAAA-MM-JJ.", code="date-invalide"
        ) from None


def open_data(
    dossier_cours: str = "",
    evenements: str = "",
    carnet: str = "",
    apprenants: str = "",
    *,
    parcours: str = "",
    cohorte: str = "",
    debut: str = "",
    fin: str = "",
    k: int = 5,
    key: bytes | None = None,
    registration: str = "",
) -> Data:
    """Everything a research notebook needs, pseudonymised and filtered.

    `registration`: only the statements of that xAPI registration (a séance's); an LRS is then
    asked for those only.
    """
    key = key or privacy.load_key()
    src = sources.resolve(dossier_cours, evenements, carnet, apprenants)
    con = duckdb.connect(
        config={"threads": 2, "preserve_insertion_order": False, "temp_directory": ""}
    )
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    files = [str(p) for p in src.event_files]
    with tempfile.TemporaryDirectory(prefix="incubo-lrs-") as tmp:
        for n, url in enumerate(src.lrs_urls):
            out = Path(tmp) / f"lrs-{n}.jsonl"
            sources.fetch_lrs(
                url,
                out,
                lambda s: _pseudonymise_statement(s, key),
                query={"registration": registration} if registration else None,
                auth=src.lrs_auth.get(url),
            )
            files.append(str(out))
        _load_statements(
            con,
            files,
            parcours,
            _parse_date(debut, "de début"),
            _parse_date(fin, "de fin"),
            key,
            keep_registration=bool(cohorte or registration),
            registration=registration,
        )
    data = Data(
        con,
        int(k),
        src,
        key,
        {"parcours": parcours, "cohorte": cohorte, "debut": debut, "fin": fin},
    )
    if src.learners_file:
        _load_learners(con, src.learners_file, key)
    if cohorte:
        _filter_cohort(data, cohorte)
    _apply_research_choices(data)
    if registration and not data.n_statements:
        raise IncuboError(
            "Aucune trace d'activité ne porte l'enregistrement de cette séance dans les sources lues.",
            code="seance-vide",
        )
    if not data.n_statements and data.research_base == "consentement" and data.excluded:
        raise IncuboError(
            "Aucun des agents de ces données n'a donné son accord pour la recherche "
            "(INCUBO_RECHERCHE_BASE=consentement) : le rapport serait vide.",
            code="aucun-consentement",
        )
    if not data.n_statements:
        raise IncuboError(
            "Aucun statement ne correspond aux filtres (cohorte, parcours, dates) : élargissez-les ou vérifiez les sources.",
            code="donnees-vides",
        )
    return data


def _pseudonymise_statement(stmt: dict, key: bytes) -> dict:
    name = xapi.learner_of(stmt)
    stmt["actor"] = {
        "objectType": "Agent",
        "account": {"homePage": PSEUDO_HOMEPAGE, "name": privacy.pseudonym(name, key)},
    }
    graded = authority.by_grader(stmt)
    stmt.pop("authority", None)  # a learner's authority names them: never kept
    if graded:  # the room's grader names nobody: research still tells a grade from a claim
        stmt["authority"] = authority.grader_authority(PSEUDO_HOMEPAGE)
    return stmt


def _load_statements(
    con,
    files: list[str],
    parcours: str,
    debut: date | None,
    fin: date | None,
    key: bytes,
    *,
    keep_registration: bool = False,
    registration: str = "",
) -> None:
    where, params = ["coalesce(p[1], '') <> ''"], {}
    if registration:
        where.append("registration = $registration")
        params["registration"] = registration
    if parcours:
        where.append("p[1] = $parcours")
        params["parcours"] = parcours
    if debut:
        where.append("ts >= $debut")
        params["debut"] = str(debut)
    if fin:
        where.append("ts < $fin")
        params["fin"] = str(fin + timedelta(days=1))
    if files:
        source = f"read_json($files, format='newline_delimited', columns={_columns()}, ignore_errors=true)"
        params["files"] = files
    else:
        raise IncuboError("Aucun fichier de statements à lire.", code="source-manquante")
    inner, outer = privacy.hmac_pads(key)
    con.execute(
        f"""
        CREATE TABLE statements AS
        WITH s AS MATERIALIZED (
          SELECT * EXCLUDE (p),
                 p[1] AS parcours,
                 CASE WHEN p[2] = 'module' THEN p[3] END AS module,
                 CASE WHEN p[2] = 'module' THEN p[4] ELSE p[2] END AS kind,
                 CASE WHEN p[2] = 'module' THEN p[5] ELSE p[3] END AS item
          FROM (
            SELECT coalesce(actor.account.name, actor.mbox) AS name,
                   coalesce(actor.account.homePage = '{PSEUDO_HOMEPAGE}', false) AS done,
                   split_part(verb.id, '/', -1) AS verb,
                   string_split(split_part(object.id, '/parcours/', 2), '/') AS p,
                   CAST(timestamp AS TIMESTAMP) AS ts,
                   result.success AS success, result.response AS response,
                   result.score.scaled AS scaled, result.score.raw AS raw_score,
                   {"context.registration" if keep_registration else "NULL::VARCHAR"} AS registration,
                   {_ext("registration-cohorte") if keep_registration else "NULL::VARCHAR"} AS cohort_registration,
                   {_ext("verdict")} AS verdict,
                   {_ext("hint-number")} AS hint,
                   {_ext("attempt")} AS attempt,
                   {_ext("questionnaire-moment")} AS moment
            FROM {source}
          )
          WHERE name IS NOT NULL AND {" AND ".join(where)}
        ),
        -- one HMAC per learner, not per statement
        m AS (
          SELECT name, done,
                 CASE WHEN done THEN name
                      ELSE 'p-' || left(sha256($outer || unhex(sha256($inner || encode(name)))), 16) END AS learner
          FROM (SELECT DISTINCT name, done FROM s)
        )
        SELECT m.learner, s.* EXCLUDE (name, done) FROM s JOIN m USING (name, done)
        """,
        {"inner": inner, "outer": outer, **params},
    )


def _load_learners(con, path: Path, key: bytes) -> None:
    """Keep only research attributes; identities are dropped while reading."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [
            {
                "learner": privacy.pseudonym(row.get("identifiant") or "", key),
                **{a: (row.get(a) or "").strip() or None for a in ATTRIBUTES},
            }
            for row in reader
            if row.get("identifiant")
        ]
    frame = pd.DataFrame(rows, columns=["learner", *ATTRIBUTES])
    con.register("learners_df", frame)
    con.execute("CREATE TABLE learners AS SELECT * FROM learners_df")
    con.unregister("learners_df")


def _apply_research_choices(data: Data) -> None:
    """Leave out every agent the research may not use (`incubo.rgpd`), and count them.

    The one place where people leave the research tables: statements and learners here,
    grades when they load. Choices are recorded by name; the tables hold pseudonyms of the
    same key, so the names are turned into pseudonyms here and compared.
    """
    from incubo import rgpd

    rule = rgpd.research_rule()
    data.research_base = rule.base
    if rule.base == "opposition" and not rule.objected:
        return
    data._rule = rule  # the table `rgpd_listed` exists from here on
    con = data.con
    has_learners = data.has_learners
    present = "SELECT learner FROM statements" + (
        " UNION SELECT learner FROM learners" if has_learners else ""
    )
    if rule.base == "opposition":
        listed = sorted(privacy.pseudonym(a, data.key) for a in rule.objected)
        cond = "learner IN (SELECT learner FROM rgpd_listed)"
    else:
        listed = sorted(privacy.pseudonym(a, data.key) for a in rule.consented)
        cond = "learner NOT IN (SELECT learner FROM rgpd_listed)"
    con.execute("CREATE TEMP TABLE rgpd_listed (learner VARCHAR)")
    if listed:
        con.executemany("INSERT INTO rgpd_listed VALUES (?)", [[p] for p in listed])
    data.excluded = int(
        data.scalar(f"SELECT count(DISTINCT learner) FROM ({present}) WHERE {cond}")
    )
    con.execute(f"DELETE FROM statements WHERE {cond}").fetchall()
    if has_learners:
        con.execute(f"DELETE FROM learners WHERE {cond}").fetchall()


def _filter_cohort(data: Data, cohorte: str) -> None:
    con = data.con
    in_file = data.has_learners and data.scalar(
        "select count(*) from learners where cohorte = ?", [cohorte]
    )
    # a séance's statement carries the séance as registration, its cohort's in an extension
    in_cohort = "(registration in ($1, $2) or cohort_registration in ($1, $2))"
    by_reg = data.scalar(
        f"select count(*) from statements where {in_cohort}", [cohorte, registration_of(cohorte)]
    )
    if not in_file and not by_reg:
        raise IncuboError(f"Aucune donnée pour la cohorte « {cohorte} ».", code="cohorte-vide")
    if in_file:
        con.execute("DELETE FROM learners WHERE cohorte IS DISTINCT FROM ?", [cohorte])
        con.execute("DELETE FROM statements WHERE learner NOT IN (SELECT learner FROM learners)")
    else:
        con.execute(  # a statement without any registration is kept, as before séances
            "DELETE FROM statements WHERE registration NOT IN ($1, $2) "
            "AND NOT coalesce(cohort_registration IN ($1, $2), false)",
            [cohorte, registration_of(cohorte)],
        )


def _load_grades(data: Data) -> None:
    from incubo import gradebook

    try:
        rows = gradebook.totals(data.src.gradebook_url)
    except Exception as exc:
        raise IncuboError(
            f"Le carnet de notes est illisible ({type(exc).__name__}).", code="carnet-illisible"
        ) from None
    frame = pd.DataFrame(rows, columns=["student", "module", "max_score", "score"])
    del rows
    ids = frame["student"].unique()
    pmap = privacy.pseudonym_map(ids, data.key)
    # typed even when empty (a room with no grade yet): an empty column would be DOUBLE to DuckDB
    frame["learner"] = frame["student"].map(pmap).astype("string")
    frame = frame.drop(columns="student")
    data.con.register("grades_df", frame)
    cond = []
    if data.filters.get("parcours"):
        cond.append("module IN (SELECT DISTINCT module FROM statements WHERE module IS NOT NULL)")
    if data._rule is not None:
        cond.append(  # research choices (`_apply_research_choices`)
            "learner NOT IN (SELECT learner FROM rgpd_listed)"
            if data.research_base == "opposition"
            else "learner IN (SELECT learner FROM rgpd_listed)"
        )
    if data.filters.get("cohorte") and data.has_learners:
        cond.append("learner IN (SELECT learner FROM learners)")
    where = ("WHERE " + " AND ".join(cond)) if cond else ""
    data.con.execute(
        f"CREATE TABLE grades AS SELECT learner, module, score, max_score FROM grades_df {where}"
    )
    data.con.unregister("grades_df")
