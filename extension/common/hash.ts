// Ids derived from content: every browser computes the same ones from the same file.

/** FNV-1a over UTF-16 code units: a 32-bit Yjs client id. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** JSON with sorted keys: the same notebook gives the same text whoever saved it. */
export function canonicalJson(value: any): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map(key => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The load id of a file: derived from its content when JupyterLab turns that content into
 * the same items on every peer; null otherwise (a notebook without unique cell ids would get
 * random ones at each load, so its loads must not share item ids; withCellIds gives every
 * nbformat 4 notebook ids, so this is left to other formats). */
export function loadIdOf(contentType: string, content: any): number | null {
  if (contentType === 'notebook') {
    const ids = (content?.cells ?? []).map((cell: any) => cell.id);
    const stable =
      content?.nbformat === 4 &&
      content.nbformat_minor >= 5 &&
      ids.every((id: unknown) => typeof id === 'string') &&
      new Set(ids).size === ids.length;
    return stable ? hash32(`notebook\n${canonicalJson(content)}`) : null;
  }
  // JupyterLab loads text with '\n' line endings
  return hash32(`file\n${String(content).replace(/\r\n?/g, '\n')}`);
}

/** What users see of a content: cell types and sources, or the text. */
export function comparable(contentType: string, content: any): string {
  if (contentType !== 'notebook') {
    return String(content ?? '').replace(/\r\n?/g, '\n');
  }
  const cells = (content?.cells ?? []).map((cell: any) => [
    cell.cell_type,
    Array.isArray(cell.source) ? cell.source.join('') : cell.source
  ]);
  return JSON.stringify(cells);
}

/** Whether this browser's copy of a file must be kept aside before the room's content replaces
 * it (DESIGN.md, rule 6): it is the user's own (not the published file, null when unknown) and
 * differs from the room's. */
export function isOwnDifferentCopy(
  contentType: string,
  own: any,
  published: any | null,
  room: any
): boolean {
  const ownKey = comparable(contentType, own);
  if (published !== null && ownKey === comparable(contentType, published)) {
    return false;
  }
  return ownKey !== comparable(contentType, room);
}
