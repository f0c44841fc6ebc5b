// What people in a room write into each other's documents is content, never code that runs in
// the receiving page (../../DESIGN.md, "What a peer's content can do in your page"). The plain
// Yjs part is in ./common/peer-content.ts; here, JupyterLab 4's notebooks.

import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import * as Y from 'yjs';

import { RoomChanges } from './common/peer-content';

/** Each shared document's RoomChanges (made by its provider, before any content arrives). */
export const ROOM_CHANGES = new WeakMap<Y.Doc, RoomChanges>();

/** The parts of JupyterLab 4's models used here (@jupyterlab/cells, notebook, outputarea). */
interface IOutputModelFactory {
  createOutputModel(options: { trusted?: boolean }): unknown;
}
interface ICellModel {
  type: string;
  outputs?: { contentFactory: IOutputModelFactory };
}
interface INotebookModel {
  cells: Iterable<ICellModel> & { changed: { connect(slot: () => void): void } };
  sharedModel: { ydoc: Y.Doc };
}

/**
 * An output that arrives from the room renders untrusted, whatever the cell's trust: no script
 * runs, HTML is sanitized. JupyterLab 4 keeps a trust for each output, given by its cell when
 * the output model is made: the outputs a room transaction adds are made untrusted; this page's
 * own (its kernel's) keep the cell's trust. (Untrusting the whole cell would make JupyterLab
 * write its outputs anew into the shared document while the room's transaction is applied.)
 */
function untrustOutputsFromTheRoom(model: INotebookModel): void {
  const changes = ROOM_CHANGES.get(model.sharedModel.ydoc);
  if (!changes) {
    return;
  }
  const guarded = new WeakSet<object>();
  const guard = (): void => {
    for (const cell of model.cells) {
      const outputs = cell.type === 'code' ? cell.outputs : undefined;
      if (outputs && !guarded.has(outputs)) {
        guarded.add(outputs);
        const factory = outputs.contentFactory;
        outputs.contentFactory = {
          createOutputModel: options =>
            factory.createOutputModel({
              ...options,
              trusted: !!options.trusted && !changes.applying
            })
        };
      }
    }
  };
  guard();
  model.cells.changed.connect(guard);
}

/** Guards every notebook of a page that shares its documents in a room. */
export function guardPeerContent(app: JupyterFrontEnd): void {
  const guarded = new WeakSet<object>();
  app.docRegistry.addWidgetExtension('Notebook', {
    createNew: (_: unknown, context: DocumentRegistry.Context) => {
      const model = context.model as unknown as INotebookModel;
      // once per notebook (another view of it shares its model)
      if (!guarded.has(model)) {
        guarded.add(model);
        untrustOutputsFromTheRoom(model);
      }
    }
  });
}
