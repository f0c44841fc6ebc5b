// Follows the runs of a notebook app (JupyterLab's NotebookActions signals) and keeps one run
// of each cell in the room with OneRunWins (one-run.ts). Each flavour says how a cell whose
// run lost keeps what its kernel still adds out of the room (`holdBack`).

import * as Y from 'yjs';

import { OneRunWins } from './one-run';

/** A cell model, as both flavours have it: its shared cell's Y.Map. */
export interface IRunCell {
  sharedModel: { ymodel?: Y.Map<unknown> };
}

interface IRun {
  notebook: unknown;
  cell: { model: unknown };
}

/** NotebookActions' two signals about runs. */
export interface IRunSignals {
  executionScheduled: { connect(slot: (sender: unknown, run: IRun) => void): unknown };
  executed: { connect(slot: (sender: unknown, run: IRun) => void): unknown };
}

/** `holdBack(cell)`: the cell's run lost and still runs; returns what to do when it ends. */
export function oneRunPerCell<C extends IRunCell>(
  actions: IRunSignals,
  holdBack: (cell: C) => () => void
): void {
  const runs = new WeakMap<Y.Doc, OneRunWins>();
  const models = new WeakMap<Y.Map<unknown>, C>();
  const heldBack = new WeakMap<Y.Map<unknown>, () => void>();
  const runsOf = (notebook: unknown): OneRunWins | null => {
    const doc = (notebook as { model?: { sharedModel: { ydoc?: Y.Doc } } | null }).model
      ?.sharedModel.ydoc;
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
  actions.executionScheduled.connect((_, { notebook, cell }) => {
    const model = cell.model as C;
    const shared = model.sharedModel.ymodel;
    if (shared) {
      models.set(shared, model);
      runsOf(notebook)?.begin(shared);
    }
  });
  actions.executed.connect((_, { notebook, cell }) => {
    const shared = (cell.model as C).sharedModel.ymodel;
    if (shared) {
      runsOf(notebook)?.end(shared);
      heldBack.get(shared)?.();
      heldBack.delete(shared);
    }
  });
}
