// Replaces the document provider factory of jupyterlab-webrtc-docprovider (whose `:factory`
// plugin the site disables) and keeps the rest of that extension in charge: settings, URL
// parameters, room id, signaling URLs and the status items all come from its IWebRtcManager.

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IDocumentProviderFactory, ProviderMock } from '@jupyterlab/docprovider';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';

import { SafeLoadProvider } from './provider';

const factory: JupyterFrontEndPlugin<IDocumentProviderFactory> = {
  id: 'jupyterlite-webrtc-safe-load:factory',
  autoStart: true,
  provides: IDocumentProviderFactory,
  requires: [IWebRtcManager],
  activate: (app: JupyterFrontEnd, manager: IWebRtcManager): IDocumentProviderFactory => {
    return (options) => {
      if (manager.disabled) {
        return new ProviderMock();
      }
      return new SafeLoadProvider({
        ...options,
        room: manager.fullRoomId,
        username: manager.username,
        usercolor: manager.usercolor,
        signalingUrls: manager.signalingUrls,
        contents: app.serviceManager.contents,
        onPeerCount: (count) => {
          manager.peerCount = count;
        },
      });
    };
  },
};

export default factory;
