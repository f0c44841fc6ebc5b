import { IRoomView, JOIN_WAIT_MS, SIGNALING_GRACE_MS, whoLoads } from './who-loads';

const opening: IRoomView = {
  roomHasLoad: false,
  signalingUp: true,
  subscribers: null,
  peerId: 'b',
  peers: [],
  electLoader: false,
  elapsedMs: 0,
  patienceMs: JOIN_WAIT_MS
};

describe('who loads a document', () => {
  it('a room that holds a load: adopt it', () => {
    expect(whoLoads({ ...opening, roomHasLoad: true, subscribers: 1 })).toBe('adopt');
  });

  it('alone on signaling: load', () => {
    expect(whoLoads({ ...opening, subscribers: 1 })).toBe('load');
  });

  it('before signaling counted: wait', () => {
    expect(whoLoads(opening)).toBe('wait');
  });

  it('signaling down: wait the grace, then load alone', () => {
    const down = { ...opening, signalingUp: false };
    expect(whoLoads({ ...down, elapsedMs: SIGNALING_GRACE_MS - 1 })).toBe('wait');
    expect(whoLoads({ ...down, elapsedMs: SIGNALING_GRACE_MS })).toBe('load');
  });

  it('others subscribed but not all connected and synced: wait, until patience runs out', () => {
    const peers = [{ peerId: 'a', synced: true }];
    const view = { ...opening, subscribers: 3, peers };
    expect(whoLoads(view)).toBe('wait');
    expect(whoLoads({ ...view, elapsedMs: JOIN_WAIT_MS })).toBe('load');
  });

  it('everyone subscribed connected and synced, nobody loaded (opened together): all load', () => {
    const peers = [
      { peerId: 'a', synced: true },
      { peerId: 'c', synced: true }
    ];
    expect(whoLoads({ ...opening, subscribers: 3, peers })).toBe('load');
  });

  it('opened together with loads that would not merge: only the smallest peer id loads', () => {
    const peers = [
      { peerId: 'a', synced: true },
      { peerId: 'c', synced: true }
    ];
    const view = { ...opening, subscribers: 3, peers, electLoader: true };
    expect(whoLoads(view)).toBe('wait');
    expect(whoLoads({ ...view, peerId: '0' })).toBe('load');
  });
});
