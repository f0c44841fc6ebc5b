// Code cells keep the execution count the room holds. JupyterLab 3.5 clears a cell's count
// whenever it copies outputs from the shared cell: when it builds a cell that a peer's
// document brings (a late joiner's whole notebook, a cell a peer adds), and when outputs
// change in the room after a run (a losing run's outputs leave, common/one-run.ts). The page
// then shows "[ ]" next to outputs that everyone else sees numbered. The shared cell still
// holds the count: this puts it back into the cell's model.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

/** What this needs of a JupyterLab 3.5 code cell model and its shared cell. */
interface ICountedCell {
  type: string;
  executionCount: number | null;
  sharedModel: { execution_count?: number | null; changed: ISignal<unknown, unknown> };
  /** the model's slot for changes of its shared cell */
  _onSharedModelChanged(sender: unknown, change: unknown): void;
}

interface ICells {
  length: number;
  get(index: number): ICountedCell;
  changed: {
    connect(
      slot: (sender: unknown, change: { type: string; newValues: ICountedCell[] }) => void
    ): void;
  };
}

function restoreCount(cell: ICountedCell): void {
  const shared = cell.sharedModel.execution_count ?? null;
  if (cell.type === 'code' && cell.executionCount === null && shared !== null) {
    // as if the room had just sent the count: the model takes it without writing it back
    // (a write would race the count of the next run, which the room may be bringing)
    const executionCountChange = { oldValue: null, newValue: shared };
    cell._onSharedModelChanged(cell.sharedModel, { executionCountChange });
  }
}

/** Restore a code cell's count now and after each change of its shared cell (this slot runs
 * after the model's own, which cleared it). */
function keepCount(cell: ICountedCell): void {
  if (cell.type === 'code') {
    restoreCount(cell);
    cell.sharedModel.changed.connect(() => restoreCount(cell));
  }
}

/** Keep every cell's count, and each added cell's once JupyterLab has built it. */
function keepCounts(cells: ICells): void {
  for (let index = 0; index < cells.length; index++) {
    keepCount(cells.get(index));
  }
  cells.changed.connect((_, change) => {
    if (change.type === 'add') {
      // JupyterLab fills an added cell from its shared cell after inserting it
      void Promise.resolve().then(() => change.newValues.forEach(keepCount));
    }
  });
}

export const executionCounts: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:execution-counts',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (_: Widget, context: DocumentRegistry.Context): IDisposable => {
        void context.ready.then(() =>
          keepCounts((context.model as unknown as { cells: ICells }).cells)
        );
        return new DisposableDelegate(() => undefined);
      }
    });
  }
};
