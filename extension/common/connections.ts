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
