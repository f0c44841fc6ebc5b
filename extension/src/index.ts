// Replaces the document provider factory of jupyterlab-webrtc-docprovider (whose `:factory`
// plugin the site disables) and keeps the rest of that extension in charge: settings, URL
// parameters, room id, signaling URLs and the status items all come from its IWebRtcManager.
// This extension adds private rooms (the link's `#key=`), the site's ICE servers, a Share
// dialog, the list of who is here, and asks people without a name for one.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentProviderFactory, ProviderMock } from '@jupyterlab/docprovider';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { giveNotebooksCellIds } from './cell-ids';
import { FROM_ROOM } from './common/gate';
import { roomSecretError } from './common/room';
import { executionCounts } from './execution-counts';
import { NAME_IN_LINK, ROOM_SECRET } from './link';
import { askForName, hasName } from './name';
import { ignoreLosingConcurrentSets, oneRun } from './one-run';
import { guardPeerContent, guardSharedDocument } from './peer-content';
import { IAwareness, PeopleHere } from './people';
import { SafeLoadProvider } from './provider';
import { pythonStart } from './python-start';
import { roomKernels } from './room-kernels';
import { shareRoom } from './share';

/** The RTCConfiguration of every peer connection (the site's ICE servers), from the site's
 * `webRtcConfiguration`; without it, simple-peer's own (public STUN servers). */
function rtcConfiguration(): RTCConfiguration | undefined {
  const value = PageConfig.getOption('webRtcConfiguration');
  return value ? (JSON.parse(value) as RTCConfiguration) : undefined;
}

const factory: JupyterFrontEndPlugin<IDocumentProviderFactory> = {
  id: 'jupyterlite-webrtc-safe-load:factory',
  autoStart: true,
  provides: IDocumentProviderFactory,
  requires: [IWebRtcManager],
  activate: (app: JupyterFrontEnd, manager: IWebRtcManager): IDocumentProviderFactory => {
    const { secret } = ROOM_SECRET;
    const error = roomSecretError(ROOM_SECRET, window.isSecureContext);
    if (error && !manager.disabled) {
      // Joining the room without the secret would be joining it in the open.
      void showErrorMessage(
        "This link's private room cannot be joined",
        `${error}. Ask for the link again; documents open here without collaboration.`
      );
    }
    if (!manager.disabled && !error) {
      // so that every browser loads a notebook saved without cell ids as the same cells
      giveNotebooksCellIds(app.serviceManager.contents);
      guardPeerContent(app, FROM_ROOM);
    }
    const config = rtcConfiguration();
    return options => {
      if (manager.disabled || error) {
        return new ProviderMock();
      }
      const { ydoc, awareness } = options.ymodel as any;
      guardSharedDocument(ydoc, awareness, FROM_ROOM);
      ignoreLosingConcurrentSets(ydoc);
      return new SafeLoadProvider({
        ...options,
        room: manager.fullRoomId,
        secret,
        rtcConfiguration: config,
        user: manager,
        signalingUrls: manager.signalingUrls,
        contents: app.serviceManager.contents,
        onPeerCount: count => {
          manager.peerCount = count;
        }
      });
    };
  }
};

/** The command that shows the room's link. */
export const SHARE_COMMAND = 'jupyterlite-webrtc-safe-load:share';

const share: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:share',
  autoStart: true,
  requires: [IWebRtcManager],
  optional: [ICommandPalette, IMainMenu, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    manager: IWebRtcManager,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null,
    statusBar: IStatusBar | null
  ): void => {
    if (manager.disabled) {
      return;
    }
    app.commands.addCommand(SHARE_COMMAND, {
      label: 'Share this room…',
      caption: 'The link to this room, to copy; or a new private room',
      execute: () => shareRoom({ name: manager.roomName, secret: ROOM_SECRET.secret })
    });
    palette?.addItem({ command: SHARE_COMMAND, category: 'Collaboration' });
    mainMenu?.fileMenu.addGroup([{ command: SHARE_COMMAND }], 100);
    // next to upstream's "Sharing with N peers" item (JupyterLab; RetroLab has the menu)
    if (statusBar) {
      const button = new Widget({ node: document.createElement('button') });
      button.addClass('jp-webrtc-safe-load-share-button');
      button.node.textContent = 'Share';
      button.node.title = 'Share this room…';
      button.node.onclick = () => void app.commands.execute(SHARE_COMMAND);
      statusBar.registerStatusItem('jupyterlite-webrtc-safe-load:share', {
        item: button,
        align: 'left',
        rank: 1000
      });
    }
  }
};

const people: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:people',
  autoStart: true,
  requires: [IWebRtcManager],
  activate: (app: JupyterFrontEnd, manager: IWebRtcManager): void => {
    if (manager.disabled || ROOM_SECRET.error) {
      return;
    }
    const extension: DocumentRegistry.WidgetExtension = {
      createNew: (widget: IDocumentWidget, context): IDisposable => {
        const awareness = (context.model.sharedModel as any).awareness as IAwareness | undefined;
        if (!awareness) {
          return new DisposableDelegate(() => undefined);
        }
        const item = new PeopleHere(awareness);
        widget.toolbar.addItem('jupyterlite-webrtc-safe-load:people', item);
        return new DisposableDelegate(() => item.dispose());
      }
    };
    for (const factoryName of ['Notebook', 'Editor']) {
      app.docRegistry.addWidgetExtension(factoryName, extension);
    }
  }
};

/** The command that asks for the person's name. */
export const NAME_COMMAND = 'jupyterlite-webrtc-safe-load:name';

const name: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-safe-load:name',
  autoStart: true,
  requires: [IWebRtcManager, ISettingRegistry],
  optional: [ICommandPalette, IMainMenu],
  activate: (
    app: JupyterFrontEnd,
    manager: IWebRtcManager,
    registry: ISettingRegistry,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null
  ): void => {
    if (manager.disabled || ROOM_SECRET.error) {
      return;
    }
    app.commands.addCommand(NAME_COMMAND, {
      label: 'Change your name…',
      caption: NAME_IN_LINK
        ? 'Your name comes from the link (username=...)'
        : 'The name others see next to your cursor and in who is here',
      // a name in the link wins over the saved one (upstream's order)
      isEnabled: () => !NAME_IN_LINK,
      execute: () => askForName(manager, registry)
    });
    palette?.addItem({ command: NAME_COMMAND, category: 'Collaboration' });
    mainMenu?.fileMenu.addGroup([{ command: NAME_COMMAND }], 101);
    void app.restored
      .then(async () => {
        if (!(await hasName(registry, NAME_IN_LINK))) {
          await askForName(manager, registry);
        }
      })
      // e.g. a browser that cannot store settings: the person keeps upstream's random name
      .catch(reason => console.warn('Your name could not be saved', reason));
  }
};

export default [factory, share, people, name, pythonStart, executionCounts, oneRun, roomKernels];
