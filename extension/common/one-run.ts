// One run of a cell shows in the room. Each person runs their own kernel; a run clears the
// cell's outputs and adds its own. When two people run one cell at about the same moment,
// neither clear sees the other's outputs, and Yjs keeps both: every page would show both runs.
// So each run claims the cell in the document's RUNS map. Yjs settles concurrent claims of one
// key the same way in every page; the page whose claim lost deletes the outputs it added
// since its run began (only its own: it knows them by its client id and clock). Every page
// then shows the winning run's outputs alone (DESIGN.md, "Runs").

import * as Y from 'yjs';

import { deleteItemsOf } from './gate';

/** A root map of the shared document: cell key -> the claim of its latest run. */
export const RUNS = 'jupyterlite-webrtc-safe-load:runs';

interface IClaim {
  client: number;
  clock: number;
}

interface IOwnRun {
  cell: Y.Map<unknown>;
  claim: IClaim;
  running: boolean;
  lost: boolean;
}

/** A shared cell's key: the id of its item, the same in every page of the room. */
export function cellKey(cell: Y.Map<unknown>): string | null {
  const id = cell._item?.id;
  return id ? `${id.client}:${id.clock}` : null;
}

export class OneRunWins {
  /** `onLost(cell)`: this page's run of the cell lost, and still runs. What the page adds to the
   * cell from now on must not reach the room: JupyterLab appends a stream to the last output
   * by replacing it, and that output may be the winner's. */
  constructor(
    private doc: Y.Doc,
    private onLost: (cell: Y.Map<unknown>) => void = () => undefined
  ) {
    doc.on('afterTransaction', this._settleSoon);
  }

  /** This page begins a run of `cell` (before its kernel gets the code). */
  begin(cell: Y.Map<unknown>): void {
    const key = cellKey(cell);
    if (key === null) {
      return;
    }
    const claim = {
      client: this.doc.clientID,
      clock: Y.getState(this.doc.store, this.doc.clientID)
    };
    this._own.set(key, { cell, claim, running: true, lost: false });
    this.doc.transact(() => this.doc.getMap(RUNS).set(key, claim), this);
  }

  /** This page's run of `cell` ended (its kernel replied). */
  end(cell: Y.Map<unknown>): void {
    const key = cellKey(cell);
    const run = key === null ? undefined : this._own.get(key);
    if (run) {
      run.running = false;
      this._settleSoon();
    }
  }

  dispose(): void {
    this.doc.off('afterTransaction', this._settleSoon);
  }

  /** Settle after the change that called, outside it: JupyterLab 3.5 copies a change of the
   * shared cell into the cell it shows only when no change of its own is under way. */
  private _settleSoon = (): void => {
    if (!this._scheduled) {
      this._scheduled = true;
      queueMicrotask(() => {
        this._scheduled = false;
        this._settle();
      });
    }
  };

  /** The outputs of each own run that lost its claim go. A lost run is
   * forgotten once it ended; a run that still holds its claim is kept, as a later claim that
   * was made concurrently may yet arrive. */
  private _settle = (): void => {
    const runs = this.doc.getMap<IClaim>(RUNS);
    for (const [key, run] of this._own) {
      const claim = runs.get(key);
      if (claim?.client === run.claim.client && claim.clock === run.claim.clock) {
        continue;
      }
      const outputs = run.cell.get('outputs');
      if (outputs instanceof Y.Array && hasItemsOf(outputs, run.claim)) {
        this.doc.transact(() => deleteItemsOf(outputs, run.claim.client, run.claim.clock), this);
      }
      if (run.running && !run.lost) {
        run.lost = true;
        this.onLost(run.cell);
      }
      if (!run.running) {
        this._own.delete(key);
      }
    }
  };

  private _own = new Map<string, IOwnRun>();
  private _scheduled = false;
}

function hasItemsOf(type: Y.AbstractType<any>, { client, clock }: IClaim): boolean {
  for (let item = type._start; item !== null; item = item.right) {
    if (!item.deleted && item.id.client === client && item.id.clock >= clock) {
      return true;
    }
  }
  return false;
}

/**
 * JupyterLab 3.5's shared cell reads the old value of each key a change touched, and throws
 * when there is none: a key set by two people at once (their runs' execution counts) gets a
 * value that lost, which changes nothing and has no old value. The throw stops the cell from
 * following the room (its outputs, for good). Such a key is taken out of the change before
 * the observers see it.
 */
export function ignoreLosingConcurrentSets(ydoc: Y.Doc): void {
  ydoc.on('beforeObserverCalls', (transaction: Y.Transaction) => {
    transaction.changed.forEach((keys, type) => {
      if (!(type instanceof Y.Map)) {
        return;
      }
      for (const key of keys) {
        const item = key === null ? undefined : type._map.get(key);
        const added = item && item.id.clock >= (transaction.beforeState.get(item.id.client) ?? 0);
        if (item && !added && !Y.isDeleted(transaction.deleteSet, item.id)) {
          keys.delete(key);
        }
      }
    });
  });
}
