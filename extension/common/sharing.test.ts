import { cleanName, MAX_NAME_LENGTH, newPrivateRoom, peopleOf, roomLink } from './sharing';

test('a room link names the room, carries a private room secret, and nobody', () => {
  const page = 'https://o.github.io/site/lab/index.html?room=old&username=ann&path=a.ipynb#x';
  expect(roomLink(page, { name: 'class 1', secret: null })).toBe(
    'https://o.github.io/site/lab/index.html?room=class+1&path=a.ipynb'
  );
  expect(roomLink(page, { name: 'r', secret: 's/+ t' }, true)).toBe(
    'https://o.github.io/site/lab/index.html?room=r&username=ann&path=a.ipynb#key=s%2F%2B%20t'
  );
});

test('new private rooms differ and have secrets', () => {
  const [one, two] = [newPrivateRoom(), newPrivateRoom()];
  expect(one.name).toMatch(/^private-[0-9a-f]{12}$/);
  expect(one.secret).toMatch(/^[0-9a-f]{32}$/);
  expect(one.name).not.toBe(two.name);
  expect(one.secret).not.toBe(two.secret);
});

test('names are trimmed and cut', () => {
  expect(cleanName('  Ann  ')).toBe('Ann');
  expect(cleanName(null)).toBe('');
  expect(cleanName('x'.repeat(100))).toHaveLength(MAX_NAME_LENGTH);
});

test('who is here: you first, then by name; nameless states left out', () => {
  const states = new Map<number, { user?: { name?: unknown; color?: unknown } }>([
    [1, { user: { name: 'Zoe', color: '#123' } }],
    [2, { user: { name: 'Bob' } }],
    [3, {}],
    [4, { user: { name: 'Ann', color: 7 } }]
  ]);
  expect(peopleOf(states, 1)).toEqual([
    { name: 'Zoe', color: '#123', you: true },
    { name: 'Ann', color: null, you: false },
    { name: 'Bob', color: null, you: false }
  ]);
});
