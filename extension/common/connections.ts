// Connections between peers, as y-webrtc keeps them (DESIGN.md, "Partitions and reconnects").

/** A connection to a peer that has not opened this long is dropped and tried again (ICE on
 * loopback or a LAN takes well under a second; a browser gives up on failed ICE after ~10 s). */
export const CONNECT_TIMEOUT_MS = 15000;

export interface IPeerConnection {
  connected: boolean;
  destroy(): void;
}

/** y-webrtc keeps a connection that never opens (crossing offers, a handshake lost on the
 * way), and while it has one to a peer it ignores that peer's announcements: the two would
 * never meet. Checked every few seconds, this drops such connections, so that y-webrtc
 * announces the peer again and every peer without a connection to it starts one. */
export class StalledConnections {
  /** Drop the connections among `conns` that have not opened for CONNECT_TIMEOUT_MS. */
  drop(conns: Iterable<IPeerConnection>, now: number): void {
    for (const conn of conns) {
      const since = conn.connected ? now : (this._connectingSince.get(conn) ?? now);
      this._connectingSince.set(conn, since);
      if (now - since >= CONNECT_TIMEOUT_MS) {
        conn.destroy();
      }
    }
  }

  private _connectingSince = new WeakMap<IPeerConnection, number>();
}

/** The subscriber count of `topic` that a signaling message carries, or null: the signaling
 * server adds it to every message it relays (a peer's own announcement comes back to it too). */
export function subscribersOf(message: any, topic: string): number | null {
  return message?.type === 'publish' &&
    message.topic === topic &&
    typeof message.clients === 'number'
    ? message.clients
    : null;
}

/** `watch(conn)` for every connection `provider` (a y-webrtc 10 WebrtcProvider) makes to a
 * peer, before its first message: y-webrtc makes them in the room it opens (at once, or once a
 * private room's key is ready). */
export function watchConnections(provider: any, watch: (conn: any) => void): void {
  let room: any = provider.room;
  Object.defineProperty(provider, 'room', {
    configurable: true,
    get: () => room,
    set: (opened: any) => {
      room = opened;
      const conns: Map<string, any> | undefined = opened?.webrtcConns;
      if (conns) {
        const add = conns.set.bind(conns);
        conns.set = (peerId, conn) => {
          watch(conn);
          return add(peerId, conn);
        };
      }
    }
  });
}

/** Whether a message between peers is a Yjs sync step 2 (y-webrtc's message type 0, "sync",
 * then y-protocols' 1, "step 2": the answer that carries everything the other peer has). */
export function isSyncStep2(message: Uint8Array): boolean {
  return message[0] === 0 && message[1] === 1;
}

/** A connection says `synced` once it has received the other peer's sync step 2. y-webrtc 10
 * sets it only while the ROOM has not synced yet, so a connection made after the first one
 * synced never said it, and peers that opened together waited their whole patience for it
 * (who-loads.ts). Call before the connection's first message; y-webrtc reads each message
 * before this sees it. */
export function syncedOnStep2(conn: {
  synced: boolean;
  peer: { on(event: 'data', listener: (data: Uint8Array) => void): void };
}): void {
  conn.peer.on('data', data => {
    if (isSyncStep2(data)) {
      conn.synced = true;
    }
  });
}
