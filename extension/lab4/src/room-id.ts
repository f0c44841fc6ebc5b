// Room ids and random ids without the browser's secure-context-only crypto: a page on plain
// http:// (a preview on a school's network) has neither crypto.subtle nor crypto.randomUUID.

import { digest as sha256 } from 'lib0/hash/sha256';

/** The room's id on signaling, as ../common/room.ts's roomIdOf names it (sha256 hex of
 * "PREFIX-ROOM"), with lib0's sha256. */
export function roomIdOf(prefix: string, room: string): string {
  return hex(sha256(new TextEncoder().encode(`${prefix}-${room}`)));
}

/** `bytes` random bytes as hex (crypto.getRandomValues exists on http pages too). */
export function randomHex(bytes: number): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('');
}
