// What the room writes into a shared document is content, never code that runs in the
// receiving page (DESIGN.md, "What a peer's content can do in your page"): the parts of that
// which are plain Yjs. A transaction is the room's when its origin is the gate's (isFromRoom,
// in the page's provider), never by Yjs client ids: a peer can write under any id.

import * as Y from 'yjs';

/** A colour as the sites give them. A peer's colour lands in CSS (cursors, who is here), where
 * anything else could bring its own CSS. */
const COLOUR = /^#[0-9a-fA-F]{3,8}$/;
export const STRANGER_COLOUR = '#808080';

/** The colour to show for a peer's `color`. */
export function colourOf(value: unknown): string {
  return typeof value === 'string' && COLOUR.test(value) ? value : STRANGER_COLOUR;
}

/** The part of y-protocols' Awareness used here. */
export interface IPeerAwareness {
  clientID: number;
  getStates(): Map<number, { user?: Record<string, unknown> }>;
  on(event: 'change', handler: () => void): void;
  off(event: 'change', handler: () => void): void;
}

/** Peers' colours are colours, and peers have no avatar picture (an address of their choosing
 * that the page would load; nobody on these sites has one). */
export function guardPeersIdentity(awareness: IPeerAwareness): () => void {
  const guard = (): void => {
    for (const [id, state] of awareness.getStates()) {
      const user = state.user;
      if (id !== awareness.clientID && user) {
        if (user.color !== colourOf(user.color)) {
          user.color = colourOf(user.color);
        }
        delete user.avatar_url;
      }
    }
  };
  awareness.on('change', guard);
  guard();
  return () => awareness.off('change', guard);
}

export interface IRoomChangesOptions {
  doc: Y.Doc;
  /** whether a transaction's origin is the room's (the gate's) */
  isFromRoom: (origin: unknown) => boolean;
  /** the document's state map, where a `path` would move the document to another file */
  state: Y.Map<unknown>;
  /** a notebook's cells (maps), or null */
  cells: Y.Array<unknown> | null;
}

/**
 * Watches what the room changes in one shared document, before the page's observers see it:
 * - a `path` the room writes is hidden from the observers (JupyterLab follows a shared path:
 *   this page's next save would write over another file of its own); each page keeps its own;
 * - a cell's `trusted` metadata is removed from every cell the room inserted, or whose
 *   metadata, outputs or attachments it changed (JupyterLab makes a cell trusted from it when it
 *   creates the cell, and when a saved copy opens alone);
 * - `applying` says, while the observers run, that the changes they see are the room's.
 */
export class RoomChanges {
  constructor(private options: IRoomChangesOptions) {
    options.doc.on('beforeObserverCalls', this._before);
    options.doc.on('afterTransaction', this._after);
  }

  /** The observers now running see a transaction from the room. */
  get applying(): boolean {
    return this._applying;
  }

  dispose(): void {
    this.options.doc.off('beforeObserverCalls', this._before);
    this.options.doc.off('afterTransaction', this._after);
  }

  private _before = (transaction: Y.Transaction): void => {
    if (!this.options.isFromRoom(transaction.origin)) {
      return;
    }
    this._applying = true;
    transaction.changed.get(this.options.state as Y.AbstractType<any>)?.delete('path');
    const cells = this.options.cells;
    if (cells) {
      const untrusted = cellsChangedBeyondSource(transaction, cells).filter(cell =>
        (cell.get('metadata') as Y.Map<unknown> | undefined)?.has('trusted')
      );
      // A transaction of its own (this one is done); the cell models are made after this.
      for (const cell of untrusted) {
        (cell.get('metadata') as Y.Map<unknown>).delete('trusted');
      }
    }
  };

  private _after = (transaction: Y.Transaction): void => {
    if (this.options.isFromRoom(transaction.origin)) {
      this._applying = false;
    }
  };

  private _applying = false;
}

/** The cells (maps in `cells`) that `transaction` inserted, or in which it changed anything
 * but the source. */
export function cellsChangedBeyondSource(
  transaction: Y.Transaction,
  cells: Y.Array<unknown>
): Y.Map<unknown>[] {
  const found = new Set<Y.Map<unknown>>();
  for (let item = cells._start; item !== null; item = item.right) {
    const isNew = item.id.clock >= (transaction.beforeState.get(item.id.client) ?? 0);
    if (!item.deleted && isNew) {
      for (const cell of item.content.getContent()) {
        found.add(cell as Y.Map<unknown>);
      }
    }
  }
  transaction.changed.forEach((keys, type) => {
    let child: Y.AbstractType<any> = type;
    let key: string | null = null; // the cell's key that holds `type`; null: `type` is the cell
    while (child._item !== null) {
      const parent = child._item.parent as Y.AbstractType<any>;
      if (parent === cells) {
        const changed = key === null ? [...keys] : [key];
        if (changed.some(name => name !== 'source')) {
          found.add(child as Y.Map<unknown>);
        }
        return;
      }
      key = child._item.parentSub;
      child = parent;
    }
  });
  return [...found];
}
