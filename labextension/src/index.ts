/**
 * @incubo/labextension: incubo in the learner's JupyterLab.
 *
 * - `@incubo/labextension:seance`: the room's séance (right side panel, while a séance is on);
 * - `@incubo/labextension:mes-modules`: « Mes modules » (left side bar).
 * Both ask only the learner's own server (incubo.hub.seance_panel, incubo.hub.modules_page).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { Server } from './dom';
import { ModulesPanel } from './modules';
import { SeancePanel } from './seance';

function server(app: JupyterFrontEnd): Server {
  const settings = app.serviceManager.serverSettings;
  return new Server(settings.baseUrl, settings.token);
}

const seance: JupyterFrontEndPlugin<void> = {
  id: '@incubo/labextension:seance',
  description: 'La séance de la salle : question en direct, étapes débloquées par le formateur.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const panel = new SeancePanel(app, server(app));
    void app.restored.then(() => panel.start());
  }
};

const modules: JupyterFrontEndPlugin<void> = {
  id: '@incubo/labextension:mes-modules',
  description: 'Mes modules : échéances, remise du travail et retours du formateur.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const panel = new ModulesPanel(app, server(app));
    app.shell.add(panel, 'left', { rank: 50 });
    void app.restored.then(() => panel.start());
  }
};

export default [seance, modules];
