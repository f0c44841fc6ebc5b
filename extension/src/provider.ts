// A WebRTC document provider for JupyterLab 3.5 that loads each document once per room: the
// protocol of ../DESIGN.md, with its pure parts in ./common (shared with JupyterLab 4's).
// JupyterLab's document context asks it whether the room has the content, then loads the file
// itself when it has not.

import { showDialog, Dialog } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { IDocumentProvider, IDocumentProviderFactory } from '@jupyterlab/docprovider';
import { Contents } from '@jupyterlab/services';
import { YFile, YNotebook } from '@jupyterlab/shared-models';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';
import { WebrtcProvider } from 'y-webrtc';
import * as Y from 'yjs';

import {
  CONNECT_TIMEOUT_MS,
  StalledConnections,
  subscribersOf,
  syncedOnStep2,
  watchConnections
} from './common/connections';
import { RoomGate } from './common/gate';
import { comparable, hash32, isOwnDifferentCopy, loadIdOf } from './common/hash';
import { JOIN_WAIT_MS, MAX_WAIT_MS, peersSeenBy, whoLoads } from './common/who-loads';

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
 * Peers meet through y-webrtc on a separate "wire" document, which always mirrors the room
 * (common/gate.ts). The document JupyterLab shows receives the room only once it holds
 * content: either the room's (another peer loaded the file) or its own load, made from the file
 * with item ids derived from the file, so that loads of the same file by several peers are the
 * same items.
 */
export class SafeLoadProvider implements IDocumentProvider {
  constructor(private options: SafeLoadProvider.IOptions) {
    const { ymodel } = options;
    this._gate = new RoomGate({
      doc: ymodel.ydoc,
      content: this._contentOf,
      onOwnVersionLost: version =>
        void this._saveCopy(this._documentOf(version), 'it met a different copy of this file')
    });

    const awareness = ymodel.awareness;
    this._showUser();
    options.user.stateChanged.connect(this._showUser, this);
    // y-webrtc announces (and on leaving removes) the awareness state of `doc.clientID`: seen
    // from y-webrtc, the wire has the awareness' id. (Giving the wire that id for real would
    // make Yjs change it: the id's items come to the wire from the document.)
    const wire = new Proxy(this._gate.wire, {
      get: (target, key) => (key === 'clientID' ? awareness.clientID : Reflect.get(target, key))
    });
    this._webrtc = new WebrtcProvider(`${options.room}${options.path}`, wire, {
      signaling: options.signalingUrls,
      password: options.secret,
      awareness,
      // as upstream: the random part keeps a crowd from forming separate clusters
      maxConns: 20 + Math.floor(Math.random() * 15),
      filterBcConns: true,
      peerOpts: options.rtcConfiguration ? { config: options.rtcConfiguration } : {}
    });
    watchConnections(this._webrtc, syncedOnStep2);
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
    const { contentType } = this.options;
    // Peers that open together all load, which is safe only when their loads are the same
    // items; otherwise one of them loads and the others wait for it.
    const electLoader = file === null || loadIdOf(file.type, file.content) === null;
    const mergesWithTheRoom =
      !electLoader &&
      published !== null &&
      comparable(contentType, file?.content) === comparable(contentType, published);
    if (await this._discover(electLoader, mergesWithTheRoom ? JOIN_WAIT_MS : MAX_WAIT_MS)) {
      await this._keepOwnCopyIfDifferent(file, published);
      this._gate.adopt();
      // JupyterLab saves what the peer adopted, unless this browser's copy looks newer than
      // the room's `last_modified` (shared, though each browser has its own storage): then it
      // asks "File Changed: overwrite or revert?". That copy is dealt with (kept aside when it
      // differed), so the room's time moves up to it.
      const context = this.options.ymodel.ydoc.getMap('context');
      const roomTime = context.get('last_modified') as string | undefined;
      if (file?.last_modified && (!roomTime || new Date(file.last_modified) > new Date(roomTime))) {
        context.set('last_modified', file.last_modified);
      }
      return true;
    }
    // Read again just before JupyterLab does, so that the id matches what it loads.
    const loaded = await this._readFile();
    const loadId = (loaded && loadIdOf(loaded.type, loaded.content)) ?? randomId();
    const loadKey = loaded ? hash32(comparable(contentType, loaded.content)) : 0;
    // JupyterLab inserts the file once this resolves; the load ends after its inserts
    this._gate.beginLoad(loadId, loadKey);
    return false;
  }

  /** Called by JupyterLab after every load and save, once the document is populated
   * (after its first checkpoint); the load ends earlier (right after JupyterLab's inserts)
   * unless the file inserted nothing. */
  putInitializedState(): void {
    this._gate.endLoad();
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
    this._webrtc.destroy();
    this._gate.destroy();
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
        if (decision !== 'wait') {
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
    this._stalled.drop(this._webrtc.room?.webrtcConns.values() ?? [], Date.now());
  };

  // ------------------------------------------------------------ content

  /** The Yjs type of a document that holds its content: the text, or the cells. */
  private _contentOf = (doc: Y.Doc): Y.AbstractType<any> =>
    this.options.contentType === 'notebook' ? doc.getArray('cells') : doc.getText('source');

  /** A Yjs document's content as JupyterLab saves it. */
  private _documentOf(doc: Y.Doc): any {
    const copy =
      this.options.contentType === 'notebook'
        ? new YNotebook({ disableDocumentWideUndoRedo: false })
        : new YFile();
    Y.applyUpdate(copy.ydoc, Y.encodeStateAsUpdate(doc));
    const content =
      copy instanceof YNotebook
        ? {
            cells: copy.cells.map(cell => cell.toJSON()),
            metadata: copy.getMetadata(),
            nbformat: copy.nbformat ?? 4,
            nbformat_minor: copy.nbformat_minor ?? 5
          }
        : copy.getSource();
    copy.dispose();
    copy.ydoc.destroy();
    return content;
  }

  /** Before adopting the room's content: if this browser's copy is the user's own (not the
   * published file) and differs from the room's, keep it under another name. */
  private async _keepOwnCopyIfDifferent(
    own: Contents.IModel | null,
    published: any | null
  ): Promise<void> {
    if (own === null) {
      return;
    }
    const room = this._documentOf(this._gate.wire);
    if (isOwnDifferentCopy(this.options.contentType, own.content, published, room)) {
      await this._saveCopy(own.content, 'the room has a different version of this file');
    }
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
      return this.options.contentType === 'notebook'
        ? await response.json()
        : await response.text();
    } catch {
      return null;
    }
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
      buttons: [Dialog.okButton()]
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
      content: true
    };
  }

  private _gate: RoomGate;
  private _webrtc: WebrtcProvider;
  private _subscribers: number | null = null;
  private _initialContent: Promise<boolean> | null = null;
  private _decide: (() => void) | null = null;
  private _timer = 0;
  private _watchdog = 0;
  private _stalled = new StalledConnections();
}

function randomId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
