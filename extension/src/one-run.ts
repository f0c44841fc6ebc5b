// When people run one cell at about the same moment, the room shows one of the runs, the same
// in every page (common/one-run.ts says how).

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { NotebookActions } from '@jupyterlab/notebook';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';
import * as Y from 'yjs';

import { OneRunWins } from './common/one-run';

export { ignoreLosingConcurrentSets } from './common/one-run';

/** What this needs of JupyterLab 3.5's notebook and cell: their shared models. */
interface IShared {
  model: { sharedModel: { ydoc?: Y.Doc; ymodel?: Y.Map<unknown> } } | null;
}

export const oneRun: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:one-run',
  autoStart: true,
  requires: [IWebRtcManager],
  activate: (_: JupyterFrontEnd, manager: IWebRtcManager): void => {
    if (manager.disabled) {
      return;
    }
    const runs = new WeakMap<Y.Doc, OneRunWins>();
    const runsOf = (notebook: IShared): OneRunWins | null => {
      const doc = notebook.model?.sharedModel.ydoc;
      if (!doc) {
        return null;
      }
      if (!runs.has(doc)) {
        runs.set(doc, new OneRunWins(doc));
        doc.on('destroy', () => runs.get(doc)?.dispose());
      }
      return runs.get(doc) ?? null;
    };
    NotebookActions.executionScheduled.connect((_, { notebook, cell }) => {
      const shared = (cell as unknown as IShared).model?.sharedModel.ymodel;
      if (shared) {
        runsOf(notebook as unknown as IShared)?.begin(shared);
      }
    });
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      const shared = (cell as unknown as IShared).model?.sharedModel.ymodel;
      if (shared) {
        runsOf(notebook as unknown as IShared)?.end(shared);
      }
    });
  }
};
