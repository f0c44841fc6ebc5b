// Notebooks saved before nbformat 4.5 have no cell ids, and JupyterLab 3.5 gives each cell a
// random one at every load (then saves the notebook as 4.5 with them). Every notebook the page
// reads gets ids derived from the notebook instead (common/cell-ids.ts), as JupyterLab would save
// it: every browser reads the same ids, and the notebook loads like one saved with ids.

import { Contents } from '@jupyterlab/services';

import { withCellIds } from './common/cell-ids';

/** Every notebook that `contents` reads comes with cell ids (see above). */
export function giveNotebooksCellIds(contents: Contents.IManager): void {
  const get = contents.get.bind(contents);
  contents.get = async (path: string, options?: Contents.IFetchOptions) => {
    const model = await get(path, options);
    return model.type === 'notebook' && model.content
      ? { ...model, content: withCellIds(model.content) }
      : model;
  };
}
