// Notebooks saved before nbformat 4.5 have no cell ids, and JupyterLab gives each cell a random
// one at every load. Two browsers loading such a notebook would create different cells, so
// loads could not merge (DESIGN.md, rule 3). Here the ids are derived from the notebook
// instead: every browser reads the same ids, and the notebook loads like one saved with ids.

import { canonicalJson, hash32 } from './hash';

/** nbformat 4.5's cell id: 1-64 letters, digits, '-' or '_'. */
const CELL_ID = /^[a-zA-Z0-9-_]{1,64}$/;

/** The notebook with a valid, unique id on every cell, as nbformat 4.5: ids it has are kept,
 * missing, invalid or repeated ones become `<hash of the notebook>-<index>`. Any other content
 * (another nbformat, not a notebook) is returned as it is. */
export function withCellIds(notebook: any): any {
  if (notebook?.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    return notebook;
  }
  const keep = notebook.nbformat_minor >= 5;
  const seen = new Set<string>();
  const ids: (string | null)[] = notebook.cells.map((cell: any) => {
    const id = keep ? cell?.id : undefined;
    if (typeof id !== 'string' || !CELL_ID.test(id) || seen.has(id)) {
      return null;
    }
    seen.add(id);
    return id;
  });
  if (keep && !ids.includes(null)) {
    return notebook;
  }
  const prefix = hash32(canonicalJson(notebook)).toString(16).padStart(8, '0');
  return {
    ...notebook,
    nbformat_minor: Math.max(notebook.nbformat_minor ?? 0, 5),
    cells: notebook.cells.map((cell: any, index: number) => {
      let id = ids[index];
      for (let n = index; id === null; n += 1) {
        id = seen.has(`${prefix}-${n}`) ? null : `${prefix}-${n}`;
      }
      seen.add(id);
      return { ...cell, id };
    })
  };
}
