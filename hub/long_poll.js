// The one long-poll loop of the room's pages (the dashboard and a séance's projection), put into
// each page where it says LONG_POLL (incubo.hub.pages). The page asks « donnees?depuis=<version> »;
// the service answers as soon as its view is newer (or after its long-poll delay), and the page
// asks again at once. On a failure the page says so in #etat and asks again after RETRY_MS.
const RETRY_MS = __RETRY_MS__;
const XSRF = "__XSRF__";  // JupyterHub accepts its login cookie on fetch() only with this token
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function longPoll(render, lostText, onMissing) {
  let version = -1;
  async function tick() {
    try {
      const r = await fetch("donnees?depuis=" + version, {credentials: "same-origin", cache: "no-store", headers: {"X-XSRFToken": XSRF}});
      if (r.status === 404 && onMissing) { onMissing(); return; }
      if (!r.ok) throw new Error(r.status);
      const d = await r.json();
      version = d.version;
      render(d);
      if (d.erreur) document.getElementById("etat").appendChild(el("span", " · " + d.erreur, "erreur"));
      setTimeout(tick, 0);
    } catch (e) {
      document.getElementById("etat").replaceChildren(el("span", lostText, "erreur"));
      setTimeout(tick, RETRY_MS);
    }
  }
  tick();
}
