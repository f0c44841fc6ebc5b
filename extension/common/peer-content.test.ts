import * as Y from 'yjs';

import {
  cellsChangedBeyondSource,
  colourOf,
  guardPeersIdentity,
  IPeerAwareness,
  RoomChanges,
  STRANGER_COLOUR
} from './peer-content';

const FROM_ROOM = Symbol('room');

function cell(source: string, metadata: Record<string, unknown> = {}): Y.Map<unknown> {
  const map = new Y.Map<unknown>();
  map.set('source', new Y.Text(source));
  map.set('metadata', new Y.Map(Object.entries(metadata)));
  map.set('outputs', new Y.Array());
  return map;
}

/** Alice's document, guarded, and Mallory's, which sends her every change from the room. */
function aliceAndMallory() {
  const alice = new Y.Doc();
  const mallory = new Y.Doc();
  alice.getArray('cells').insert(0, [cell('a = 1', { trusted: true })]);
  Y.applyUpdate(mallory, Y.encodeStateAsUpdate(alice));
  const changes = new RoomChanges({
    doc: alice,
    isFromRoom: origin => origin === FROM_ROOM,
    state: alice.getMap('state'),
    cells: alice.getArray('cells')
  });
  mallory.on('update', (update: Uint8Array) => Y.applyUpdate(alice, update, FROM_ROOM));
  const metadataOf = (index: number) =>
    (
      (alice.getArray('cells').get(index) as Y.Map<unknown>).get('metadata') as Y.Map<unknown>
    ).toJSON();
  const malloryCell = (index: number) => mallory.getArray('cells').get(index) as Y.Map<any>;
  return { alice, mallory, changes, metadataOf, malloryCell };
}

test('a path from the room is hidden from observers, the own one is not', () => {
  const { alice, mallory } = aliceAndMallory();
  const seen: string[] = [];
  alice.getMap('state').observe(event => seen.push(...event.keysChanged));
  mallory.getMap('state').set('path', 'elsewhere.ipynb');
  mallory.getMap('state').set('dirty', true);
  alice.getMap('state').set('path', 'mine.ipynb');
  expect(seen).toEqual(['dirty', 'path']);
});

test('the room cannot bring a trusted cell', () => {
  const { alice, mallory, metadataOf } = aliceAndMallory();
  let trustedWhenObserved: unknown = 'not observed';
  alice.getArray('cells').observe(event => {
    const inserted = event.changes.added.values().next().value?.content.getContent()[0];
    trustedWhenObserved = inserted?.get('metadata').get('trusted');
  });
  mallory.getArray('cells').push([cell('evil()', { trusted: true, tags: ['x'] })]);
  expect(trustedWhenObserved).toBeUndefined();
  expect(metadataOf(1)).toEqual({ tags: ['x'] });
});

test("the room changing a cell's outputs or metadata removes its trusted flag", () => {
  for (const change of ['outputs', 'metadata']) {
    const { mallory, metadataOf, malloryCell } = aliceAndMallory();
    if (change === 'outputs') {
      malloryCell(0)
        .get('outputs')
        .push([{ output_type: 'display_data' }]);
    } else {
      malloryCell(0).get('metadata').set('tags', ['x']);
    }
    expect(mallory.getArray('cells').length).toBe(1);
    expect(metadataOf(0).trusted).toBeUndefined();
  }
});

test("an edit of a cell's source from the room, and own changes, keep its trusted flag", () => {
  const { alice, metadataOf, malloryCell } = aliceAndMallory();
  malloryCell(0).get('source').insert(0, '# hello\n');
  expect(metadataOf(0)).toEqual({ trusted: true });
  const own = alice.getArray('cells').get(0) as Y.Map<any>;
  own.get('outputs').push([{ output_type: 'display_data' }]);
  alice.getArray('cells').push([cell('b = 2', { trusted: true })]);
  expect(metadataOf(0)).toEqual({ trusted: true });
  expect(metadataOf(1)).toEqual({ trusted: true });
});

test('applying is true exactly while observers see a room transaction', () => {
  const { alice, changes, malloryCell } = aliceAndMallory();
  const seen: boolean[] = [];
  alice.getArray('cells').observeDeep(() => seen.push(changes.applying));
  malloryCell(0)
    .get('outputs')
    .push([{ output_type: 'display_data' }]);
  (alice.getArray('cells').get(0) as Y.Map<any>).get('outputs').push([{}]);
  expect(seen).toEqual([true, false, false]);
  expect(changes.applying).toBe(false);
});

test('cellsChangedBeyondSource finds inserted and changed cells only', () => {
  const doc = new Y.Doc();
  const cells = doc.getArray('cells');
  cells.insert(0, [cell('a'), cell('b')]);
  const found: Y.Map<unknown>[][] = [];
  doc.on('beforeObserverCalls', (t: Y.Transaction) =>
    found.push(cellsChangedBeyondSource(t, cells))
  );
  (cells.get(0) as Y.Map<any>).get('source').insert(0, 'x');
  (cells.get(1) as Y.Map<any>).set('execution_count', 1);
  expect(found).toEqual([[], [cells.get(1)]]);
});

test("peers' colours are colours, and peers show no picture", () => {
  const states = new Map<number, { user?: Record<string, unknown> }>([
    [1, { user: { name: 'me', color: 'not mine to judge' } }],
    [2, { user: { name: 'ok', color: '#12ab' } }],
    [3, { user: { name: 'm', color: 'red; background: url(x)', avatar_url: 'https://x/' } }]
  ]);
  const awareness: IPeerAwareness = {
    clientID: 1,
    getStates: () => states,
    on: () => undefined,
    off: () => undefined
  };
  guardPeersIdentity(awareness);
  expect([...states.values()].map(state => state.user)).toEqual([
    { name: 'me', color: 'not mine to judge' },
    { name: 'ok', color: '#12ab' },
    { name: 'm', color: STRANGER_COLOUR }
  ]);
  expect(colourOf(undefined)).toBe(STRANGER_COLOUR);
});
