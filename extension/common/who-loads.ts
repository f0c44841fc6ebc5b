// Who loads a document into the room (DESIGN.md, rule 2): decided from what a peer opening it
// sees of the room, again at every change, until it adopts the room's content or loads.

/** With no signaling connection and no peer this long, the peer is on its own. */
export const SIGNALING_GRACE_MS = 1000;
/** How long a peer that knows of others waits for the room's content before loading the file
 * itself: briefly when its load would merge with theirs (same file, ids from the content),
 * longer when it would not (its own edited copy). */
export const JOIN_WAIT_MS = 2500;
export const MAX_WAIT_MS = 8000;

export interface IRoomView {
  /** the room (the wire document) holds a load */
  roomHasLoad: boolean;
  /** a signaling server is connected */
  signalingUp: boolean;
  /** subscribers of the document's topic, this peer included, as the signaling server last
   * counted them; null before it said */
  subscribers: number | null;
  /** this peer's y-webrtc id */
  peerId: string;
  /** the peers connected (or connecting) to this one */
  peers: { peerId: string; synced: boolean }[];
  /** whether only one of the peers that opened together may load (loads that would not merge) */
  electLoader: boolean;
  /** since the peer started looking */
  elapsedMs: number;
  /** how long it waits for the room's content (JOIN_WAIT_MS or MAX_WAIT_MS) */
  patienceMs: number;
}

export type Decision = 'adopt' | 'load' | 'wait';

export function whoLoads(view: IRoomView): Decision {
  const { peers } = view;
  if (view.roomHasLoad) {
    return 'adopt';
  }
  const others = view.subscribers === null ? null : view.subscribers - 1;
  const alone = others === 0 && peers.length === 0;
  const offline = !view.signalingUp && peers.length === 0 && view.elapsedMs >= SIGNALING_GRACE_MS;
  // Everybody subscribed is connected and synced, and nobody holds content: peers that opened
  // together. Each loads; identical loads merge into one.
  const together =
    others !== null && others > 0 && peers.length >= others && peers.every(peer => peer.synced);
  const loader = !view.electLoader || peers.every(peer => view.peerId < peer.peerId);
  if (alone || offline || (together && loader) || view.elapsedMs >= view.patienceMs) {
    return 'load';
  }
  return 'wait';
}

/** What a y-webrtc 10 provider sees of the room: its signaling connections, its own id and
 * the peers connected (or connecting) to it. */
export function peersSeenBy(webrtc: any): Pick<IRoomView, 'signalingUp' | 'peerId' | 'peers'> {
  const room = webrtc.room;
  const conns: any[] = room ? [...room.webrtcConns.values()] : [];
  return {
    signalingUp: webrtc.signalingConns.some((conn: any) => conn.connected),
    peerId: room?.peerId ?? '',
    peers: conns.map(conn => ({ peerId: conn.remotePeerId, synced: conn.synced }))
  };
}
