/**
 * The room's séance in the learner's JupyterLab (right side panel), ported from the hand-written
 * `@incubo/seance`: same DOM, same French labels. The panel polls `<base>incubo/seance`
 * (incubo.hub.seance_panel) every two seconds; it exists only while a séance is on.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

import { el, Server, treeUrl } from './dom';

const POLL_MS = 2000;
const PANEL_ID = 'incubo-seance-panel';

/** What the server says of the séance (the dashboard service's state, plus the learner's paths). */
export interface ISeance {
  code: string;
  module?: string;
  titre?: string;
  etapes?: string[];
  optionnels?: string[];
  titres?: Record<string, string>;
  chemins?: Record<string, string>;
  sondage?: IPoll | null;
  ma_reponse?: unknown;
}

interface IPoll {
  id: string;
  type: string;
  question: string;
  options?: string[];
  ouvert?: boolean;
  revele?: boolean;
  bonne_reponse?: string;
}

const isChoice = (kind: string) => kind === 'choix-unique' || kind === 'choix-multiple';

export class SeancePanel {
  private widget: Widget | null = null;
  private code: string | null = null;
  private pollKey: string | null = null;
  private seen: Record<string, boolean> | null = null;
  private banner!: HTMLElement;
  private announce!: HTMLElement;
  private pollBox!: HTMLElement;
  private stepList!: HTMLElement;
  private optionalTitle!: HTMLElement;
  private optionalList!: HTMLElement;
  private pollSubmit!: HTMLButtonElement;
  private pollStatus!: HTMLElement;
  private pollClosed!: HTMLElement;
  private pollSolution!: HTMLElement;

  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly server: Server
  ) {}

  start(): void {
    const tick = async () => {
      try {
        const response = await this.server.request('incubo/seance');
        const data = response.ok ? await response.json() : null;
        if (data) {
          this.show(data.seance || null);
        }
      } catch {
        // the server is restarting: try again
      }
      window.setTimeout(tick, POLL_MS);
    };
    void tick();
  }

  show(seance: ISeance | null): void {
    if (!seance) {
      this.widget?.dispose();
      this.widget = null;
      this.code = null;
      return;
    }
    if (!this.widget || this.code !== seance.code) {
      this.build(seance);
    }
    this.banner.replaceChildren(
      'Séance en cours : ',
      el('strong', { text: seance.titre || seance.module || '' }),
      ' — code ',
      el('strong', { text: seance.code })
    );
    this.showSteps(seance);
    this.showPoll(seance);
  }

  private build(seance: ISeance): void {
    this.widget?.dispose();
    const widget = new Widget();
    widget.id = PANEL_ID;
    widget.title.label = 'Séance';
    widget.title.caption = 'Séance en cours';
    this.banner = el('p', { className: 'incubo-seance-bandeau' });
    this.announce = el('div', { className: 'incubo-seance-annonce', 'aria-live': 'polite' });
    this.pollBox = el('div', { className: 'incubo-seance-sondage' });
    this.stepList = el('ul', { className: 'incubo-seance-etapes' });
    this.optionalTitle = el('h3', { text: 'Pour aller plus loin', hidden: '' });
    this.optionalList = el('ul', { className: 'incubo-seance-optionnels' });
    const region = el(
      'section',
      { className: 'incubo-seance', role: 'region', 'aria-label': 'Séance en cours' },
      [
        this.banner,
        this.announce,
        this.pollBox,
        el('h3', { text: 'Étapes de la séance' }),
        this.stepList,
        this.optionalTitle,
        this.optionalList
      ]
    );
    widget.node.appendChild(region);
    this.widget = widget;
    this.code = seance.code;
    this.pollKey = null;
    this.seen = null;
    this.app.shell.add(widget, 'right', { rank: 1 });
    this.app.shell.activateById(widget.id);
  }

  private link(title: string, path: string): HTMLElement {
    const a = el('a', { href: treeUrl(this.server.base, path), text: title });
    a.addEventListener('click', event => {
      event.preventDefault();
      void this.app.commands.execute('docmanager:open', { path });
    });
    return a;
  }

  private showSteps(seance: ISeance): void {
    const titles = seance.titres || {};
    const paths = seance.chemins || {};
    const fresh: string[] = [];
    const first = this.seen === null;
    const seen = (this.seen = this.seen || {});
    const items = (names: string[], list: HTMLElement) => {
      list.replaceChildren(
        ...names.map(name => {
          const title = titles[name] || name;
          if (paths[name] && !seen[name]) {
            seen[name] = true;
            if (!first) {
              fresh.push(name);
            }
          }
          return el('li', {}, [
            paths[name] ? this.link(title, paths[name]) : title + ' (copie en cours…)'
          ]);
        })
      );
    };
    items(seance.etapes || [], this.stepList);
    const optional = (seance.optionnels || []).filter(name => paths[name]);
    items(optional, this.optionalList);
    this.optionalTitle.hidden = optional.length === 0;
    if (fresh.length) {
      const name = fresh[fresh.length - 1];
      const isOptional = (seance.optionnels || []).indexOf(name) >= 0;
      this.app.shell.activateById(PANEL_ID);
      this.announce.replaceChildren(
        isOptional ? 'Exercice supplémentaire disponible : ' : 'Nouvelle étape disponible : ',
        this.link(titles[name] || name, paths[name])
      );
    }
  }

  private showPoll(seance: ISeance): void {
    const poll = seance.sondage;
    if (!poll) {
      this.pollKey = null;
      this.pollBox.replaceChildren();
      return;
    }
    const key = seance.code + '/' + poll.id;
    if (this.pollKey !== key) {
      this.pollKey = key;
      this.buildPoll(poll, seance.ma_reponse);
      this.app.shell.activateById(PANEL_ID);
      this.announce.replaceChildren('Nouvelle question : ' + poll.question);
    }
    const closed = poll.ouvert === false;
    this.pollSubmit.disabled = closed;
    this.pollClosed.hidden = !closed;
    if (poll.revele && poll.bonne_reponse !== undefined && this.pollSolution.hidden) {
      this.pollSolution.textContent =
        'Bonne réponse : ' + (poll.bonne_reponse || 'aucune attendue');
      this.pollSolution.hidden = false;
    }
  }

  private choiceFields(poll: IPoll, previous: unknown): HTMLElement {
    const id = 'incubo-seance-' + poll.id;
    const given = previous === null || previous === undefined ? [] : previous;
    const chosen = ([] as unknown[]).concat(given).map(String);
    const fields = el('fieldset', {}, [
      el('legend', { text: poll.question }),
      ...(poll.options || []).map((text, i) => {
        const input = el('input', {
          type: poll.type === 'choix-unique' ? 'radio' : 'checkbox',
          name: id,
          value: String(i),
          id: id + '-' + i
        }) as HTMLInputElement;
        input.checked = chosen.indexOf(String(i)) >= 0;
        return el('label', { className: 'incubo-seance-choix', for: id + '-' + i }, [
          input,
          ' ' + text
        ]);
      })
    ]);
    if (poll.type === 'choix-multiple') {
      fields.appendChild(el('p', { text: 'Plusieurs réponses possibles.' }));
    }
    return fields;
  }

  private textFields(poll: IPoll, previous: unknown): HTMLElement {
    const id = 'incubo-seance-' + poll.id;
    const number = poll.type === 'nombre';
    const input = el('input', {
      type: 'text',
      id: id + '-valeur',
      name: id,
      autocomplete: 'off',
      inputmode: number ? 'decimal' : 'text',
      maxlength: '40'
    }) as HTMLInputElement;
    if (previous !== null && previous !== undefined) {
      input.value = String(previous);
    }
    return el('fieldset', {}, [
      el('legend', { text: poll.question }),
      el('label', {
        for: id + '-valeur',
        text: number ? 'Votre réponse (un nombre) :' : 'Votre réponse (un mot) :'
      }),
      el('br'),
      input
    ]);
  }

  private buildPoll(poll: IPoll, previous: unknown): void {
    const fields = isChoice(poll.type)
      ? this.choiceFields(poll, previous)
      : this.textFields(poll, previous);
    this.pollSubmit = el('button', { type: 'submit', text: 'Répondre' }) as HTMLButtonElement;
    this.pollStatus = el('p', { className: 'incubo-seance-etat', role: 'status' });
    this.pollClosed = el('p', { text: 'Ce sondage est terminé.', hidden: '' });
    this.pollSolution = el('p', { className: 'incubo-seance-solution', hidden: '' });
    if (previous !== null && previous !== undefined) {
      this.pollStatus.textContent = 'Réponse envoyée';
    }
    const form = el('form', { 'aria-label': 'Question de la séance', novalidate: '' }, [
      fields,
      this.pollSubmit,
      this.pollStatus,
      this.pollClosed,
      this.pollSolution
    ]);
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this.send(poll, form);
    });
    this.pollBox.replaceChildren(el('h2', { text: 'Question' }), form);
  }

  private answer(poll: IPoll, form: HTMLElement): unknown {
    if (isChoice(poll.type)) {
      const picked = Array.from(form.querySelectorAll('input'))
        .filter(input => input.checked)
        .map(input => Number(input.value));
      if (!picked.length) {
        this.status("Choisissez une réponse avant d'envoyer.", true);
        return undefined;
      }
      return poll.type === 'choix-unique' ? picked[0] : picked;
    }
    const text = (form.querySelector('input') as HTMLInputElement).value.trim();
    if (!text) {
      this.status("Écrivez votre réponse avant d'envoyer.", true);
      return undefined;
    }
    return text;
  }

  private async send(poll: IPoll, form: HTMLElement): Promise<void> {
    const answer = this.answer(poll, form);
    if (answer === undefined) {
      return;
    }
    const status = this.pollStatus;
    const failed = "Votre réponse n'a pas pu être envoyée : réessayez.";
    this.pollSubmit.disabled = true;
    try {
      const [response, body] = await this.server.json('incubo/seance/reponse', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sondage: poll.id, reponse: answer })
      });
      if (status === this.pollStatus) {
        this.status(response.ok ? 'Réponse envoyée' : body.erreur || failed, !response.ok);
      }
    } catch {
      this.status(failed, true);
    }
    if (status === this.pollStatus && this.pollClosed.hidden) {
      this.pollSubmit.disabled = false;
    }
  }

  private status(text: string, error: boolean): void {
    this.pollStatus.textContent = text;
    this.pollStatus.classList.toggle('erreur', error);
  }
}
