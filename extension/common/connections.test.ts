import { EventEmitter } from 'events';

import {
  CONNECT_TIMEOUT_MS,
  StalledConnections,
  subscribersOf,
  syncedOnStep2,
  watchConnections
} from './connections';

describe('connections', () => {
  it('a connection that has not opened within the timeout is dropped; an open one stays', () => {
    const stalled = { connected: false, destroy: jest.fn() };
    const open = { connected: true, destroy: jest.fn() };
    const watch = new StalledConnections();
    watch.drop([stalled, open], 0);
    watch.drop([stalled, open], CONNECT_TIMEOUT_MS - 1);
    expect(stalled.destroy).not.toHaveBeenCalled();
    watch.drop([stalled, open], CONNECT_TIMEOUT_MS);
    expect(stalled.destroy).toHaveBeenCalledTimes(1);
    expect(open.destroy).not.toHaveBeenCalled();
  });

  it("the signaling server's subscriber count of this topic, not another's", () => {
    const message = { type: 'publish', topic: 't', clients: 3 };
    expect(subscribersOf(message, 't')).toBe(3);
    expect(subscribersOf(message, 'other')).toBeNull();
    expect(subscribersOf({ type: 'pong' }, 't')).toBeNull();
  });

  it('a connection says synced once it has received a sync step 2, and only then', () => {
    const conn = { synced: false, peer: new EventEmitter() };
    syncedOnStep2(conn);
    conn.peer.emit('data', new Uint8Array([0, 0, 1, 0])); // sync step 1: what it has
    conn.peer.emit('data', new Uint8Array([0, 2, 1, 0])); // an update
    conn.peer.emit('data', new Uint8Array([1, 1, 0])); // awareness
    expect(conn.synced).toBe(false);
    conn.peer.emit('data', new Uint8Array([0, 1, 2, 0, 0])); // sync step 2: everything it has
    expect(conn.synced).toBe(true);
  });

  it('every connection of the room is watched, those made after the room synced too', () => {
    // y-webrtc 10 opens the room later (once the key is ready) and adds connections to it as
    // peers announce themselves, one after another.
    const provider: any = { room: null };
    const watched: string[] = [];
    watchConnections(provider, conn => watched.push(conn.name));
    provider.room = { webrtcConns: new Map(), synced: false };
    provider.room.webrtcConns.set('bob', { name: 'bob' });
    provider.room.synced = true;
    provider.room.webrtcConns.set('carol', { name: 'carol' });
    expect(watched).toEqual(['bob', 'carol']);
    expect([...provider.room.webrtcConns.keys()]).toEqual(['bob', 'carol']);
  });
});
