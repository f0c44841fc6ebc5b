import { roomIdOf as withSubtle } from './common/room';
import { randomHex, roomIdOf } from './room-id';

it('room ids are those of common/room.ts, with neither crypto.subtle nor randomUUID', async () => {
  const expected = await withSubtle('site-prefix', 'room');
  const real = globalThis.crypto;
  const insecure = { getRandomValues: <T extends Uint8Array>(a: T) => real.getRandomValues(a) };
  Object.defineProperty(globalThis, 'crypto', { value: insecure, configurable: true });
  try {
    expect(roomIdOf('site-prefix', 'room')).toBe(expected);
    expect(randomHex(16)).toMatch(/^[0-9a-f]{32}$/);
  } finally {
    Object.defineProperty(globalThis, 'crypto', { value: real, configurable: true });
  }
});
