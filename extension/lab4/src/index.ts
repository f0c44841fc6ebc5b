// Real-time collaboration over WebRTC for JupyterLite on JupyterLab 4, through the seam of
// jupyter-collaboration's browser side (jupyter-docprovider's `rtc` content provider): this
// extension provides the document providers (./provider.ts), the awareness provider and the
// person's identity. The site configures it in jupyter-lite.json: `fullWebRtcSignalingUrls`,
// `webRtcRoomPrefix` (rooms of this site only), `webRtcConfiguration` (ICE servers, TURN) and
// `webRtcDefaultRoom`; the link gives `?room=` and a private room's `#key=`.

import {
  IAwarenessProvider,
  IAwarenessProviderFactory,
  IDocumentProviderFactory
} from '@jupyter/docprovider';
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IUserManager, ServiceManagerPlugin, User } from '@jupyterlab/services';

import { pythonStart } from './common/python-start';
import { roomSecretError, roomSecretOf } from './common/room';
import { randomHex, roomIdOf } from './room-id';
import { oneRun } from './one-run';
import { guardPeerContent } from './peer-content';
import { addSharing } from './sharing';
import { RoomProvider } from './provider';
import { RoomUserManager } from './user';

/** The link's fragment, read when this module loads, before the app may rewrite the address. */
const ROOM_SECRET = roomSecretOf(window.location.hash);

function option(name: string): string {
  return PageConfig.getOption(name);
}

/** The room this page is in: the link's `?room=`, else the site's default room, else a room
 * of its own (nothing shared until the person shares a link). */
const ROOM_NAME =
  new URLSearchParams(window.location.search).get('room')?.trim() ||
  option('webRtcDefaultRoom') ||
  randomHex(16);

/** Why this page does not join its room (an unusable private room's link), or null. */
const ROOM_ERROR = roomSecretError(ROOM_SECRET, window.isSecureContext);

const user: ServiceManagerPlugin<User.IManager> = {
  id: 'jupyterlite-webrtc-lab4:user',
  description: 'The person, named by the link or by this browser',
  autoStart: true,
  provides: IUserManager,
  activate: (): User.IManager =>
    new RoomUserManager({
      storageKey: `jupyterlite-webrtc:name:${option('webRtcRoomPrefix') || location.origin}`
    })
};

const factory: JupyterFrontEndPlugin<IDocumentProviderFactory> = {
  id: 'jupyterlite-webrtc-lab4:factory',
  description: 'Document providers that meet in WebRTC rooms of this site',
  autoStart: true,
  provides: IDocumentProviderFactory,
  activate: async (app: JupyterFrontEnd): Promise<IDocumentProviderFactory> => {
    const { secret } = ROOM_SECRET;
    const error = ROOM_ERROR;
    if (error) {
      // Joining the room without the secret would be joining it in the open.
      void showErrorMessage(
        "This link's private room cannot be joined",
        `${error}. Ask for the link again; documents open here without collaboration.`
      );
    }
    guardPeerContent(app);
    const prefix = option('webRtcRoomPrefix') || location.origin;
    const roomId = roomIdOf(prefix, error ? randomHex(16) : ROOM_NAME);
    const configuration = option('webRtcConfiguration');
    const signalingUrls = error
      ? []
      : (JSON.parse(option('fullWebRtcSignalingUrls') || '[]') as string[]);
    return {
      create: options =>
        new RoomProvider({
          ...options,
          roomId,
          secret,
          rtcConfiguration: configuration ? JSON.parse(configuration) : undefined,
          signalingUrls
        }) as any
    };
  }
};

/** Awareness of the whole page (who has which document open) stays in the page for now: the
 * awareness of each document travels with it through its room. */
const awareness: JupyterFrontEndPlugin<IAwarenessProviderFactory> = {
  id: 'jupyterlite-webrtc-lab4:awareness',
  description: 'Awareness of the page, kept in the page',
  autoStart: true,
  provides: IAwarenessProviderFactory,
  activate: (): IAwarenessProviderFactory => ({
    create: (options): IAwarenessProvider => {
      let isDisposed = false;
      return {
        awareness: options.awareness,
        get isDisposed() {
          return isDisposed;
        },
        dispose: () => {
          isDisposed = true;
        }
      };
    }
  })
};

const sharing: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-lab4:sharing',
  description: 'The Share dialog, a name asked once, and who is here',
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null): void => {
    const person = app.serviceManager.user;
    // no room to share, nor anyone to meet, without signaling or with an unusable link
    const signalingUrls = JSON.parse(option('fullWebRtcSignalingUrls') || '[]') as string[];
    const rtc = String(option('disableRTC')) !== 'true';
    if (!rtc || ROOM_ERROR || !signalingUrls.length || !(person instanceof RoomUserManager)) {
      return;
    }
    addSharing(app, { name: ROOM_NAME, secret: ROOM_SECRET.secret }, person, palette);
  }
};

export default [user, factory, awareness, sharing, oneRun, pythonStart];
