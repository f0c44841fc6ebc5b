// The part of jupyterlab-webrtc-docprovider 0.1.1 this extension uses. That package is not on
// npm: its built extension registers this module in the page's shared scope, and webpack takes
// it from there (package.json, sharedPackages).
declare module '@jupyterlite/webrtc-docprovider' {
  import { Token } from '@lumino/coreutils';
  import { ISignal } from '@lumino/signaling';

  export interface IWebRtcManager {
    readonly disabled: boolean;
    /** the room's name, from ?room= or the settings */
    readonly roomName: string;
    /** from ?username=, else the settings' `username`, else a random "Anonymous ..." */
    readonly username: string;
    readonly usercolor: string;
    readonly signalingUrls: string[];
    /** sha256 of "{roomPrefix}-{room}": the topic prefix every peer of the room shares */
    readonly fullRoomId: string;
    /** shown by its status items */
    peerCount: number;
    /** emitted when its settings change (a new name, for one) */
    readonly stateChanged: ISignal<IWebRtcManager, void>;
  }

  export const IWebRtcManager: Token<IWebRtcManager>;
}
