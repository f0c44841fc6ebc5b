import * as Y from 'yjs';

import { ignoreLosingConcurrentSets, OneRunWins, RUNS } from './one-run';

/** Pages of one room whose updates wait in a queue until `deliver()`: what one page does
 * before delivery, the others do not see (about the same moment). */
function room(names: string[]) {
  const first = new Y.Doc();
  const cell = new Y.Map<unknown>();
  cell.set('source', new Y.Text('x'));
  cell.set('outputs', new Y.Array());
  first.getArray('cells').insert(0, [cell]);
  const pending: [Y.Doc, Uint8Array][] = [];
  const pages = names.map((name, index) => {
    const doc = index === 0 ? first : new Y.Doc();
    if (index > 0) {
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(first), 'room');
    }
    return { name, doc, runs: new OneRunWins(doc) };
  });
  for (const page of pages) {
    page.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'room') {
        pages.filter(p => p !== page).forEach(p => pending.push([p.doc, update]));
      }
    });
  }
  const cellOf = (doc: Y.Doc) => doc.getArray<Y.Map<unknown>>('cells').get(0);
  const outputsOf = (doc: Y.Doc) => cellOf(doc).get('outputs') as Y.Array<string>;
  return {
    pages,
    /** A run, as JupyterLab does it: claim, clear the outputs, add the kernel's. */
    begin(doc: Y.Doc, runs: OneRunWins, ...outputs: string[]) {
      runs.begin(cellOf(doc));
      const shown = outputsOf(doc);
      shown.delete(0, shown.length);
      shown.push(outputs);
    },
    output(doc: Y.Doc, output: string) {
      outputsOf(doc).push([output]);
    },
    end(doc: Y.Doc, runs: OneRunWins) {
      runs.end(cellOf(doc));
    },
    /** Every update reaches every page, and the pages settle (a microtask later). */
    async deliver() {
      do {
        await Promise.resolve();
        while (pending.length) {
          const [doc, update] = pending.shift()!;
          Y.applyUpdate(doc, update, 'room');
        }
        await Promise.resolve();
      } while (pending.length);
    },
    shown: () => pages.map(page => outputsOf(page.doc).toArray())
  };
}

test('a run alone keeps its outputs, and so does the next run', async () => {
  const r = room(['alice', 'bob']);
  const [alice] = r.pages;
  r.begin(alice.doc, alice.runs, 'first');
  r.end(alice.doc, alice.runs);
  await r.deliver();
  expect(r.shown()).toEqual([['first'], ['first']]);
  r.begin(alice.doc, alice.runs, 'second');
  r.output(alice.doc, 'more');
  r.end(alice.doc, alice.runs);
  await r.deliver();
  expect(r.shown()).toEqual([
    ['second', 'more'],
    ['second', 'more']
  ]);
});

test('two runs at the same moment: every page shows one of them, the same one', async () => {
  const r = room(['alice', 'bob']);
  const [alice, bob] = r.pages;
  r.begin(alice.doc, alice.runs, 'alice');
  r.begin(bob.doc, bob.runs, 'bob');
  r.end(alice.doc, alice.runs);
  r.end(bob.doc, bob.runs);
  await r.deliver();
  const [shown] = r.shown();
  expect(r.shown()).toEqual([shown, shown]);
  expect([['alice'], ['bob']]).toContainEqual(shown);
  expect(alice.doc.getMap(RUNS).toJSON()).toEqual(bob.doc.getMap(RUNS).toJSON());
});

test('a class of four runs at the same moment: one run shows, whole', async () => {
  const r = room(['a', 'b', 'c', 'd']);
  for (const page of r.pages) {
    r.begin(page.doc, page.runs, `${page.name}1`);
  }
  await r.deliver();
  for (const page of r.pages) {
    r.output(page.doc, `${page.name}2`);
    r.end(page.doc, page.runs);
  }
  await r.deliver();
  const [shown] = r.shown();
  expect(r.shown()).toEqual(r.pages.map(() => shown));
  expect(r.pages.map(page => [`${page.name}1`, `${page.name}2`])).toContainEqual(shown);
});

test('outputs the losing run adds after it lost go too, until it ends', async () => {
  const r = room(['alice', 'bob']);
  const [alice, bob] = r.pages;
  r.begin(alice.doc, alice.runs, 'alice');
  r.begin(bob.doc, bob.runs, 'bob');
  await r.deliver();
  const [winner, loser] = r.shown()[0][0] === 'alice' ? [alice, bob] : [bob, alice];
  r.output(loser.doc, 'late from the loser');
  r.end(loser.doc, loser.runs);
  r.output(winner.doc, 'late from the winner');
  r.end(winner.doc, winner.runs);
  await r.deliver();
  expect(r.shown()).toEqual([
    [winner.name, 'late from the winner'],
    [winner.name, 'late from the winner']
  ]);
});

test('a run that saw an earlier one replaces it, even while the earlier one still runs', async () => {
  const r = room(['alice', 'bob']);
  const [alice, bob] = r.pages;
  r.begin(alice.doc, alice.runs, 'alice');
  await r.deliver();
  r.begin(bob.doc, bob.runs, 'bob');
  await r.deliver();
  r.output(alice.doc, 'alice, still running');
  r.end(alice.doc, alice.runs);
  r.end(bob.doc, bob.runs);
  await r.deliver();
  expect(r.shown()).toEqual([['bob'], ['bob']]);
});

test('outputs written without a run of this page are left alone', async () => {
  const r = room(['alice', 'bob']);
  const [alice, bob] = r.pages;
  r.begin(alice.doc, alice.runs, 'alice');
  r.end(alice.doc, alice.runs);
  r.output(bob.doc, 'bob, no run');
  await r.deliver();
  const [shown] = r.shown();
  expect(r.shown()).toEqual([shown, shown]);
  expect([...shown].sort()).toEqual(['alice', 'bob, no run']);
});

test('a key two pages set at once: observers see a change only where its value changed', () => {
  const [alice, bob] = [new Y.Doc(), new Y.Doc()];
  const seen: unknown[] = [];
  for (const doc of [alice, bob]) {
    ignoreLosingConcurrentSets(doc);
    doc.getMap('cell').observe(event => {
      for (const key of event.keysChanged) {
        seen.push(event.changes.keys.get(key)?.oldValue ?? 'no old value'); // JupyterLab 3.5's read
      }
    });
  }
  alice.getMap('cell').set('execution_count', 1);
  bob.getMap('cell').set('execution_count', 2);
  seen.length = 0;
  Y.applyUpdate(alice, Y.encodeStateAsUpdate(bob));
  Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice));
  expect(alice.getMap('cell').get('execution_count')).toBe(
    bob.getMap('cell').get('execution_count')
  );
  expect(seen).toHaveLength(1); // the page whose value changed; the other saw nothing
  expect(seen).not.toContain('no old value');
});

test('a run that lost while running is told so, once', async () => {
  const lost: unknown[] = [];
  const r = room(['alice', 'bob']);
  const [alice, bob] = r.pages;
  for (const page of r.pages) {
    page.runs.dispose();
    page.runs = new OneRunWins(page.doc, cell => lost.push([page.name, cell]));
  }
  r.begin(alice.doc, alice.runs, 'alice');
  r.begin(bob.doc, bob.runs, 'bob');
  await r.deliver();
  r.output(alice.doc, 'more');
  await r.deliver();
  expect(lost).toHaveLength(1);
  const [[name, cell]] = lost as [string, Y.Map<unknown>][];
  const loser = name === 'alice' ? alice : bob;
  expect(cell).toBe(loser.doc.getArray('cells').get(0));
});
