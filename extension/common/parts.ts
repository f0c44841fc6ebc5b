// Large messages between peers, sent in parts. A WebRTC data channel carries messages up to its
// max-message-size (Chromium: 256 KiB); y-webrtc sends each Yjs update as one message, and one
// that is too large is dropped without a word (its send is in a try/catch): a 2 MB image output
// never reached the others. Peers of one build speak this; their channels are ordered.

/** What a part starts with. y-webrtc's own messages start with their type, a one-byte varint
 * below 0x80, never with this. */
const PART = 0xff;
const HEADER = 9; // PART, the part's index and the number of parts (uint32 each)
export const PART_SIZE = 64 * 1024;

/** `message` as the messages to send: itself if it is small enough, else its parts. */
export function partsOf(message: Uint8Array, size = PART_SIZE): Uint8Array[] {
  if (message.length <= size) {
    return [message];
  }
  const count = Math.ceil(message.length / size);
  return Array.from({ length: count }, (_, index) => {
    const body = message.subarray(index * size, (index + 1) * size);
    const part = new Uint8Array(HEADER + body.length);
    const header = new DataView(part.buffer);
    header.setUint8(0, PART);
    header.setUint32(1, index);
    header.setUint32(5, count);
    part.set(body, HEADER);
    return part;
  });
}

/** Puts the parts of a peer's messages back together, in the order they come. */
export class Reassembly {
  /** The whole message once `data` completes it (a message sent whole is whole), else null. */
  add(data: Uint8Array): Uint8Array | null {
    if (data[0] !== PART || data.length < HEADER) {
      return data;
    }
    const header = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const index = header.getUint32(1);
    if (index === 0) {
      this._parts = [];
    }
    if (index !== this._parts.length) {
      this._parts = []; // not the next part: the channel lost one, so the message is lost
      return null;
    }
    this._parts.push(data.subarray(HEADER));
    if (this._parts.length < header.getUint32(5)) {
      return null;
    }
    const whole = new Uint8Array(this._parts.reduce((length, part) => length + part.length, 0));
    let offset = 0;
    for (const part of this._parts) {
      whole.set(part, offset);
      offset += part.length;
    }
    this._parts = [];
    return whole;
  }

  private _parts: Uint8Array[] = [];
}

/** What sendsInParts needs of a simple-peer connection. */
export interface IPeer {
  send(data: Uint8Array): void;
  emit(event: string | symbol, ...args: any[]): boolean;
}

/** From now on `peer` sends large messages in parts, and hands its listeners ('data') only
 * whole messages. */
export function sendsInParts(peer: IPeer): void {
  const send = peer.send.bind(peer);
  const emit = peer.emit.bind(peer);
  const reassembly = new Reassembly();
  peer.send = data => partsOf(data).forEach(send);
  peer.emit = (event, ...args) => {
    if (event !== 'data') {
      return emit(event, ...args);
    }
    const whole = reassembly.add(args[0]);
    return whole === null || emit('data', whole);
  };
}
