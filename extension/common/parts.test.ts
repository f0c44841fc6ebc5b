import { EventEmitter } from 'events';
import { PART_SIZE, partsOf, Reassembly, sendsInParts } from './parts';

const bytes = (length: number) => Uint8Array.from({ length }, (_, i) => i % 251);
// Whether two messages hold the same bytes. (Jest's toEqual compares typed arrays element by
// element: 35 s for these tests' few MB.)
const same = (got: Uint8Array | null | undefined, expected: Uint8Array) =>
  got instanceof Uint8Array && Buffer.compare(got, expected) === 0;

describe('parts', () => {
  it('a small message goes whole; a large one in parts no larger than a channel carries', () => {
    const small = bytes(PART_SIZE);
    const [whole, ...more] = partsOf(small);
    expect(same(whole, small) && more.length === 0).toBe(true);
    const parts = partsOf(bytes(2_000_000));
    expect(parts).toHaveLength(Math.ceil(2_000_000 / PART_SIZE));
    expect(Math.max(...parts.map(part => part.length))).toBeLessThan(256 * 1024);
  });

  it('parts come back together as the message; whole messages pass between them', () => {
    const message = bytes(1_000_000);
    const sync = Uint8Array.of(0, 1, 2); // y-webrtc messages start with their type
    const reassembly = new Reassembly();
    const [first, ...rest] = partsOf(message);
    expect(reassembly.add(first)).toBeNull();
    expect(reassembly.add(sync)).toBe(sync);
    const got = rest.map(part => reassembly.add(part));
    expect(got.slice(0, -1).every(each => each === null)).toBe(true);
    expect(same(got[got.length - 1], message)).toBe(true);
  });

  it('a message whose part went missing is dropped, and the next one arrives', () => {
    const reassembly = new Reassembly();
    const [first, , third] = partsOf(bytes(3 * PART_SIZE));
    expect([reassembly.add(first), reassembly.add(third)]).toEqual([null, null]);
    const next = bytes(2 * PART_SIZE);
    const [partial, done] = partsOf(next).map(part => reassembly.add(part));
    expect(partial).toBeNull();
    expect(same(done, next)).toBe(true);
  });

  it("a peer sends in parts, and its 'data' listeners get whole messages", () => {
    const wire: Uint8Array[] = [];
    const alice = Object.assign(new EventEmitter(), { send: (d: Uint8Array) => wire.push(d) });
    const bob = Object.assign(new EventEmitter(), { send: (_: Uint8Array) => undefined });
    sendsInParts(alice);
    sendsInParts(bob);
    const received: Uint8Array[] = [];
    bob.on('data', data => received.push(data));
    const large = bytes(500_000);
    alice.send(large);
    alice.send(Uint8Array.of(1));
    expect(wire.length).toBeGreaterThan(2);
    wire.forEach(part => bob.emit('data', part));
    expect(received).toHaveLength(2);
    expect(same(received[0], large) && same(received[1], Uint8Array.of(1))).toBe(true);
  });
});
