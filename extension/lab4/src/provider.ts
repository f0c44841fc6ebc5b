// A WebRTC document provider for JupyterLab 4 that loads each document once per room: the
// protocol of ../../DESIGN.md, with its pure parts in ./common (shared with JupyterLab 3's).
// The `rtc` content provider of jupyter-docprovider awaits `ready` and never loads content
// itself: this provider fills the document (its own load, or the room's content), and saves it.

import { IDocumentProviderFactory } from '@jupyter/docprovider';
import { YDocument, YFile, YNotebook } from '@jupyter/ydoc';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { Contents } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import * as encoding from 'lib0/encoding';
import { WebrtcProvider } from 'y-webrtc';
import * as Y from 'yjs';

import { withCellIds } from './common/cell-ids';
import {
  CONNECT_TIMEOUT_MS,
  StalledConnections,
  subscribersOf,
  syncedOnStep2,
  watchConnections
} from './common/connections';
import { isFromRoom, RoomGate } from './common/gate';
import { sendsInParts } from './common/parts';
import { SilentConnections } from './common/silent-connections';
import { comparable, hash32, isOwnDifferentCopy, loadIdOf } from './common/hash';
import { ignoreLosingConcurrentSets } from './common/one-run';
import { guardPeersIdentity, RoomChanges } from './common/peer-content';
import { JOIN_WAIT_MS, MAX_WAIT_MS, peersSeenBy, whoLoads } from './common/who-loads';
import { ROOM_CHANGES } from './peer-content';

export namespace RoomProvider {
  export interface IOptions extends IDocumentProviderFactory.IOptions {
    /** the room's id on signaling (see common/room.ts) */
    roomId: string;
    /** a private room's secret (y-webrtc's password), or null */
    secret: string | null;
    /** of every peer connection; undefined: simple-peer's default */
    rtcConfiguration: RTCConfiguration | undefined;
    signalingUrls: string[];
  }
}

/** The shared models of JupyterLab 3.5 and 4 differ, so their pages must never hold one
 * document in one y-webrtc room. They could meet: for a visit after a site moves from 3 to 4, a
 * browser may still show the old site (its service worker's copy), in the same room. */
const FLAVOUR = 'jupyterlab-4:';

export class RoomProvider {
  readonly contentType: string;
  readonly format: string;

  constructor(private options: RoomProvider.IOptions) {
    this.contentType = options.contentType;
    this.format = options.format;
    this._model = options.model as YFile | YNotebook;
    const doc = this._model.ydoc;
    // before anything from the room reaches the document (./peer-content.ts)
    this._roomChanges = new RoomChanges({
      doc,
      isFromRoom,
      state: this._model.ystate,
      cells: this._model instanceof YNotebook ? doc.getArray('cells') : null
    });
    ROOM_CHANGES.set(doc, this._roomChanges);
    if (this._model instanceof YNotebook) {
      // two people's runs set a cell's count and state at once (common/one-run.ts)
      ignoreLosingConcurrentSets(doc);
    }
    this._gate = new RoomGate({
      doc,
      content: this._contentOf,
      onOwnVersionLost: version =>
        void this._saveCopy(this._documentOf(version), 'it met a different copy of this file')
    });
    const awareness = this._model.awareness;
    this._unguardPeers = guardPeersIdentity(awareness as any);
    // y-webrtc announces (and on leaving removes) the awareness state of `doc.clientID`: seen
    // from y-webrtc, the wire has the awareness' id.
    const wire = new Proxy(this._gate.wire, {
      get: (target, key) => (key === 'clientID' ? awareness.clientID : Reflect.get(target, key))
    });
    this._webrtc = new WebrtcProvider(`${FLAVOUR}${options.roomId}${options.path}`, wire, {
      signaling: options.signalingUrls,
      password: options.secret ?? undefined,
      awareness: awareness as any,
      // as upstream: the random part keeps a crowd from forming separate clusters
      maxConns: 20 + Math.floor(Math.random() * 15),
      filterBcConns: true,
      peerOpts: options.rtcConfiguration ? { config: options.rtcConfiguration } : {}
    });
    watchConnections(this._webrtc, conn => {
      sendsInParts(conn.peer); // large messages in parts (../common/parts.ts)
      syncedOnStep2(conn);
      conn.peer.on('data', () => this._silent.heard(conn, Date.now()));
      // A connection that comes back after its network dropped has lost what was sent
      // meanwhile, and y-webrtc syncs only when a connection opens: sync again.
      const pc: RTCPeerConnection | undefined = conn.peer._pc;
      let interrupted = false;
      pc?.addEventListener('iceconnectionstatechange', () => {
        if (pc.iceConnectionState === 'disconnected') {
          interrupted = true;
        } else if (interrupted && ['connected', 'completed'].includes(pc.iceConnectionState)) {
          interrupted = false;
          this._syncAgain(conn);
        }
      });
    });
    this._webrtc.on('peers', this._check);
    this._webrtc.on('synced', this._check);
    for (const conn of this._webrtc.signalingConns) {
      conn.on('message', this._countSubscribers);
      conn.on('disconnect', this._check);
    }
    this._watchdog = window.setInterval(this._dropStalledConnections, CONNECT_TIMEOUT_MS / 3);
    this._showUser();
    options.user.userChanged.connect(this._showUser, this);
    this._initialize().then(
      () => this._ready.resolve(),
      reason => this._ready.reject(reason)
    );
  }

  /** Resolves once the document holds content: the room's or this peer's load of the file. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Write the shared document to this browser's storage (Ctrl-S, autosave). JupyterLab
   * saves a new document as soon as it opens it: never before it holds content, which would
   * write an empty document over the file. */
  async save(): Promise<void> {
    await this.ready;
    const { drive, path } = this.options;
    await drive.save(path, {
      type: this.contentType as Contents.ContentType,
      format: this.format as Contents.FileFormat,
      content: this._documentOf(this._model.ydoc)
    });
  }

  reconnect(): Promise<void> {
    this._webrtc.connect();
    return Promise.resolve();
  }

  connectToForkDoc(): Promise<void> {
    return Promise.reject(new Error('forks are not available in WebRTC rooms'));
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.options.user.userChanged.disconnect(this._showUser, this);
    for (const conn of this._webrtc.signalingConns) {
      conn.off('message', this._countSubscribers);
      conn.off('disconnect', this._check);
    }
    this._decide = null;
    this._webrtc.destroy();
    this._gate.destroy();
    this._roomChanges.dispose();
    this._unguardPeers();
    window.clearTimeout(this._timer);
    window.clearInterval(this._watchdog);
  }

  private async _initialize(): Promise<void> {
    const file = await this._readFile();
    const published = await this._published();
    const notebook = this.contentType === 'notebook';
    const type = notebook ? 'notebook' : 'file';
    // Peers that open together all load, which is safe only when their loads are the same
    // items; otherwise one of them loads and the others wait for it.
    const electLoader = file === null || loadIdOf(type, file.content) === null;
    const mergesWithTheRoom =
      !electLoader &&
      published !== null &&
      comparable(this.contentType, file?.content) === comparable(this.contentType, published);
    if (await this._discover(electLoader, mergesWithTheRoom ? JOIN_WAIT_MS : MAX_WAIT_MS)) {
      const kept = await this._keepOwnCopyIfDifferent(file, published);
      this._gate.adopt();
      if (kept) {
        // The user's version is safe under another name: the file becomes the room's, as
        // JupyterLab 3.5 saves what it adopted (else, opened alone later, it would show the
        // version the room did not take).
        void this.save();
      }
      return;
    }
    const loaded = await this._readFile();
    if (this._isDisposed) {
      return;
    }
    const content = loaded?.content ?? (notebook ? null : '');
    const loadId = loadIdOf(type, content) ?? randomId();
    this._gate.load(loadId, hash32(comparable(this.contentType, content)), () => {
      if (content === null) {
        return;
      }
      if (this._model instanceof YNotebook) {
        const model = this._model;
        model.transact(() => {
          model.nbformat = content.nbformat;
          model.nbformat_minor = content.nbformat_minor;
          // @jupyter/ydoc 4.0 makes the metadata map only in fromJSON: without one, setMetadata
          // does nothing, and the notebook would lose its kernelspec (and then its kernel)
          model.ymeta.set('metadata', new Y.Map(Object.entries(content.metadata ?? {})));
        });
        model.insertCells(0, content.cells);
      } else {
        this._model.setSource(content);
      }
    });
  }

  /** Who this is, for the cursors and the list of who is here; again when it changes. */
  private _showUser(): void {
    const identity = this.options.user.identity;
    if (identity) {
      this._model.awareness.setLocalStateField('user', identity);
    }
  }

  // ------------------------------------------------------------ who loads

  /** Whether the room has the content (true), or this peer must load the file (false). */
  private _discover(electLoader: boolean, patience: number): Promise<boolean> {
    const started = Date.now();
    const wire = this._gate.wire;
    return new Promise<boolean>(resolve => {
      this._decide = () => {
        const decision = whoLoads({
          roomHasLoad: this._gate.roomHasLoad,
          subscribers: this._subscribers,
          ...peersSeenBy(this._webrtc),
          electLoader,
          elapsedMs: Date.now() - started,
          patienceMs: patience
        });
        if (decision !== 'wait' || this._isDisposed) {
          resolve(decision === 'adopt');
        }
      };
      const tick = () => {
        if (this._decide) {
          this._decide();
          this._timer = window.setTimeout(tick, 100);
        }
      };
      wire.on('update', this._check);
      tick();
    }).then(roomHasContent => {
      this._decide = null;
      wire.off('update', this._check);
      return roomHasContent;
    });
  }

  private _check = (): void => {
    this._decide?.();
  };

  private _countSubscribers = (message: any): void => {
    const count = subscribersOf(message, this._webrtc.roomName);
    if (count !== null) {
      this._subscribers = count;
      this._check();
    }
  };

  private _dropStalledConnections = (): void => {
    const conns = [...((this._webrtc.room as any)?.webrtcConns.values() ?? [])];
    this._stalled.drop(conns, Date.now());
    this._silent.drop(conns, Date.now());
  };

  /** y-webrtc's first message on a connection that opens: this page's state vector (sync step
   * 1 of y-protocols), which the peer answers with all this page lacks. */
  private _syncAgain(conn: any): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0); // y-webrtc's messageSync
    encoding.writeVarUint(encoder, 0); // y-protocols' messageYjsSyncStep1
    encoding.writeVarUint8Array(encoder, Y.encodeStateVector(this._model.ydoc));
    try {
      conn.peer.send(encoding.toUint8Array(encoder));
    } catch {
      // closed meanwhile: y-webrtc connects again, and syncs
    }
  }

  // ------------------------------------------------------------ content

  private _contentOf = (doc: Y.Doc): Y.AbstractType<any> =>
    this.contentType === 'notebook' ? doc.getArray('cells') : doc.getText('source');

  /** A Yjs document's content as JupyterLab saves it. */
  private _documentOf(doc: Y.Doc): any {
    const copy: YDocument<any> = this.contentType === 'notebook' ? new YNotebook() : new YFile();
    Y.applyUpdate(copy.ydoc, Y.encodeStateAsUpdate(doc));
    const content = copy instanceof YNotebook ? copy.toJSON() : (copy as YFile).getSource();
    copy.dispose();
    return content;
  }

  /** Before adopting the room's content: if this browser's copy is the user's own (not the
   * published file) and differs from the room's, keep it under another name; whether it did. */
  private async _keepOwnCopyIfDifferent(
    own: Contents.IModel | null,
    published: any | null
  ): Promise<boolean> {
    if (own === null) {
      return false;
    }
    const room = this._documentOf(this._gate.wire);
    if (!isOwnDifferentCopy(this.contentType, own.content, published, room)) {
      return false;
    }
    await this._saveCopy(own.content, 'the room has a different version of this file');
    return true;
  }

  private async _published(): Promise<any | null> {
    const url = URLExt.join(
      PageConfig.getBaseUrl(),
      'files',
      URLExt.encodeParts(this.options.path)
    );
    try {
      const response = await fetch(url);
      if (!response.ok) {
        return null;
      }
      return this.contentType === 'notebook' ? await response.json() : await response.text();
    } catch {
      return null;
    }
  }

  private async _saveCopy(content: any, why: string): Promise<void> {
    const { drive, path } = this.options;
    const extension = PathExt.extname(path);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const copy = `${path.slice(0, path.length - extension.length)}-my-copy-${stamp}${extension}`;
    await drive.save(copy, {
      type: this.contentType as Contents.ContentType,
      format: this.format as Contents.FileFormat,
      content
    });
    void showDialog({
      title: 'Your copy was kept',
      body: `Your version of ${PathExt.basename(path)} is saved as ${PathExt.basename(copy)}: ${why}.`,
      buttons: [Dialog.okButton()]
    });
  }

  /** The file as this browser has it (its own copy, else the published one); a notebook with
   * an id on every cell, the same in every browser (common/cell-ids.ts). */
  private async _readFile(): Promise<Contents.IModel | null> {
    try {
      const model = await this.options.drive.get(this.options.path, {
        type: this.contentType as Contents.ContentType,
        format: this.format as Contents.FileFormat,
        content: true
      });
      return model.type === 'notebook' && model.content
        ? { ...model, content: withCellIds(model.content) }
        : model;
    } catch {
      return null;
    }
  }

  private _model: YFile | YNotebook;
  private _gate: RoomGate;
  private _roomChanges: RoomChanges;
  private _unguardPeers: () => void;
  private _webrtc: WebrtcProvider;
  private _ready = new PromiseDelegate<void>();
  private _isDisposed = false;
  private _subscribers: number | null = null;
  private _decide: (() => void) | null = null;
  private _timer = 0;
  private _watchdog = 0;
  private _stalled = new StalledConnections();
  private _silent = new SilentConnections();
}

function randomId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
