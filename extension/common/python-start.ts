// When Python cannot start, say why. The Pyodide kernel loads Python from its `pyodideUrl`
// (jupyter-lite.json: a public CDN, or the site itself with python_from: site); when the
// network blocks that address, as many school networks block CDNs, its kernel stays
// "Unknown" forever and says nothing. When the first kernel session starts, this asks for that address
// once and, if nothing comes back, tells the person why and what to tell the site owner.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';

const KERNEL_PLUGIN = '@jupyterlite/pyodide-kernel-extension:kernel';

/** Where this site's Pyodide kernel loads Python from, or null if the site sets none. */
function pyodideUrl(): string | null {
  const settings = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}');
  const url: string | undefined = settings[KERNEL_PLUGIN]?.pyodideUrl;
  return url ? URLExt.parse(url).href : null;
}

/** Why the browser cannot load `url`, or null if it can. */
async function unreachable(url: string): Promise<string | null> {
  try {
    const response = await fetch(url, { method: 'HEAD', cache: 'no-store' });
    return response.ok ? null : `${url} answers ${response.status}`;
  } catch {
    return `this browser cannot reach ${new URL(url).host}`;
  }
}

export const pythonStart: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:python-start',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    const url = pyodideUrl();
    const sessions = app.serviceManager.sessions;
    if (!url) {
      return;
    }
    const check = async (): Promise<void> => {
      sessions.runningChanged.disconnect(check);
      const why = await unreachable(url);
      if (!why) {
        return;
      }
      const fromSite = new URL(url).origin === window.location.origin;
      void showErrorMessage(
        'Python cannot start',
        fromSite
          ? `Python cannot start: ${why}. Reload the page; if it happens again, tell the ` +
              "site's owner that the site's Python (static/pyodide/) is missing."
          : `Python cannot start: ${why} (the network may block it, as many school ` +
              'networks block public CDNs). You can still edit documents together. Tell the ' +
              "site's owner: serve Python from the site itself (the template's answer " +
              'python_from: site).'
      );
    };
    sessions.runningChanged.connect(check);
  }
};
