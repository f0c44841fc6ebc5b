// Everyone who opens a notebook gets its kernel, also when the notebook comes from the room.
// JupyterLab 3.5 picks a notebook's kernel from its metadata when the page opens it; a person
// who joins a room gets the notebook's content (its kernelspec too) from the others a moment
// later, so their notebook stays on "No Kernel" and a cell they run does nothing. Once the
// notebook is loaded, this starts the kernel its metadata names, as the first person got.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISessionContext } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

async function startNamedKernel(
  app: JupyterFrontEnd,
  session: ISessionContext,
  context: DocumentRegistry.Context
): Promise<void> {
  await Promise.all([context.ready, session.ready, app.serviceManager.kernelspecs.ready]);
  if (session.session?.kernel || session.isDisposed) {
    return;
  }
  // a notebook's model (INotebookModel, of @jupyterlab/notebook, which this does not build on)
  const { metadata } = context.model as unknown as { metadata: { get(key: string): unknown } };
  const spec = metadata.get('kernelspec') as { name?: string } | undefined;
  const specs = app.serviceManager.kernelspecs.specs?.kernelspecs ?? {};
  if (spec?.name && specs[spec.name]) {
    await session.changeKernel({ name: spec.name });
  }
}

export const roomKernels: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:room-kernels',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: Widget, context: DocumentRegistry.Context): IDisposable => {
        const session = (panel as unknown as { sessionContext: ISessionContext }).sessionContext;
        startNamedKernel(app, session, context).catch(reason =>
          console.warn('The notebook kernel could not start', reason)
        );
        return new DisposableDelegate(() => undefined);
      }
    });
  }
};
