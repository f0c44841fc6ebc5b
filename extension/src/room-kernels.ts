// Everyone who opens a notebook gets its kernel, also when the notebook's content comes from
// the room. JupyterLab 3.5.3 keeps a notebook's `kernelspec` and `language_info` out of the
// shared document (NotebookModel copies neither into it, and keeps its own over the room's),
// so a person who adopts the room's content (DESIGN.md, rule 2) never gets them: their model
// holds the empty kernelspec JupyterLab gives every new model, SessionContext finds no kernel
// name and asks "Select Kernel", and their notebook stays on "No Kernel" until they answer.
// So, when the notebook widget is made (before JupyterLab opens the document: an adopting
// peer saves the room's content over this browser's copy, without kernelspec), this reads
// the kernel name of the notebook as this browser has it (its own copy, else the published
// file) and makes it the session's preferred kernel. JupyterLab uses it only when the model
// names none (Context._populate: `model.defaultKernelName || kernelPreference.name`), so a
// peer that loads the file starts the kernel it names as before.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { Contents } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

/** The kernel name the notebook at `path` names, as this browser has it; '' if none. */
async function storedKernelName(contents: Contents.IManager, path: string): Promise<string> {
  const file = await contents.get(path, { type: 'notebook', format: 'json', content: true });
  return (file.content?.metadata?.kernelspec?.name as string | undefined) ?? '';
}

export const roomKernels: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:room-kernels',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: Widget, context: DocumentRegistry.Context): IDisposable => {
        const session = (panel as unknown as { sessionContext: ISessionContext }).sessionContext;
        storedKernelName(app.serviceManager.contents, context.path)
          .then(name => {
            if (name && !session.kernelPreference.name) {
              session.kernelPreference = { ...session.kernelPreference, name };
            }
          })
          .catch(() => undefined); // a notebook this browser has no copy of: JupyterLab asks
        return new DisposableDelegate(() => undefined);
      }
    });
  }
};
