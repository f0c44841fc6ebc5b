import { withCellIds } from './cell-ids';
import { canonicalJson, comparable, hash32, isOwnDifferentCopy, loadIdOf } from './hash';
import { roomIdOf, roomSecretError, roomSecretOf } from './room';

describe('ids from content', () => {
  it('FNV-1a of known strings', () => {
    expect(hash32('')).toBe(0x811c9dc5);
    expect(hash32('a')).toBe(0xe40c292c);
  });

  it('a notebook gives the same JSON whatever the order of its keys', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe(
      canonicalJson({ a: [{ c: null, d: 2 }], b: 1 })
    );
  });

  it('text loads the same with either line ending', () => {
    expect(loadIdOf('file', 'a\r\nb')).toBe(loadIdOf('file', 'a\nb'));
    expect(comparable('file', 'a\r\nb')).toBe('a\nb');
  });

  it('a notebook without unique cell ids has no load id until it is given ids', () => {
    const notebook = {
      nbformat: 4,
      nbformat_minor: 4,
      metadata: {},
      cells: [
        { cell_type: 'code', source: 'x' },
        { cell_type: 'code', source: 'y' }
      ]
    };
    expect(loadIdOf('notebook', notebook)).toBeNull();
    const withIds = withCellIds(notebook);
    expect(withIds.nbformat_minor).toBe(5);
    expect(loadIdOf('notebook', withIds)).not.toBeNull();
    expect(withCellIds(notebook)).toEqual(withIds); // the same in every browser
  });

  it('cell ids that are valid and unique are kept; repeated ones are replaced', () => {
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      cells: [
        { cell_type: 'code', id: 'same', source: '' },
        { cell_type: 'code', id: 'same', source: '' },
        { cell_type: 'code', id: 'bad id!', source: '' }
      ]
    };
    const ids = withCellIds(notebook).cells.map((cell: any) => cell.id);
    expect(ids[0]).toBe('same');
    expect(new Set(ids).size).toBe(3);
  });
});

describe("the user's own copy (adopting the room's content)", () => {
  it('is kept aside only when it is neither the published file nor the room content', () => {
    expect(isOwnDifferentCopy('file', 'mine', 'published', 'room')).toBe(true);
    expect(isOwnDifferentCopy('file', 'published', 'published', 'room')).toBe(false);
    expect(isOwnDifferentCopy('file', 'room\r\n', 'published', 'room\n')).toBe(false);
    expect(isOwnDifferentCopy('file', 'mine', null, 'room')).toBe(true);
  });
});

describe('rooms', () => {
  it('a link fragment #key= gives the secret; none, empty or twice are told apart', () => {
    expect(roomSecretOf('#key=s3cret')).toEqual({ secret: 's3cret', error: null });
    expect(roomSecretOf('')).toEqual({ secret: null, error: null });
    expect(roomSecretOf('#key=').error).toMatch(/empty/);
    expect(roomSecretOf('#key=a&key=b').error).toMatch(/more than one/);
  });

  it('a private room is refused on a page without crypto, or with an unusable secret', () => {
    expect(roomSecretError(roomSecretOf('#key=s'), true)).toBeNull();
    expect(roomSecretError(roomSecretOf('#key=s'), false)).toMatch(/https/);
    expect(roomSecretError(roomSecretOf('#key='), true)).toMatch(/empty/);
    expect(roomSecretError(roomSecretOf(''), false)).toBeNull();
  });

  it("a room's id is sha256 of PREFIX-ROOM, as on JupyterLab 3 sites", async () => {
    // sha256("site-prefix-room") computed elsewhere (Python's hashlib)
    expect(await roomIdOf('site-prefix', 'room')).toBe(
      '7a098f6d5b582226a5e8c02986920b5ec78db80bfb2b44397c2c22c2f5bcee52'
    );
  });
});
