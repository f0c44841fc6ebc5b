// Two or more peers, each a shown document behind a RoomGate, whose wires exchange updates as
// y-webrtc would: the protocol's cases in milliseconds, without a browser.

import * as Y from 'yjs';

import { withCellIds } from './cell-ids';
import { comparable, hash32, loadIdOf } from './hash';
import { LOADS, RoomGate } from './gate';

type Kind = 'text' | 'notebook';

class Peer {
  doc = new Y.Doc();
  lost: Y.Doc[] = [];
  gate: RoomGate;

  constructor(readonly kind: Kind) {
    this.gate = new RoomGate({
      doc: this.doc,
      content: doc => contentOf(kind, doc),
      onOwnVersionLost: version => this.lost.push(version)
    });
  }

  /** Load a file as the extension does: ids from the content, else a random one. */
  load(file: any, randomId = 1 + Math.floor(Math.random() * 0xfffffffe)): void {
    const content = this.kind === 'notebook' ? withCellIds(file) : file;
    const type = this.kind === 'notebook' ? 'notebook' : 'file';
    const loadId = loadIdOf(type, content) ?? randomId;
    this.gate.load(loadId, hash32(comparable(type, content)), () => {
      if (this.kind === 'notebook') {
        insertCells(this.doc, content.cells);
      } else {
        this.doc.getText('source').insert(0, content);
      }
    });
  }

  shown(): any {
    return shownOf(this.kind, this.doc);
  }
}

function contentOf(kind: Kind, doc: Y.Doc): Y.AbstractType<any> {
  return kind === 'notebook' ? doc.getArray('cells') : doc.getText('source');
}

/** Cells as JupyterLab 4 inserts them: a map per cell, its source a text. */
function insertCells(doc: Y.Doc, cells: any[]): void {
  const ycells = cells.map(cell => {
    const ycell = new Y.Map<any>();
    ycell.set('id', cell.id);
    ycell.set('cell_type', cell.cell_type);
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    ycell.set('source', new Y.Text(source));
    return ycell;
  });
  doc.getArray('cells').insert(0, ycells);
}

function shownOf(kind: Kind, doc: Y.Doc): any {
  if (kind === 'text') {
    return doc.getText('source').toString();
  }
  return doc
    .getArray<Y.Map<any>>('cells')
    .toArray()
    .map(cell => `${cell.get('id')}:${cell.get('source').toString()}`);
}

/** Peers whose wires can be connected and cut, as WebRTC connections are: each pair directly
 * (y-webrtc connects every pair of a room; a peer relays nothing). */
class Room {
  private links = new Set<string>();
  private handlers = new Map<Peer, (update: Uint8Array, origin: unknown) => void>();

  constructor(readonly peers: Peer[]) {
    for (const peer of peers) {
      const handler = (update: Uint8Array, origin: unknown) => {
        for (const other of peers) {
          if (other !== peer && origin !== this && this.linked(peer, other)) {
            Y.applyUpdate(other.gate.wire, update, this);
          }
        }
      };
      this.handlers.set(peer, handler);
      peer.gate.wire.on('update', handler);
    }
  }

  linked(a: Peer, b: Peer): boolean {
    return this.links.has(key(a, b));
  }

  /** Connect two peers: they sync their wires (y-webrtc's first sync), then relay updates. */
  connect(a: Peer, b: Peer): void {
    this.links.add(key(a, b));
    const fromA = Y.encodeStateAsUpdate(a.gate.wire, Y.encodeStateVector(b.gate.wire));
    const fromB = Y.encodeStateAsUpdate(b.gate.wire, Y.encodeStateVector(a.gate.wire));
    Y.applyUpdate(b.gate.wire, fromA, this);
    Y.applyUpdate(a.gate.wire, fromB, this);
  }

  /** Connect two peers as y-webrtc may when `b` answers `a`'s first message before sending
   * its own (simple-peer reports a connection open only after data may have come): `a` gets
   * all of `b` and relays at once what that changes in `a`, before `b` gets all of `a`. */
  connectAnsweredFirst(a: Peer, b: Peer): void {
    this.links.add(key(a, b));
    Y.applyUpdate(a.gate.wire, Y.encodeStateAsUpdate(b.gate.wire), this);
    Y.applyUpdate(
      b.gate.wire,
      Y.encodeStateAsUpdate(a.gate.wire, Y.encodeStateVector(b.gate.wire)),
      this
    );
  }

  connectAll(): void {
    for (const a of this.peers) {
      for (const b of this.peers) {
        if (a !== b && !this.linked(a, b)) {
          this.connect(a, b);
        }
      }
    }
  }

  cut(a: Peer, b: Peer): void {
    this.links.delete(key(a, b));
  }
}

const ids = new WeakMap<Peer, number>();
function key(a: Peer, b: Peer): string {
  for (const peer of [a, b]) {
    if (!ids.has(peer)) {
      ids.set(peer, ids.size + Math.random());
    }
  }
  return [ids.get(a), ids.get(b)].sort().join('|');
}

const TEXT = 'Hello, class.\nEdit me together.\n';
const OTHER_TEXT = 'Another copy of the file.\n';
/** saved before nbformat 4.5: no cell ids */
const OLD_NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 2,
  metadata: {},
  cells: [
    { cell_type: 'markdown', metadata: {}, source: ['# Lesson 1\n', 'Run the cell.'] },
    { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'x = 1' }
  ]
};

describe('peers that open a document together', () => {
  it('load the same file into one copy (a tie: every peer loads)', () => {
    const peers = [new Peer('text'), new Peer('text'), new Peer('text'), new Peer('text')];
    const room = new Room(peers);
    room.connectAll();
    for (const peer of peers) {
      peer.load(TEXT);
    }
    for (const peer of peers) {
      expect(peer.shown()).toBe(TEXT);
      expect(peer.doc.getMap(LOADS).size).toBe(1);
      expect(peer.lost).toEqual([]);
    }
  });

  it('load a notebook without cell ids into one copy, with the same ids everywhere', () => {
    const [alice, bob] = [new Peer('notebook'), new Peer('notebook')];
    const room = new Room([alice, bob]);
    room.connectAll();
    alice.load(OLD_NOTEBOOK);
    bob.load(OLD_NOTEBOOK);
    expect(alice.shown()).toHaveLength(2);
    expect(alice.shown()).toEqual(bob.shown());
    expect(alice.shown()[1]).toMatch(/^[0-9a-f]{8}-1:x = 1$/);
  });

  it('keep the edits made on top of their loads, once', () => {
    const [alice, bob] = [new Peer('text'), new Peer('text')];
    const room = new Room([alice, bob]);
    alice.load(TEXT);
    bob.load(TEXT);
    alice.doc.getText('source').insert(TEXT.length, 'from alice\n');
    bob.doc.getText('source').insert(0, 'from bob\n');
    room.connectAll();
    expect(alice.shown()).toBe(`from bob\n${TEXT}from alice\n`);
    expect(bob.shown()).toBe(alice.shown());
  });
});

describe('a late joiner', () => {
  it('adopts the room content: it shows the room, does not load, and sees edits both ways', () => {
    const [alice, bob] = [new Peer('text'), new Peer('text')];
    const room = new Room([alice, bob]);
    alice.load(TEXT);
    alice.doc.getText('source').insert(0, 'unsaved ');
    room.connectAll();
    expect(bob.gate.roomHasLoad).toBe(true);
    expect(bob.shown()).toBe(''); // the gate holds the room back until bob decides
    bob.gate.adopt();
    expect(bob.shown()).toBe(`unsaved ${TEXT}`);
    bob.doc.getText('source').insert(0, 'bob ');
    expect(alice.shown()).toBe(`bob unsaved ${TEXT}`);
  });
});

describe('peers that loaded different copies apart (a partition)', () => {
  it('end with one copy, the smallest load id, and the loser keeps its version', () => {
    const [alice, bob] = [new Peer('text'), new Peer('text')];
    const room = new Room([alice, bob]);
    alice.load(TEXT);
    bob.load(OTHER_TEXT);
    room.connect(alice, bob);
    const winner = loadIdOf('file', TEXT)! < loadIdOf('file', OTHER_TEXT)! ? TEXT : OTHER_TEXT;
    const [winning, losing] = winner === TEXT ? [alice, bob] : [bob, alice];
    expect(alice.shown()).toBe(winner);
    expect(bob.shown()).toBe(winner);
    expect(winning.lost).toEqual([]);
    expect(losing.lost.map(version => version.getText('source').toString())).toEqual([
      winner === TEXT ? OTHER_TEXT : TEXT
    ]);
  });

  it.each(['text', 'notebook'] as Kind[])(
    'the loser keeps its %s when the winner deletes its load before sending its own',
    kind => {
      const files =
        kind === 'text'
          ? [TEXT, OTHER_TEXT]
          : [OLD_NOTEBOOK, { ...OLD_NOTEBOOK, cells: OLD_NOTEBOOK.cells.slice(1) }];
      const type = kind === 'text' ? 'file' : 'notebook';
      const [won, lost] = files.sort(
        (a, b) => loadIdOf(type, withCellIds(a))! - loadIdOf(type, withCellIds(b))!
      );
      const [winning, losing] = [new Peer(kind), new Peer(kind)];
      const room = new Room([winning, losing]);
      winning.load(won);
      losing.load(lost);
      const version = losing.shown();
      room.connectAnsweredFirst(winning, losing);
      expect(losing.shown()).toEqual(winning.shown());
      expect(losing.lost.map(doc => shownOf(kind, doc))).toEqual([version]);
    }
  );

  it('resolve to the same copy whatever order the loads arrive in', () => {
    const texts = ['one\n', 'two\n', 'three\n'];
    const peers = texts.map(() => new Peer('text'));
    const room = new Room(peers);
    peers.forEach((peer, index) => peer.load(texts[index]));
    room.connect(peers[2], peers[1]);
    room.connect(peers[0], peers[1]);
    room.connect(peers[0], peers[2]);
    const shown = peers.map(peer => peer.shown());
    expect(new Set(shown).size).toBe(1);
    const winner = texts.reduce((a, b) => (loadIdOf('file', a)! < loadIdOf('file', b)! ? a : b));
    expect(shown[0]).toBe(winner);
  });

  it('a load that lost never wins later: a peer cut off and back keeps the winner', () => {
    const [alice, bob, carol] = [new Peer('text'), new Peer('text'), new Peer('text')];
    const room = new Room([alice, bob, carol]);
    alice.load(TEXT);
    bob.load(OTHER_TEXT);
    room.connect(alice, bob);
    const winner = alice.shown();
    room.cut(alice, bob);
    carol.gate.adopt();
    room.connect(carol, bob);
    room.connect(carol, alice);
    expect([alice.shown(), bob.shown(), carol.shown()]).toEqual([winner, winner, winner]);
  });

  it('loads of one text with random ids (same content) lose nothing', () => {
    const [alice, bob] = [new Peer('notebook'), new Peer('notebook')];
    const room = new Room([alice, bob]);
    const nbformat3 = { nbformat: 3, cells: [{ cell_type: 'code', id: 'a', source: 'x' }] };
    alice.load(nbformat3, 7);
    bob.load(nbformat3, 9);
    room.connect(alice, bob);
    expect(alice.shown()).toEqual(['a:x']);
    expect(bob.shown()).toEqual(['a:x']);
    expect([...alice.lost, ...bob.lost]).toEqual([]);
  });
});

describe('a load that JupyterLab inserts itself (JupyterLab 3.5)', () => {
  const microtasks = () => new Promise(resolve => setTimeout(resolve, 0));

  it('gives its inserts the load id and ends right after them, as one load with a peer', async () => {
    const [alice, bob] = [new Peer('text'), new Peer('text')];
    const room = new Room([alice, bob]);
    room.connectAll();
    const loadId = loadIdOf('file', TEXT)!;
    alice.gate.beginLoad(loadId, hash32(comparable('file', TEXT)));
    alice.doc.getText('source').insert(0, TEXT);
    expect(alice.gate.isOpen).toBe(false);
    await microtasks();
    expect(alice.gate.isOpen).toBe(true);
    expect([...alice.doc.getMap(LOADS).keys()]).toEqual([String(loadId)]);
    alice.doc.getText('source').insert(TEXT.length, 'typed\n');
    bob.load(TEXT);
    expect(bob.shown()).toBe(`${TEXT}typed\n`);
    const clients = new Set<number>();
    for (let item = alice.doc.getText('source')._start; item; item = item.right) {
      clients.add(item.id.client);
    }
    expect(clients).toEqual(new Set([loadId, alice.doc.clientID]));
  });

  it('ends at endLoad when the file inserted nothing, once', async () => {
    const alice = new Peer('text');
    alice.gate.beginLoad(5, hash32(comparable('file', '')));
    alice.gate.endLoad();
    alice.gate.endLoad();
    expect(alice.gate.isOpen).toBe(true);
    expect([...alice.doc.getMap(LOADS).keys()]).toEqual(['5']);
    alice.doc.getText('source').insert(0, 'typed');
    await microtasks();
    expect(alice.doc.getText('source')._start?.id.client).toBe(alice.doc.clientID);
  });
});
