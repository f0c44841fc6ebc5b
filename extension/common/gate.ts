// The gate between the document a page shows and the room (DESIGN.md, rules 1, 3, 4 and 5).
// y-webrtc syncs a separate "wire" document, which always mirrors the room. The shown document
// sends every change to the wire, but receives the room's changes only once it holds content:
// the room's, or its own load of the file, made with item ids derived from the file.

import * as Y from 'yjs';

/** A root map of the shared document: one key per load of the file into the room. */
export const LOADS = 'jupyterlite-webrtc-safe-load:loads';

/** Transaction origin of what the room sends in: the gate is the only way room changes reach
 * the shown document, so this tells them apart (JupyterLab 3's peer content guard). */
export const FROM_ROOM = Symbol('from the room');

export interface IGateOptions {
  /** the document the page shows */
  doc: Y.Doc;
  /** its content: the text, or the cells; a load's items are what it inserts there */
  content: (doc: Y.Doc) => Y.AbstractType<any>;
  /** A load of this peer lost to another, different one (rule 5): `version` is the document
   * as this peer had it, without the other loads' items, to be kept as a copy. */
  onOwnVersionLost: (version: Y.Doc) => void;
}

export class RoomGate {
  /** the room's copy, which y-webrtc syncs */
  readonly wire = new Y.Doc();

  constructor(private options: IGateOptions) {
    const { doc } = options;
    this._sendToRoom(Y.encodeStateAsUpdate(doc), null);
    doc.on('update', this._sendToRoom);
    this.wire.on('update', this._receiveFromRoom);
  }

  get isOpen(): boolean {
    return this._open;
  }

  /** The room holds a load: its content can be adopted. */
  get roomHasLoad(): boolean {
    return this.wire.getMap(LOADS).size > 0;
  }

  /** Adopt the room's content: open the gate. */
  adopt(): void {
    this._openGate();
  }

  /** Load the file: what `insert` puts into the content gets the load's id (`loadId`, derived
   * from the file), the load is recorded as `loads[loadId] = loadKey` (a hash of what it
   * shows), and the gate opens. Only the inserts get that id: the document's other state
   * already has items of the peer's own id, and an item with a shared id but different
   * neighbours on different peers would corrupt the document. */
  load(loadId: number, loadKey: number, insert: () => void): void {
    this.beginLoad(loadId, loadKey);
    try {
      insert();
    } finally {
      this._stopGivingLoadId();
    }
    this.endLoad();
  }

  /** Begin a load that someone else inserts (JupyterLab 3.5 inserts the file itself, after the
   * provider said the room has no content): from now on, what is inserted into the content
   * gets the load's id, as in `load`. The load ends at `endLoad()`, or right after the
   * synchronous run that made the first insert (a microtask later): JupyterLab inserts the
   * whole file in one run, and the gate need not wait for the rest of its opening steps. */
  beginLoad(loadId: number, loadKey: number): void {
    const { doc } = this.options;
    const content = this.options.content(doc) as any;
    this._loadId = loadId;
    this._loadKey = loadKey;
    content.insert = (...args: unknown[]) => {
      const own = doc.clientID;
      doc.clientID = loadId;
      try {
        return Object.getPrototypeOf(content).insert.apply(content, args);
      } finally {
        doc.clientID = own;
        queueMicrotask(() => this.endLoad());
      }
    };
  }

  /** End the load begun by `beginLoad`, once: inserts stop getting its id, the load is
   * recorded (identical loads write an identical entry; its key tells whose items a load
   * made), and the gate opens. */
  endLoad(): void {
    const { doc } = this.options;
    if (this._open || this._loadId === null) {
      return;
    }
    this._stopGivingLoadId();
    const own = doc.clientID;
    doc.clientID = this._loadId;
    try {
      doc.getMap(LOADS).set(String(this._loadId), this._loadKey);
    } finally {
      doc.clientID = own;
    }
    this._openGate();
  }

  /** The document as it stands, without the items of any load but `load`: a copy. */
  versionOf(load: number, doc: Y.Doc = this.options.doc): Y.Doc {
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    const content = this.options.content(copy);
    for (const key of copy.getMap(LOADS).keys()) {
      if (Number(key) !== load) {
        deleteItemsOf(content, Number(key));
      }
    }
    return copy;
  }

  destroy(): void {
    this._stopGivingLoadId();
    this.options.doc.off('update', this._sendToRoom);
    this.options.doc.getMap(LOADS).unobserve(this._keepOneLoad);
    this.wire.destroy();
  }

  private _stopGivingLoadId(): void {
    delete (this.options.content(this.options.doc) as any).insert;
  }

  private _sendToRoom = (update: Uint8Array, origin: unknown): void => {
    if (origin !== FROM_ROOM) {
      Y.applyUpdate(this.wire, update, FROM_ROOM);
    }
  };

  private _receiveFromRoom = (update: Uint8Array, origin: unknown): void => {
    if (this._open && origin !== FROM_ROOM) {
      this._keepOwnVersionIfLosing();
      this._takeVersionIfWiped(update);
      Y.applyUpdate(this.options.doc, update, FROM_ROOM);
    }
  };

  /** A peer with the winning load deletes the others' items (rule 5) as soon as it has them,
   * and that deletion may reach this peer before the winning load does: a peer can answer a
   * connection's first message before it sends its own (simple-peer reports a connection open
   * a moment after data can flow). So this peer's version is taken when a room update deletes
   * all that the document still shows of its content's load, for the loss that follows. */
  private _takeVersionIfWiped(update: Uint8Array): void {
    const mine = this._contentId;
    const { ds } = Y.decodeUpdate(update);
    if (mine === null || !ds.clients.has(mine)) {
      return;
    }
    const content = this.options.content(this.options.doc);
    let shown = false;
    for (let item = content._start; item !== null; item = item.right) {
      if (!item.deleted && item.id.client === mine) {
        const last = Y.createID(mine, item.id.clock + item.length - 1);
        if (!Y.isDeleted(ds, item.id) || !Y.isDeleted(ds, last)) {
          return;
        }
        shown = true;
      }
    }
    if (shown) {
      this._wipedVersion = this.versionOf(mine);
    }
  }

  private _openGate(): void {
    const { doc } = this.options;
    this._open = true;
    this._contentId = this._loadId ?? winnerOf(this.wire.getMap(LOADS));
    this._keepOwnVersionIfLosing();
    const missing = Y.encodeStateAsUpdate(this.wire, Y.encodeStateVector(doc));
    Y.applyUpdate(doc, missing, FROM_ROOM);
    doc.getMap(LOADS).observe(this._keepOneLoad);
    this._keepOneLoad();
  }

  /** Peers that loaded different files apart hold two loads once they meet (rule 5). This
   * peer's version is taken when the room (the wire) holds the winning load and before the
   * document gets it: the same update may already delete this peer's items. */
  private _keepOwnVersionIfLosing(): void {
    const loads = this.wire.getMap(LOADS);
    const mine = this._contentId;
    const winner = winnerOf(loads);
    if (mine === null || winner === null || mine === winner) {
      return;
    }
    this._contentId = winner;
    // Same visible content loaded twice (loads with random ids) loses nothing.
    if (loads.get(String(mine)) !== loads.get(String(winner))) {
      this.options.onOwnVersionLost(this._wipedVersion ?? this.versionOf(mine));
    }
    this._wipedVersion = null;
  }

  /** Every peer deletes the items of every load but the winner's. */
  private _keepOneLoad = (): void => {
    const { doc } = this.options;
    const loads = doc.getMap(LOADS);
    if (loads.size < 2) {
      return;
    }
    const winner = winnerOf(loads) as number;
    this._contentId = winner;
    doc.transact(() => {
      for (const key of loads.keys()) {
        if (Number(key) !== winner) {
          deleteItemsOf(this.options.content(doc), Number(key));
        }
      }
    }, this);
  };

  private _open = false;
  private _loadId: number | null = null;
  private _loadKey = 0;
  private _contentId: number | null = null;
  /** this peer's version as the room deleted it, before the winning load arrived */
  private _wipedVersion: Y.Doc | null = null;
}

/** The load that wins among a document's loads: the smallest id. The rule depends only on the
 * set of loads, so peers that see loads arrive in different orders end with the same one. */
export function winnerOf(loads: Y.Map<unknown>): number | null {
  const ids = [...loads.keys()].map(Number);
  return ids.length ? Math.min(...ids) : null;
}

/** Delete the visible items that `client` inserted directly into `type` (text or an array),
 * those from its clock `since` on. */
export function deleteItemsOf(type: Y.AbstractType<any>, client: number, since = 0): void {
  const ranges: [number, number][] = [];
  let index = 0;
  for (let item = type._start; item !== null; item = item.right) {
    if (!item.deleted && item.countable) {
      if (item.id.client === client && item.id.clock >= since) {
        ranges.push([index, item.length]);
      }
      index += item.length;
    }
  }
  for (const [start, length] of ranges.reverse()) {
    (type as Y.Text | Y.Array<unknown>).delete(start, length);
  }
}

/** Whether a transaction of the shown document is one the gate brought in from the room. */
export function isFromRoom(origin: unknown): boolean {
  return origin === FROM_ROOM;
}
