// Code cells that arrive from the room keep their execution count. JupyterLab 3.5 builds a
// cell that a peer's document brings (a late joiner's whole notebook, a cell a peer adds) by
// clearing its execution and copying only its outputs from the shared cell, so a late joiner
// sees "[ ]" next to outputs that everyone else sees numbered. The shared cell still holds
// the count: this puts it back into the cell's model.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

/** What this needs of a JupyterLab 3.5 code cell model and its shared cell. */
interface ICountedCell {
  type: string;
  executionCount: number | null;
  sharedModel: { execution_count?: number | null };
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
    cell.executionCount = shared;
  }
}

/** Restore every cell's count now and each added cell's once JupyterLab has built it. */
function keepCounts(cells: ICells): void {
  for (let index = 0; index < cells.length; index++) {
    restoreCount(cells.get(index));
  }
  cells.changed.connect((_, change) => {
    if (change.type === 'add') {
      // JupyterLab fills an added cell from its shared cell after inserting it
      void Promise.resolve().then(() => change.newValues.forEach(restoreCount));
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
