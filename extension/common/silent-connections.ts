// Open connections that carry nothing (DESIGN.md, "Partitions and reconnects").

import { IPeerConnection } from './connections';

/** Every peer sends its awareness at least every 15 s (y-protocols renews it): an open
 * connection that brought nothing for this long is dead, whatever it says of itself. */
export const SILENT_TIMEOUT_MS = 45000;

/** A network that drops for about as long as a browser takes to end a connection can leave
 * one that says it is open and carries nothing, while y-webrtc, which has it, ignores that
 * peer's announcements: the two stay apart, each with edits the other never gets. Told what
 * each connection brings, and checked every few seconds, this drops such connections, so
 * that the peers connect again and sync. */
export class SilentConnections {
  /** Something came through `conn` at `now`. */
  heard(conn: IPeerConnection, now: number): void {
    this._lastHeard.set(conn, now);
  }

  /** Drop the open connections among `conns` that nothing came through for
   * SILENT_TIMEOUT_MS, counted from when they were last heard or first seen open. */
  drop(conns: Iterable<IPeerConnection>, now: number): void {
    for (const conn of conns) {
      if (!conn.connected) {
        continue;
      }
      const since = this._lastHeard.get(conn) ?? now;
      this._lastHeard.set(conn, since);
      if (now - since >= SILENT_TIMEOUT_MS) {
        conn.destroy();
      }
    }
  }

  private _lastHeard = new WeakMap<IPeerConnection, number>();
}
