/**
 * « Mes modules »: the learner's modules in the left side bar (incubo.hub.modules_page).
 *
 * Each module received, with its due date, its state, « Rendre mon travail » (a confirmation
 * that names the files sent, then nbgrader's exchange in the learner's own server), and once
 * the feedback is released, the score and « Voir le retour » (a new tab).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { el, Server } from './dom';

export const PANEL_ID = 'incubo-mes-modules';
const REFRESH_MS = 10000;
const ROUTE = 'incubo/modules';

const ICON = new LabIcon({
  name: 'incubo:mes-modules',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M4 3h12l4 4v14H4zm2 2v14h12V8h-3V5zm2 5h8v2H8zm0 4h8v2H8z"/></svg>'
});

/** One module as the server describes it (see docs/contracts.md, « Mes modules »). */
export interface IModule {
  id: string;
  titre: string;
  parcours: string;
  etat: string;
  classe: string;
  echeance: string;
  rendu_le: string;
  message: string;
  peut_rendre: boolean;
  fichiers: string[];
  note: string;
  retour: string;
}

export class ModulesPanel extends Widget {
  private readonly list: HTMLElement;
  private readonly said: HTMLElement;
  private shown = '';

  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly server: Server
  ) {
    super();
    this.id = PANEL_ID;
    this.title.icon = ICON;
    this.title.caption = 'Mes modules';
    this.addClass('incubo-modules');
    this.list = el('ul', { className: 'incubo-modules-liste', 'aria-label': 'Modules reçus' });
    this.said = el('p', { className: 'incubo-modules-annonce', role: 'status' });
    this.node.appendChild(
      el('section', { 'aria-labelledby': PANEL_ID + '-titre' }, [
        el('h2', { id: PANEL_ID + '-titre', text: 'Mes modules' }),
        this.said,
        this.list
      ])
    );
  }

  start(): void {
    const tick = async () => {
      if (this.isVisible) {
        await this.refresh();
      }
      window.setTimeout(tick, REFRESH_MS);
    };
    void tick();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      const [response, body] = await this.server.json(ROUTE);
      if (response.ok) {
        this.render(body.modules || []);
      }
    } catch {
      // the server is restarting: the next look will do
    }
  }

  private render(modules: IModule[]): void {
    const key = JSON.stringify(modules);
    if (key === this.shown) {
      return;
    }
    this.shown = key;
    const focused = document.activeElement?.getAttribute('data-focus-key');
    if (!modules.length) {
      this.list.replaceChildren(
        el('li', {
          className: 'incubo-modules-vide',
          text: "Aucun module n'est encore arrivé dans votre espace."
        })
      );
      return;
    }
    this.list.replaceChildren(...modules.map(m => this.item(m)));
    if (focused) {
      (this.node.querySelector(`[data-focus-key="${focused}"]`) as HTMLElement | null)?.focus();
    }
  }

  private item(m: IModule): HTMLElement {
    const details = [m.echeance, m.rendu_le, m.note].filter(text => text);
    const actions = el('div', { className: 'incubo-modules-actions' });
    if (m.peut_rendre) {
      const button = el('button', {
        type: 'button',
        text: 'Rendre mon travail',
        'aria-label': 'Rendre mon travail : ' + m.titre,
        'data-focus-key': 'rendre-' + m.id
      });
      button.addEventListener('click', () => void this.handIn(m));
      actions.appendChild(button);
    }
    if (m.retour) {
      actions.appendChild(
        el('a', {
          href: this.server.base + m.retour,
          target: '_blank',
          rel: 'noopener',
          text: 'Voir le retour',
          'aria-label': 'Voir le retour : ' + m.titre + ' (nouvel onglet)',
          'data-focus-key': 'retour-' + m.id
        })
      );
    }
    return el('li', { className: 'incubo-module', 'data-module': m.id }, [
      el('h3', { text: m.titre }),
      m.parcours ? el('p', { className: 'incubo-modules-parcours', text: m.parcours }) : null,
      el('p', {}, [
        el('span', { className: 'incubo-etat ' + m.classe, text: m.etat }),
        ...details.map(text => ' · ' + text)
      ]),
      m.message ? el('p', { className: 'incubo-modules-message', text: m.message }) : null,
      actions
    ]);
  }

  private async confirm(m: IModule): Promise<boolean> {
    const body = new Widget();
    body.node.append(
      el('p', { text: `Ces fichiers du module « ${m.titre} » seront envoyés à votre formateur :` }),
      el('ul', {}, m.fichiers.map(name => el('li', { text: name }))),
      el('p', {
        text: m.echeance
          ? `Vous pourrez rendre à nouveau jusqu'à l'échéance (${m.echeance}) : la dernière copie compte.`
          : 'Vous pourrez rendre à nouveau : la dernière copie compte.'
      })
    );
    const result = await showDialog({
      title: 'Rendre mon travail',
      body,
      buttons: [
        Dialog.cancelButton({ label: 'Annuler' }),
        Dialog.okButton({ label: 'Rendre' })
      ]
    });
    return result.button.accept;
  }

  private async handIn(m: IModule): Promise<void> {
    if (!(await this.confirm(m))) {
      return;
    }
    try {
      await this.app.commands.execute('docmanager:save-all');
    } catch {
      // nothing open, or nothing to save
    }
    this.said.textContent = `Envoi de « ${m.titre} »…`;
    try {
      const [response, body] = await this.server.json(
        `${ROUTE}/${encodeURIComponent(m.id)}/rendre`,
        { method: 'POST' }
      );
      this.said.textContent = response.ok
        ? body.message
        : body.erreur || "Votre travail n'a pas pu être envoyé : réessayez.";
    } catch {
      this.said.textContent = "Votre travail n'a pas pu être envoyé : réessayez.";
    }
    this.shown = '';
    await this.refresh();
  }
}
