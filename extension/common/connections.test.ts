import { CONNECT_TIMEOUT_MS, StalledConnections, subscribersOf } from './connections';

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
});
