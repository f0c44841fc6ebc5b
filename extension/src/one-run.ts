// When people run one cell at about the same moment, the room shows one of the runs, the same
// in every page (common/one-run.ts says how).

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { NotebookActions } from '@jupyterlab/notebook';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';
import { ISignal } from '@lumino/signaling';
import * as Y from 'yjs';

import { OneRunWins } from './common/one-run';

export { ignoreLosingConcurrentSets } from './common/one-run';

/** What this needs of JupyterLab 3.5's code cell model. */
interface ICellModel {
  sharedModel: { ymodel?: Y.Map<unknown>; execution_count?: number | null };
  /** its outputs, and the slot that copies their changes into the shared cell */
  outputs?: { changed: ISignal<unknown, unknown> };
  onModelDBOutputsChange?: (sender: unknown, change: unknown) => void;
  /** the model's slot for changes of its shared cell */
  _onSharedModelChanged(sender: unknown, change: unknown): void;
}
interface INotebook {
  model: { sharedModel: { ydoc?: Y.Doc } } | null;
}

/** A cell whose run lost: until the run ends, what its kernel adds stays in this page. */
function holdBack(cell: ICellModel): () => void {
  const { outputs, onModelDBOutputsChange: copyToShared } = cell;
  if (!outputs || !copyToShared) {
    return () => undefined;
  }
  outputs.changed.disconnect(copyToShared, cell);
  return () => {
    outputs.changed.connect(copyToShared, cell);
    // show the room's outputs and count again, as if the room had just sent them
    const count = cell.sharedModel.execution_count ?? null;
    cell._onSharedModelChanged(cell.sharedModel, {
      outputsChange: [],
      executionCountChange: { oldValue: null, newValue: count }
    });
  };
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
    const models = new WeakMap<Y.Map<unknown>, ICellModel>();
    const heldBack = new WeakMap<Y.Map<unknown>, () => void>();
    const runsOf = (notebook: INotebook): OneRunWins | null => {
      const doc = notebook.model?.sharedModel.ydoc;
      if (!doc) {
        return null;
      }
      if (!runs.has(doc)) {
        const lost = (shared: Y.Map<unknown>): void => {
          const model = models.get(shared);
          if (model) {
            heldBack.set(shared, holdBack(model));
          }
        };
        runs.set(doc, new OneRunWins(doc, lost));
        doc.on('destroy', () => runs.get(doc)?.dispose());
      }
      return runs.get(doc) ?? null;
    };
    NotebookActions.executionScheduled.connect((_, { notebook, cell }) => {
      const model = cell.model as unknown as ICellModel;
      const shared = model.sharedModel.ymodel;
      if (shared) {
        models.set(shared, model);
        runsOf(notebook as unknown as INotebook)?.begin(shared);
      }
    });
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      const shared = (cell.model as unknown as ICellModel).sharedModel.ymodel;
      if (shared) {
        runsOf(notebook as unknown as INotebook)?.end(shared);
        heldBack.get(shared)?.();
        heldBack.delete(shared);
      }
    });
  }
};
