// Sharing a room: its link, a new private room, people's names and who is here. Plain logic,
// the same on every JupyterLab; each extension shows it its own way.

/** What a link needs: the room, and its secret if it is private. */
export interface IRoom {
  name: string;
  secret: string | null;
}

/** A link to `room` made from the page's own address, so that it works on any host and base
 * path (and keeps the document the page shows). It names nobody, unless `keepName` (this
 * person's own page): each person who opens it has their saved name or is asked. */
export function roomLink(page: string, room: IRoom, keepName = false): string {
  const url = new URL(page);
  url.searchParams.set('room', room.name);
  if (!keepName) {
    url.searchParams.delete('username');
  }
  url.hash = room.secret === null ? '' : `key=${encodeURIComponent(room.secret)}`;
  return url.toString();
}

/** A room nobody can guess, with a secret: 16 random bytes each. */
export function newPrivateRoom(): IRoom {
  const random = () =>
    Array.from(crypto.getRandomValues(new Uint8Array(16)), byte =>
      byte.toString(16).padStart(2, '0')
    ).join('');
  return { name: `private-${random().slice(0, 12)}`, secret: random() };
}

/** Longer names would crowd every document's list of who is here. */
export const MAX_NAME_LENGTH = 40;

/** A name as typed, trimmed and cut to MAX_NAME_LENGTH; '' when there is none. */
export function cleanName(typed: string | null | undefined): string {
  return (typed ?? '').trim().slice(0, MAX_NAME_LENGTH).trim();
}

export interface IPerson {
  name: string;
  color: string | null;
  you: boolean;
}

/** Who is here, from a document's awareness states: you first, then by name. */
export function peopleOf(
  states: Map<number, { user?: { name?: unknown; color?: unknown } }>,
  clientID: number
): IPerson[] {
  return [...states]
    .filter(([, state]) => typeof state.user?.name === 'string' && state.user.name)
    .map(([id, state]) => ({
      name: state.user!.name as string,
      color: typeof state.user!.color === 'string' ? state.user!.color : null,
      you: id === clientID
    }))
    .sort((a, b) => Number(b.you) - Number(a.you) || a.name.localeCompare(b.name));
}
