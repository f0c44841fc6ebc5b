// A WebRTC document provider that loads each document once per room. The protocol and its
// limits are described in ../DESIGN.md.

import { showDialog, Dialog } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { IDocumentProvider, IDocumentProviderFactory } from '@jupyterlab/docprovider';
import { Contents } from '@jupyterlab/services';
import { YFile, YNotebook } from '@jupyterlab/shared-models';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';
import { WebrtcProvider } from 'y-webrtc';
import * as Y from 'yjs';

/** A root map of the shared document: one key per load of the file into the room. */
export const LOADS = 'jupyterlite-webrtc-safe-load:loads';

/** How long a peer that knows of others waits for the room's content before loading the file
 * itself: briefly when its load would merge with theirs (same file, ids from the content),
 * longer when it would not (its own edited copy). */
const JOIN_WAIT_MS = 2500;
const MAX_WAIT_MS = 8000;
/** With no signaling connection and no peer this long, the peer is on its own. */
const SIGNALING_GRACE_MS = 1000;
/** A connection to a peer that has not opened this long is dropped and tried again (ICE on
 * loopback or a LAN takes well under a second; a browser gives up on failed ICE after ~10 s). */
const CONNECT_TIMEOUT_MS = 15000;

/** Transaction origin of what the room sends in. */
export const FROM_ROOM = Symbol('from the room');

export namespace SafeLoadProvider {
  export interface IOptions extends IDocumentProviderFactory.IOptions {
    room: string;
    /** a private room's secret (y-webrtc's password), or null */
    secret: string | null;
    /** of every peer connection; undefined: simple-peer's default */
    rtcConfiguration: RTCConfiguration | undefined;
    /** who this is: a name and colour, which may change while the document is open */
    user: Pick<IWebRtcManager, 'username' | 'usercolor' | 'stateChanged'>;
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
    this._content =
      options.contentType === 'notebook'
        ? this._ydoc.getArray('cells')
        : this._ydoc.getText('source');
    this._sendToRoom(Y.encodeStateAsUpdate(this._ydoc), null);
    this._ydoc.on('update', this._sendToRoom);
    this._wire.on('update', this._receiveFromRoom);

    const awareness = ymodel.awareness;
    this._showUser();
    options.user.stateChanged.connect(this._showUser, this);
    // y-webrtc announces (and on leaving removes) the awareness state of `doc.clientID`: seen
    // from y-webrtc, the wire has the awareness' id. (Giving the wire that id for real would
    // make Yjs change it: the id's items come to the wire from the document.)
    const wire = new Proxy(this._wire, {
      get: (target, key) => (key === 'clientID' ? awareness.clientID : Reflect.get(target, key)),
    });
    this._webrtc = new WebrtcProvider(`${options.room}${options.path}`, wire, {
      signaling: options.signalingUrls,
      password: options.secret,
      awareness,
      // as upstream: the random part keeps a crowd from forming separate clusters
      maxConns: 20 + Math.floor(Math.random() * 15),
      filterBcConns: true,
      peerOpts: options.rtcConfiguration ? { config: options.rtcConfiguration } : {},
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
    this._watchdog = window.setInterval(this._dropStalledConnections, CONNECT_TIMEOUT_MS / 3);
  }

  /** Resolves true when the document holds the room's content, false when JupyterLab must
   * load the file (then with this peer's load ids in place). */
  requestInitialContent(): Promise<boolean> {
    if (!this._initialContent) {
      this._initialContent = this._initialize();
    }
    return this._initialContent;
  }

  private async _initialize(): Promise<boolean> {
    const file = await this._readFile();
    const published = await this._published();
    // Peers that open together all load, which is safe only when their loads are the same
    // items; otherwise one of them loads and the others wait for it.
    this._electLoader = file === null || loadIdOf(file) === null;
    const mergesWithTheRoom =
      !this._electLoader &&
      published !== null &&
      comparable(this.options.contentType, file?.content) ===
        comparable(this.options.contentType, published);
    if (await this._discover(mergesWithTheRoom ? JOIN_WAIT_MS : MAX_WAIT_MS)) {
      await this._keepOwnCopyIfDifferent(file, published);
      this._openGate();
      // JupyterLab saves what the peer adopted, unless this browser's copy looks newer than
      // the room's `last_modified` (shared, though each browser has its own storage): then it
      // asks "File Changed: overwrite or revert?". That copy is dealt with (kept aside when it
      // differed), so the room's time moves up to it.
      const context = this._ydoc.getMap('context');
      const roomTime = context.get('last_modified') as string | undefined;
      if (file?.last_modified && (!roomTime || new Date(file.last_modified) > new Date(roomTime))) {
        context.set('last_modified', file.last_modified);
      }
      return true;
    }
    // Read again just before JupyterLab does, so that the id matches what it loads.
    const loaded = await this._readFile();
    this._loadId = (loaded && loadIdOf(loaded)) ?? randomId();
    this._loadKey = loaded ? hash32(comparable(this.options.contentType, loaded.content)) : 0;
    this._insertAsLoad();
    return false;
  }

  /** Called by JupyterLab after every load and save, once the document is populated
   * (after its first checkpoint); the load ends earlier (see _insertAsLoad) unless the file
   * inserted nothing. */
  putInitializedState(): void {
    this._endOfLoad();
  }

  /** Record the load and open the gate, once. */
  private _endOfLoad(): void {
    if (this._gateOpen || this._loadId === null) {
      return;
    }
    const own = this._ydoc.clientID;
    this._ydoc.clientID = this._loadId;
    // Identical loads write an identical entry; its key tells whose items a load made.
    this._ydoc.getMap(LOADS).set(String(this._loadId), this._loadKey);
    this._ydoc.clientID = own;
    this._endLoad();
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
    this.options.user.stateChanged.disconnect(this._showUser, this);
    for (const conn of this._webrtc.signalingConns) {
      conn.off('message', this._countSubscribers);
      conn.off('disconnect', this._check);
    }
    this._ydoc.off('update', this._sendToRoom);
    this._endLoad();
    this._webrtc.destroy();
    this._wire.destroy();
    window.clearTimeout(this._timer);
    window.clearInterval(this._watchdog);
  }

  /** Who this is, for the cursors and the list of who is here that others see (the settings'
   * colour is hex without '#'); again whenever the name or colour changes. */
  private _showUser(): void {
    const { username, usercolor } = this.options.user;
    const awareness = this.options.ymodel.awareness;
    const shown = awareness.getLocalState()?.user;
    if (shown?.name !== username || shown?.color !== `#${usercolor}`) {
      awareness.setLocalStateField('user', { name: username, color: `#${usercolor}` });
    }
  }

  /** y-webrtc keeps a connection that never opens (a handshake lost on the way, or one that a
   * late signal of a peer that already gave up started), and while it has one to a peer it
   * ignores that peer's announcements: the two would never meet. Dropping it makes y-webrtc
   * announce this peer again, and every peer without a connection to it starts one. */
  private _dropStalledConnections = (): void => {
    const now = Date.now();
    for (const conn of this._webrtc.room?.webrtcConns.values() ?? []) {
      const since = conn.connected ? now : this._connectingSince.get(conn) ?? now;
      this._connectingSince.set(conn, since);
      if (now - since >= CONNECT_TIMEOUT_MS) {
        conn.destroy();
      }
    }
  };

  // ------------------------------------------------------------ who loads

  /** Whether the room has the content (true), or this peer must load the file (false). */
  private _discover(patience: number): Promise<boolean> {
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
        const loader =
          !this._electLoader ||
          peers.every((peer: any) => (room as any).peerId < peer.remotePeerId);
        if (alone || offline || (together && loader) || elapsed >= patience) {
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

  /** While JupyterLab loads the file, what it inserts into the content (the text, or each
   * cell with all it holds) gets the load's id; nothing else does (the notebook's metadata
   * and state already have items of this peer, so writing them under the load's id would
   * give the same ids different neighbours on different peers). */
  private _insertAsLoad(): void {
    const content = this._content as any;
    const insert = content.insert;
    content.insert = (...args: unknown[]) => {
      const own = this._ydoc.clientID;
      this._ydoc.clientID = this._loadId as number;
      try {
        return insert.apply(content, args);
      } finally {
        this._ydoc.clientID = own;
        // JupyterLab inserts the whole file in one synchronous run: the load ends after it,
        // without waiting for the rest of JupyterLab's opening steps.
        queueMicrotask(() => this._endOfLoad());
      }
    };
  }

  private _endLoad(): void {
    delete (this._content as any).insert;
  }

  // ------------------------------------------------------------ the gate

  private _sendToRoom = (update: Uint8Array, origin: unknown): void => {
    if (origin !== FROM_ROOM) {
      Y.applyUpdate(this._wire, update, FROM_ROOM);
    }
  };

  private _receiveFromRoom = (update: Uint8Array, origin: unknown): void => {
    if (this._gateOpen && origin !== FROM_ROOM) {
      this._keepOwnVersionIfLosing();
      Y.applyUpdate(this._ydoc, update, FROM_ROOM);
    }
  };

  private _openGate(): void {
    this._gateOpen = true;
    this._contentId = this._loadId ?? winnerOf(this._wire.getMap(LOADS));
    this._keepOwnVersionIfLosing();
    const missing = Y.encodeStateAsUpdate(this._wire, Y.encodeStateVector(this._ydoc));
    Y.applyUpdate(this._ydoc, missing, FROM_ROOM);
    const loads = this._ydoc.getMap(LOADS);
    loads.observe(this._keepOneLoad);
    this._keepOneLoad();
  }

  // ------------------------------------------------------------ divergent loads

  /** Peers that loaded different files apart (no signaling, or too slow to meet) hold two
   * loads once they meet. Every peer keeps the load with the smallest id and deletes the
   * others' items; a peer whose own content goes first saves it as a file of its own. That
   * is decided when the room (the wire) holds the winning load and before the document gets
   * it: the same update may already delete this peer's items (the winner's peer saw them). */
  private _keepOwnVersionIfLosing(): void {
    const loads = this._wire.getMap(LOADS);
    const mine = this._contentId;
    const winner = winnerOf(loads);
    if (mine === null || winner === null || mine === winner) {
      return;
    }
    this._contentId = winner;
    // Same visible content loaded twice (loads with random ids, see loadIdOf) loses nothing.
    if (loads.get(String(mine)) !== loads.get(String(winner))) {
      void this._saveCopy(this._versionOf(mine), 'it met a different copy of this file');
    }
  }

  /** Every peer deletes the items of every load but the winner's. */
  private _keepOneLoad = (): void => {
    const loads = this._ydoc.getMap(LOADS);
    if (loads.size < 2) {
      return;
    }
    const winner = winnerOf(loads) as number;
    this._contentId = winner;
    this._ydoc.transact(() => {
      for (const key of loads.keys()) {
        if (Number(key) !== winner) {
          deleteItemsOf(this._content, Number(key));
        }
      }
    }, this);
  };

  /** The document as it stands, without the items of any load but `load`. */
  private _versionOf(load: number): any {
    return this._contentOf(this._ydoc, (content, loads) => {
      for (const key of loads.keys()) {
        if (Number(key) !== load) {
          deleteItemsOf(content, Number(key));
        }
      }
    });
  }

  // ------------------------------------------------------------ the user's own copy

  /** Before JupyterLab saves the room's content over this browser's copy of the file: if
   * that copy is the user's own (not the published file) and differs from the room's,
   * keep it under another name. */
  private async _keepOwnCopyIfDifferent(
    own: Contents.IModel | null,
    published: any | null
  ): Promise<void> {
    if (own === null) {
      return;
    }
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

  /** The room's content as JupyterLab would save it (the wire's, before the gate opens). */
  private _roomContent(): any {
    return this._contentOf(this._wire);
  }

  /** Content of a copy of `doc`, after `change` (given its content type and loads). */
  private _contentOf(
    doc: Y.Doc,
    change?: (content: Y.AbstractType<any>, loads: Y.Map<unknown>) => void
  ): any {
    const notebook = this.options.contentType === 'notebook';
    const copy: YNotebook | YFile = notebook
      ? new YNotebook({ disableDocumentWideUndoRedo: false })
      : new YFile();
    Y.applyUpdate(copy.ydoc, Y.encodeStateAsUpdate(doc));
    const content = notebook ? copy.ydoc.getArray('cells') : copy.ydoc.getText('source');
    change?.(content, copy.ydoc.getMap(LOADS));
    const result = contentOf(copy);
    copy.dispose();
    copy.ydoc.destroy();
    return result;
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

  /** The file as this browser has it (its own copy, else the published one). */
  private async _readFile(): Promise<Contents.IModel | null> {
    try {
      return await this.options.contents.get(this.options.path, this._fileOptions());
    } catch {
      return null;
    }
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
  private _subscribers: number | null = null;
  private _initialContent: Promise<boolean> | null = null;
  private _decide: (() => void) | null = null;
  private _timer = 0;
  private _loadId: number | null = null;
  private _loadKey = 0;
  private _electLoader = false;
  private _gateOpen = false;
  private _contentId: number | null = null;
  private _watchdog = 0;
  private _connectingSince = new WeakMap<object, number>();
}

// ---------------------------------------------------------------- helpers

/** The load id of a file: derived from its content when JupyterLab turns that content into
 * the same items on every peer; none otherwise (a notebook without unique cell ids would get
 * random ones at each load, so its loads must not share item ids; cell-ids.ts gives every
 * nbformat 4 notebook ids, so this is left to other formats). */
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
