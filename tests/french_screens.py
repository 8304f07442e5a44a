"""Is a screen French? A checker for what a learner reads in Chromium (issue 20, point 4).

`problems(page, screen)` reads the page's visible text, and the aria-labels, titles, placeholders
and alternative texts of its visible elements (plus the window title), then reports:

- every known English label of JupyterLab, nbgrader, JupyterHub, Voila or jupyter_server
  (`ENGLISH`) found as a whole label: a one-word label (« File », « Idle ») when it is the whole
  text of an element or attribute, a longer one (« Your server is starting up ») anywhere in a text;
- every word hunspell-fr does not know (Debian's `hunspell-fr`, as the lessons' spell check in
  test_curriculum_sources does), with the project's word list and `spelling/mots-des-ecrans.txt`
  (product names, technical words a screen may show).

Code is not prose: editors, `<code>`, `<pre>` and file names are left out. Each problem names the screen, the
text and where it is (the element and its nearest ancestors), so a failing walk says what to fix.

Exceptions are explicit: `UPSTREAM`, English that comes from a project we do not change and
cannot configure, each with its reason. nbgrader's learner tools (« Assignment List », its menu)
are not exceptions: « Mes modules » replaces them, and the walk fails if they come back.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from curriculum_support import prose_for_spelling

SPELLING = Path(__file__).resolve().parent / "spelling"
WORDLISTS = (SPELLING / "mots-du-projet.txt", SPELLING / "mots-des-ecrans.txt")

#: English labels of the upstream screens a learner may meet (as they print them, without « … »).
ENGLISH = frozenset({
    # JupyterLab: menus, launcher, file browser, notebook toolbar, status bar, dialogs
    "File", "Edit", "View", "Run", "Kernel", "Tabs", "Settings", "Help", "Launcher", "New",
    "New Launcher", "New Folder", "Upload Files", "Open", "Open With", "Rename", "Delete",
    "Save", "Save Notebook", "Save As", "Close", "Close Tab", "Log Out", "Shut Down",
    "Other", "Text File", "Markdown File", "Python File", "Show Contextual Help",
    "Name", "Last Modified", "File Size", "Filter files by name", "Open Tabs",
    "Running Terminals and Kernels", "Table of Contents", "Extension Manager",
    "Property Inspector", "Kernel Sessions", "Shut Down All", "Simple", "Idle", "Busy",
    "Connecting", "Starting", "Restarting", "Unknown", "No Kernel", "Select Kernel",
    "Kernel status", "Mode: Command", "Mode: Edit", "Command", "Code", "Raw", "Trusted", "Cell",
    "Not Trusted", "Untitled", "Loading", "Spaces", "Cancel", "Dismiss", "Restart",
    "Interrupt the kernel", "Restart the kernel", "Run this cell and advance",
    "Cut this cell", "Copy this cell", "Paste this cell from the clipboard",
    "Insert a cell below", "Save and create checkpoint", "Select the cell type",
    "Click to add a cell", "Go to cell", "Log Console", "Notifications", "Python Reference",
    "IPython Reference", "NumPy Reference", "SciPy Reference", "Matplotlib Reference",
    "SymPy Reference", "pandas Reference", "Markdown Reference", "Jupyter Reference",
    "JupyterLab Reference", "Jupyter Forum", "About JupyterLab", "Your server is not running",
    "The Jupyter server is not running", "Server Connection Error",
    "A connection to the Jupyter server could not be established",
    # Voila
    "Voilà preview", "Render with Voilà", "Open with Voilà in New Browser Tab", "Executing",
    # nbgrader
    "Assignment List", "Released assignments", "Downloaded assignments",
    "Submitted assignments", "Submit", "Fetch", "Fetch Feedback", "Validate",
    "There are no assignments to fetch", "Course List", "Formgrader", "Create Assignment",
    "Nbgrader", "view feedback",
    # JupyterHub
    "Sign in", "Sign In", "Username", "Password", "Logout", "Log out", "Home", "Token",
    "Admin", "Start My Server", "Stop My Server", "My Server", "Your server is starting up",
    "You will be redirected automatically when it's ready for you", "Server not running",
    "Would you like to launch it", "Launch Server", "Server Options", "Spawn failed",
    "Event log", "Services", "Page not found", "Successfully logged out",
    "Server unavailable or unreachable", "Hub Control Panel", "Control Panel",
    # jupyter_server's own pages (the learner's server, behind the hub)
    "Not Found", "You are requesting a page that does not exist", "Forbidden",
    "Internal Server Error", "The error was", "Jupyter Server",
})  # fmt: skip

#: English a learner may see that incubo cannot translate: the label → why.
UPSTREAM: dict[str, str] = {
    "main area toolbar": "JupyterLab 4.6 writes this aria-label without its translator (the French"
    " pack has the string, unused); read by screen readers only",
    "Skip to main panel": "JupyterLab's skip link, written without its translator; shown only to"
    " keyboard users while it has the focus",
    "Cells": "aria-label of JupyterLab's notebook cell list, written without its translator;"
    " read by screen readers only",
    "Cell toolbar": "aria-label of each cell's toolbar, written without its translator (the French"
    " pack has it); read by screen readers only",
    "Markdown Cell Content": "aria-label of a Markdown cell, written without its translator (the"
    " French pack has it); read by screen readers only",
    "main area content": "aria-label of JupyterLab's main area, written without its translator"
    " (the French pack has it); read by screen readers only",
    "Delete the cell": "tooltip of the cell toolbar's bin: new in JupyterLab 4.6, not in the French"
    " pack 4.5.post3 (the newest we can install); the button's icon says it",
    "Licenses": "the French pack 4.5.post3 translates JupyterLab's « Licenses » (Help menu) as"
    " « Licenses »",
    "Open With": "submenu of the file browser's context menu, declared in JupyterLab's settings"
    " schema: the French pack 4.5.post3 has no translation for it",
    "side panel content": "aria-label of JupyterLab's side panels, written without its translator"
    " (the French pack has it); read by screen readers only",
    "default": "the name of JupyterLab's workspace (an identifier), in the running sessions panel",
    "Select Last Modified Cell": "tooltip in the table of contents' toolbar: new in JupyterLab"
    " 4.6, not in the French pack 4.5.post3 (the newest we can install)",
    "Select Next Modified Cell": "the same toolbar's other button, new in JupyterLab 4.6 too",
    "Select Next Modified": "the same, as its tooltip reads while the end is cut by the shortcut",
    "true": "JupyterLab's tooltip over a file (« Inscriptible: true ») prints the boolean as is",
}

#: What the page shows, one item per text node or labelling attribute of a visible element.
COLLECT = """() => {
  const HIDDEN_TAGS = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]);
  const EDITOR = ".cm-editor, .CodeMirror";
  const CODE = "code, pre, kbd, .jp-DirListing-itemName, .jp-BreadCrumbs, .lm-Menu-itemShortcut";
  const seen = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  const stable = (id) => id && !/^id-[0-9a-f-]+$/.test(id);  // Lumino's ids change at each load
  const name = (el) => el.tagName.toLowerCase() + (stable(el.id) ? "#" + el.id : "")
    + (el.classList.length ? "." + el.classList[0] : "");
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      parts.push(name(e));
    }
    return parts.join(" < ");
  };
  const items = [{text: document.title, where: "<title>", code: false, attr: true}];
  // a menu label is one text, its mnemonic (« <u>O</u>uvrir ») a node of its own
  const UNIT = ".lm-Menu-itemLabel, .lm-MenuBar-itemLabel";
  const done = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement && (node.parentElement.closest(UNIT) || node.parentElement);
    if (!el || done.has(el)) continue;
    const raw = el.matches(UNIT) ? el.textContent : node.textContent;
    if (el.matches(UNIT)) done.add(el);
    const text = raw.replace(/\\s+/g, " ").trim();
    if (!text || HIDDEN_TAGS.has(el.tagName) || el.closest(EDITOR) || !seen(el)) continue;
    items.push({text, where: where(el), code: !!el.closest(CODE), attr: false});
  }
  const LABELS = ["aria-label", "title", "placeholder", "alt"];
  for (const el of document.body.querySelectorAll("[aria-label], [title], [placeholder], [alt], input[type=submit], input[type=button]")) {
    if (el.closest(EDITOR) || !seen(el)) continue;
    const values = LABELS.map((a) => el.getAttribute(a));
    if (el.matches("input[type=submit], input[type=button]")) values.push(el.value);
    for (const v of values) {
      if (v && v.trim()) items.push({text: v.replace(/\\s+/g, " ").trim(), where: where(el) + " @", code: false, attr: true});
    }
  }
  return items;
}"""


@dataclass(frozen=True)
class Text:
    text: str
    where: str
    code: bool = False
    attr: bool = False


def visible_texts(page) -> list[Text]:
    return [Text(**item) for item in page.evaluate(COLLECT)]


def _bare(text: str) -> str:
    """A label as written, without the ellipsis, colon or punctuation around it."""
    return text.strip().rstrip(".…:!?").strip()


def _phrase(label: str) -> re.Pattern:
    return re.compile(r"(?<![\w'])" + re.escape(label) + r"(?![\w'])")


_PHRASES = {label: _phrase(label) for label in ENGLISH if " " in label}


def _without_exceptions(text: str) -> str:
    """`text` without the labels the checker lets through (their words are not French either)."""
    for label in sorted(set(UPSTREAM), key=len, reverse=True):
        text = _phrase(label).sub(" ", text)
    return text


def english_in(text: str) -> list[str]:
    """The English labels `text` is or holds (one-word labels only as the whole text)."""
    text = _without_exceptions(text)
    bare = _bare(text)
    found = [label for label in ENGLISH if " " not in label and bare == label]
    found += [label for label, pattern in _PHRASES.items() if pattern.search(text)]
    return sorted(set(found) - set(UPSTREAM))


def unknown_words(texts: list[str]) -> list[str]:
    """Words hunspell-fr does not know, with the project's and the screens' word lists."""
    words = "\n".join(path.read_text("utf-8") for path in WORDLISTS)
    with tempfile.NamedTemporaryFile("w", suffix=".dic", encoding="utf-8") as wordlist:
        wordlist.write(words)
        wordlist.flush()
        out = subprocess.run(
            ["hunspell", "-d", "fr_FR", "-p", wordlist.name, "-l"],
            input="\n".join(prose_for_spelling(t) for t in texts),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return sorted(set(out.stdout.split()))


def _without_data(text: str, data: tuple[str, ...]) -> str:
    for value in data:
        text = text.replace(value, " ")
    return text


def problems(page, screen: str, data: tuple[str, ...] = ()) -> list[str]:
    """What is not French on `page`, one line each: the screen, the text and where it is.

    `data`: what the screen shows that is no word of any language (a séance code, a name).
    """
    texts = [t for t in visible_texts(page) if not t.code]
    found = [
        f"{screen} : anglais « {label} » dans « {t.text[:80]} » ({t.where})"
        for t in texts
        for label in english_in(t.text)
    ]
    # a text with an English label is reported once, not again word by word
    prose = [
        Text(_without_data(_without_exceptions(t.text), data), t.where)
        for t in texts
        if not english_in(t.text)
    ]
    for word in unknown_words([t.text for t in prose]):
        where = next((t for t in prose if _phrase(word).search(t.text)), None)
        place = f"« {where.text[:80]} » ({where.where})" if where else "?"
        found.append(f"{screen} : mot inconnu de hunspell-fr « {word} » dans {place}")
    return found
