// A WebRTC document provider that loads each document once per room. The protocol and its
// limits are described in ../DESIGN.md.

import { showDialog, Dialog } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { IDocumentProvider, IDocumentProviderFactory } from '@jupyterlab/docprovider';
import { Contents } from '@jupyterlab/services';
import { YFile, YNotebook } from '@jupyterlab/shared-models';
import { WebrtcProvider } from 'y-webrtc';
import * as Y from 'yjs';

/** A root map of the shared document: one key per load of the file into the room. */
export const LOADS = 'jupyterlite-webrtc-safe-load:loads';

/** How long a peer waits for peers it knows of before loading the file itself. */
const MAX_WAIT_MS = 8000;
/** With no signaling connection and no peer this long, the peer is on its own. */
const SIGNALING_GRACE_MS = 1000;

/** Transaction origin of what the room sends in. */
const FROM_ROOM = Symbol('from the room');

export namespace SafeLoadProvider {
  export interface IOptions extends IDocumentProviderFactory.IOptions {
    room: string;
    username: string;
    usercolor: string;
    signalingUrls: string[];
    contents: Contents.IManager;
    onPeerCount: (count: number) => void;
  }
}

/**
 * Peers meet through y-webrtc on a separate "wire" document, which always mirrors the room.
 * The document JupyterLab shows receives the room only once it holds content: either the
 * room's (another peer loaded the file) or its own load, made from the file with item ids
 * derived from the file, so that loads of the same file by several peers are the same items.
 */
export class SafeLoadProvider implements IDocumentProvider {
  constructor(private options: SafeLoadProvider.IOptions) {
    const { ymodel } = options;
    this._ydoc = ymodel.ydoc;
    this._ownClientID = this._ydoc.clientID;
    this._content =
      options.contentType === 'notebook'
        ? this._ydoc.getArray('cells')
        : this._ydoc.getText('source');
    Y.applyUpdate(this._wire, Y.encodeStateAsUpdate(this._ydoc));
    this._ydoc.on('update', this._sendToRoom);
    this._ydoc.on('afterTransaction', this._endOfLoad);
    this._wire.on('update', this._receiveFromRoom);
    // y-webrtc removes the awareness of `wire.clientID` on unload; ours is the document's.
    window.addEventListener('beforeunload', this._leave);

    const awareness = ymodel.awareness;
    if (!awareness.getLocalState()?.user) {
      awareness.setLocalStateField('user', {
        name: options.username,
        color: `#${options.usercolor}`,
      });
    }
    this._webrtc = new WebrtcProvider(`${options.room}${options.path}`, this._wire, {
      signaling: options.signalingUrls,
      password: null,
      awareness,
      // as upstream: the random part keeps a crowd from forming separate clusters
      maxConns: 20 + Math.floor(Math.random() * 15),
      filterBcConns: true,
      peerOpts: {},
    });
    this._webrtc.on('peers', () => {
      const room = this._webrtc.room;
      options.onPeerCount(room ? room.webrtcConns.size + room.bcConns.size : 0);
      this._check();
    });
    this._webrtc.on('synced', this._check);
    for (const conn of this._webrtc.signalingConns) {
      conn.on('message', this._countSubscribers);
      conn.on('disconnect', this._check);
    }
  }

  /** Resolves true when the document holds the room's content, false when JupyterLab must
   * load the file (then with this peer's load ids in place). */
  requestInitialContent(): Promise<boolean> {
    if (!this._initialContent) {
      this._initialContent = this._discover().then(async (roomHasContent) => {
        if (roomHasContent) {
          await this._keepOwnCopyIfDifferent();
          this._openGate();
          return true;
        }
        await this._prepareLoad();
        return false;
      });
    }
    return this._initialContent;
  }

  /** Called by JupyterLab after every load and save; only the first one ends the load. */
  putInitializedState(): void {
    if (this._gateOpen || this._loadId === null) {
      return;
    }
    this._ydoc.clientID = this._loadId;
    // Identical loads write an identical entry; its key tells whose items a load made.
    this._ydoc.getMap(LOADS).set(String(this._loadId), true);
    this._ydoc.clientID = this._ownClientID;
    this._loading = false;
    this._openGate();
  }

  acquireLock(): Promise<number> {
    return Promise.resolve(0);
  }

  releaseLock(): void {
    // loads are made safe by their ids, not by a lock
  }

  setPath(): void {
    // the room of a renamed document stays the room it was opened in
  }

  destroy(): void {
    window.removeEventListener('beforeunload', this._leave);
    this._leave();
    for (const conn of this._webrtc.signalingConns) {
      conn.off('message', this._countSubscribers);
      conn.off('disconnect', this._check);
    }
    this._ydoc.off('update', this._sendToRoom);
    this._ydoc.off('afterTransaction', this._endOfLoad);
    this._webrtc.destroy();
    this._wire.destroy();
    window.clearTimeout(this._timer);
  }

  // ------------------------------------------------------------ who loads

  /** Whether the room has the content (true), or this peer must load the file (false). */
  private _discover(): Promise<boolean> {
    const started = Date.now();
    return new Promise((resolve) => {
      this._decide = () => {
        const room = this._webrtc.room;
        const peers = room ? [...room.webrtcConns.values()] : [];
        const elapsed = Date.now() - started;
        if (this._wire.getMap(LOADS).size > 0) {
          return resolve(true);
        }
        const signalingUp = this._webrtc.signalingConns.some((conn: any) => conn.connected);
        const others = this._subscribers === null ? null : this._subscribers - 1;
        const alone = others === 0 && peers.length === 0;
        const offline = !signalingUp && peers.length === 0 && elapsed >= SIGNALING_GRACE_MS;
        // Everybody subscribed is connected and synced, and nobody holds content: peers
        // that opened together. Each loads; identical loads merge into one.
        const together =
          others !== null &&
          others > 0 &&
          peers.length >= others &&
          peers.every((peer: any) => peer.synced);
        if (alone || offline || together || elapsed >= MAX_WAIT_MS) {
          resolve(false);
        }
      };
      const tick = () => {
        if (this._decide) {
          this._decide();
          this._timer = window.setTimeout(tick, 100);
        }
      };
      this._wire.on('update', this._check);
      tick();
    }).then((roomHasContent) => {
      this._decide = null;
      this._wire.off('update', this._check);
      return roomHasContent as boolean;
    });
  }

  private _check = (): void => {
    this._decide?.();
  };

  /** Subscriber count of this document's topic, which the signaling server adds to every
   * message it relays (our own announcement comes back to us too). */
  private _countSubscribers = (message: any): void => {
    if (
      message?.type === 'publish' &&
      message.topic === this._webrtc.roomName &&
      typeof message.clients === 'number'
    ) {
      this._subscribers = message.clients;
      this._check();
    }
  };

  /** Read the file and switch the document to this load's id until the load is written. */
  private async _prepareLoad(): Promise<void> {
    const file = await this.options.contents.get(this.options.path, this._fileOptions());
    this._loadId = loadIdOf(file) ?? randomId();
    this._ydoc.clientID = this._loadId;
    this._loading = true;
  }

  /** JupyterLab writes the file into the document in one transaction: the load's items. */
  private _endOfLoad = (transaction: Y.Transaction): void => {
    if (this._loading && transaction.local && transaction.changed.has(this._content)) {
      this._ydoc.clientID = this._ownClientID;
      this._loading = false;
    }
  };

  // ------------------------------------------------------------ the gate

  private _sendToRoom = (update: Uint8Array, origin: unknown): void => {
    if (origin !== FROM_ROOM) {
      Y.applyUpdate(this._wire, update, FROM_ROOM);
    }
  };

  private _receiveFromRoom = (update: Uint8Array, origin: unknown): void => {
    if (this._gateOpen && origin !== FROM_ROOM) {
      Y.applyUpdate(this._ydoc, update, FROM_ROOM);
    }
  };

  private _openGate(): void {
    this._gateOpen = true;
    const missing = Y.encodeStateAsUpdate(this._wire, Y.encodeStateVector(this._ydoc));
    Y.applyUpdate(this._ydoc, missing, FROM_ROOM);
    const loads = this._ydoc.getMap(LOADS);
    this._contentId = this._loadId ?? winnerOf(loads);
    loads.observe(this._keepOneLoad);
    this._keepOneLoad();
  }

  private _leave = (): void => {
    this.options.ymodel.awareness.setLocalState(null);
  };

  // ------------------------------------------------------------ divergent loads

  /** Peers that loaded different files apart (no signaling, or too slow to meet) hold two
   * loads once they meet. Every peer keeps the load with the smallest id and deletes the
   * others' items; a peer whose own content goes first saves it as a file of its own. */
  private _keepOneLoad = (): void => {
    const loads = this._ydoc.getMap(LOADS);
    if (loads.size < 2) {
      return;
    }
    const winner = winnerOf(loads) as number;
    if (this._contentId !== null && this._contentId !== winner) {
      void this._saveCopy(this._snapshot(), 'it was merged with a different copy of the file');
      this._contentId = winner;
    }
    this._ydoc.transact(() => {
      for (const key of loads.keys()) {
        if (Number(key) !== winner) {
          deleteItemsOf(this._content, Number(key));
        }
      }
    }, this);
  };

  // ------------------------------------------------------------ the user's own copy

  /** Before JupyterLab saves the room's content over this browser's copy of the file: if
   * that copy is the user's own (not the published file) and differs from the room's,
   * keep it under another name. */
  private async _keepOwnCopyIfDifferent(): Promise<void> {
    const { contents, path } = this.options;
    let own: Contents.IModel;
    try {
      own = await contents.get(path, this._fileOptions());
    } catch {
      return; // no copy in this browser
    }
    const published = await this._published();
    const ownKey = comparable(this.options.contentType, own.content);
    if (published !== null && ownKey === comparable(this.options.contentType, published)) {
      return;
    }
    if (ownKey !== comparable(this.options.contentType, this._roomContent())) {
      await this._saveCopy(own.content, 'the room has a different version of this file');
    }
  }

  private async _published(): Promise<any | null> {
    const url = URLExt.join(PageConfig.getBaseUrl(), 'files', URLExt.encodeParts(this.options.path));
    try {
      const response = await fetch(url);
      if (!response.ok) {
        return null;
      }
      return this.options.contentType === 'notebook' ? await response.json() : await response.text();
    } catch {
      return null;
    }
  }

  /** The room's content as JupyterLab would save it (read from the wire, before the gate opens). */
  private _roomContent(): any {
    const scratch: YNotebook | YFile =
      this.options.contentType === 'notebook' ? new YNotebook({ disableDocumentWideUndoRedo: false }) : new YFile();
    Y.applyUpdate(scratch.ydoc, Y.encodeStateAsUpdate(this._wire));
    const content = contentOf(scratch);
    scratch.dispose();
    scratch.ydoc.destroy();
    return content;
  }

  private _snapshot(): any {
    return contentOf(this.options.ymodel as YFile | YNotebook);
  }

  private async _saveCopy(content: any, why: string): Promise<void> {
    const { contents, path, contentType } = this.options;
    const extension = PathExt.extname(path);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const copy = `${path.slice(0, path.length - extension.length)}-my-copy-${stamp}${extension}`;
    const format = contentType === 'notebook' ? 'json' : 'text';
    await contents.save(copy, { type: contentType as Contents.ContentType, format, content });
    void showDialog({
      title: 'Your copy was kept',
      body: `Your version of ${PathExt.basename(path)} is saved as ${PathExt.basename(copy)}: ${why}.`,
      buttons: [Dialog.okButton()],
    });
  }

  private _fileOptions(): Contents.IFetchOptions {
    const notebook = this.options.contentType === 'notebook';
    return {
      type: this.options.contentType as Contents.ContentType,
      format: notebook ? 'json' : 'text',
      content: true,
    };
  }

  private _ydoc: Y.Doc;
  private _wire = new Y.Doc();
  private _webrtc: WebrtcProvider;
  private _content: Y.AbstractType<any>;
  private _ownClientID: number;
  private _subscribers: number | null = null;
  private _initialContent: Promise<boolean> | null = null;
  private _decide: (() => void) | null = null;
  private _timer = 0;
  private _loadId: number | null = null;
  private _loading = false;
  private _gateOpen = false;
  private _contentId: number | null = null;
}

// ---------------------------------------------------------------- helpers

/** The load id of a file: derived from its content when JupyterLab turns that content into
 * the same items on every peer; none otherwise (a notebook without stable cell ids gets new
 * random ids at each load, so its loads must not share item ids). */
export function loadIdOf(file: Contents.IModel): number | null {
  if (file.type === 'notebook') {
    const notebook = file.content;
    const ids = (notebook?.cells ?? []).map((cell: any) => cell.id);
    const stable =
      notebook?.nbformat === 4 &&
      notebook.nbformat_minor >= 5 &&
      ids.every((id: unknown) => typeof id === 'string') &&
      new Set(ids).size === ids.length;
    return stable ? hash32(`notebook\n${canonicalJson(notebook)}`) : null;
  }
  // JupyterLab loads text with '\n' line endings
  return hash32(`file\n${String(file.content).replace(/\r\n?/g, '\n')}`);
}

function randomId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** FNV-1a over UTF-16 code units: a 32-bit Yjs client id. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** JSON with sorted keys: the same notebook gives the same text whoever saved it. */
export function canonicalJson(value: any): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function winnerOf(loads: Y.Map<unknown>): number | null {
  const ids = [...loads.keys()].map(Number);
  return ids.length ? Math.min(...ids) : null;
}

/** Delete the visible items that `client` inserted directly into `type` (text or cells). */
function deleteItemsOf(type: Y.AbstractType<any>, client: number): void {
  const ranges: [number, number][] = [];
  let index = 0;
  for (let item = type._start; item !== null; item = item.right) {
    if (!item.deleted && item.countable) {
      if (item.id.client === client) {
        ranges.push([index, item.length]);
      }
      index += item.length;
    }
  }
  for (const [start, length] of ranges.reverse()) {
    (type as Y.Text | Y.Array<unknown>).delete(start, length);
  }
}

/** A document's content as JupyterLab saves it. */
function contentOf(model: YFile | YNotebook): any {
  if (model instanceof YNotebook) {
    return {
      cells: model.cells.map((cell) => cell.toJSON()),
      metadata: model.getMetadata(),
      nbformat: model.nbformat ?? 4,
      nbformat_minor: model.nbformat_minor ?? 5,
    };
  }
  return model.getSource();
}

/** What users see of a content: cell types and sources, or the text. */
function comparable(contentType: string, content: any): string {
  if (contentType !== 'notebook') {
    return String(content ?? '').replace(/\r\n?/g, '\n');
  }
  const cells = (content?.cells ?? []).map((cell: any) => [
    cell.cell_type,
    Array.isArray(cell.source) ? cell.source.join('') : cell.source,
  ]);
  return JSON.stringify(cells);
}
