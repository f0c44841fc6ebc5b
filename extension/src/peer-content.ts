// What people in a room write into each other's documents is content, never code that runs in
// the receiving page. Every way in that was checked, and how each is closed: ../DESIGN.md,
// "What a peer's content can do in your page".

import { JupyterFrontEnd } from '@jupyterlab/application';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';
import * as Y from 'yjs';

import { IAwareness } from './people';

/** The one command JupyterLab itself attaches (through the command linker) to relative links
 * in rendered Markdown and HTML: it opens a document of this browser's own storage, as a plain
 * link to it does. Every other command-linker attribute is removed from documents. */
const LOCAL_LINK_COMMAND = 'rendermime:handle-local-link';
const LINKER_COMMAND = 'data-commandlinker-command';
const LINKER_ARGS = 'data-commandlinker-args';
/** Where peers' content is shown: every document, and outputs opened in a view of their own. */
const SHARED_CONTENT = '.jp-Document, .jp-LinkedOutputView';

/** Mime types whose renderers show untrusted data without running any of it. Any other
 * renderer that calls itself safe (vega 5.23, whose specs have run script: CVE-2025-25304 and
 * later advisories) renders only trusted outputs in a shared notebook. */
const SAFE_MIME_TYPES = new Set([
  'text/html',
  'text/markdown',
  'text/latex',
  'text/plain',
  'application/vnd.jupyter.stdout',
  'application/vnd.jupyter.stderr',
  'application/json',
  'image/bmp',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp'
]);

/** A colour as the settings give it; a peer's colour lands in CSS text (y-codemirror's
 * cursors: `style="border-color: COLOR"`), where anything else could add its own CSS. */
const COLOUR = /^#[0-9a-fA-F]{3,8}$/;
const STRANGER_COLOUR = '#808080';

// ---------------------------------------------------------------- each shared document

/**
 * Guards one shared document from what the room sends in (transactions of origin `fromRoom`):
 * the room cannot move it to another path, and peers' colours are colours. JupyterLab 3.5
 * follows a `path` set in the shared document: this page's next save would write over another
 * file of its own. A path from the room is kept out of the change that JupyterLab's observer
 * sees (each page keeps its own, and nothing is written back: pages could not fight over it).
 */
export function guardSharedDocument(ydoc: Y.Doc, awareness: IAwareness, fromRoom: unknown): void {
  const context = ydoc.getMap('context') as Y.AbstractType<any>;
  ydoc.on('beforeObserverCalls', (transaction: Y.Transaction) => {
    if (transaction.origin === fromRoom) {
      transaction.changed.get(context)?.delete('path');
    }
  });
  awareness.on('change', () => {
    for (const [id, state] of awareness.getStates()) {
      const user = state.user;
      if (id !== awareness.clientID && user && !COLOUR.test(String(user.color))) {
        user.color = STRANGER_COLOUR;
      }
    }
  });
}

// ---------------------------------------------------------------- notebooks

/** The parts of JupyterLab 3.5's notebook model used here (@jupyterlab/cells, notebook). */
interface ICellModel {
  trusted: boolean;
  metadata: { has(key: string): boolean; delete(key: string): unknown };
  sharedModel: { ymodel?: Y.Map<unknown> };
  /** a code cell's outputs, and the slot that copies their changes into the shared cell */
  outputs?: { changed: ISignal<unknown, unknown> };
  onModelDBOutputsChange?: (sender: unknown, change: unknown) => void;
}
interface INotebookModel {
  cells: { length: number; get(index: number): ICellModel };
  sharedModel: { ydoc: Y.Doc };
}
interface IRenderMime {
  mimeTypes: readonly string[];
  getFactory(mimeType: string): IRendererFactory | undefined;
  getRank(mimeType: string): number | undefined;
  addFactory(factory: IRendererFactory, rank?: number): void;
}
interface IRendererFactory {
  safe: boolean;
  mimeTypes: readonly string[];
  defaultRank?: number;
  createRenderer(options: unknown): unknown;
}

/**
 * Outputs that come from the room render untrusted, whatever this page's trust was: before
 * JupyterLab's observers render a transaction from the room, every cell whose outputs,
 * metadata or attachments it changed becomes untrusted (new cells from the room are created
 * untrusted). A cell is trusted again when its person runs it (JupyterLab clears its outputs
 * and trusts it). A `trusted` flag the room wrote into cell metadata is removed, so that it
 * cannot make the cell trusted when this page saves the notebook and opens it again alone.
 */
export function untrustOutputsFromTheRoom(model: INotebookModel, fromRoom: unknown): IDisposable {
  const ydoc = model.sharedModel.ydoc;
  const cells = ydoc.getArray('cells');
  const beforeObservers = (transaction: Y.Transaction): void => {
    if (transaction.origin !== fromRoom) {
      return;
    }
    const touched = new Set<unknown>();
    transaction.changed.forEach((keys, type) => {
      const cell = cellWhoseOutputsChanged(type, keys, cells);
      if (cell) {
        touched.add(cell);
      }
    });
    forEachCell(model, cell => {
      if (touched.has(cell.sharedModel.ymodel)) {
        untrust(cell);
      }
    });
  };
  const afterObservers = (transaction: Y.Transaction): void => {
    if (transaction.origin === fromRoom) {
      forEachCell(model, cell => {
        if (cell.metadata.has('trusted')) {
          cell.metadata.delete('trusted');
        }
      });
    }
  };
  ydoc.on('beforeObserverCalls', beforeObservers);
  ydoc.on('afterTransaction', afterObservers);
  return new DisposableDelegate(() => {
    ydoc.off('beforeObserverCalls', beforeObservers);
    ydoc.off('afterTransaction', afterObservers);
  });
}

/**
 * JupyterLab 3.5 untrusts a code cell by making each of its outputs anew, and its cell model
 * copies those into the shared cell. Here, before the observers, the model still holds the
 * outputs the room's transaction replaced: copied back, they would return to the room (a
 * person's run would show the old output above the new one, everywhere). The observers
 * replace the model's outputs with the shared cell's right after, so nothing is copied.
 */
function untrust(cell: ICellModel): void {
  const { outputs, onModelDBOutputsChange: copyToShared } = cell;
  if (!outputs || !copyToShared) {
    cell.trusted = false;
    return;
  }
  // (not connected while a losing run's outputs are held back: ./one-run.ts)
  const copying = outputs.changed.disconnect(copyToShared, cell);
  try {
    cell.trusted = false;
  } finally {
    if (copying) {
      outputs.changed.connect(copyToShared, cell);
    }
  }
}

/** The cell (a map in `cells`) holding `type`, if the change is to anything but its source. */
function cellWhoseOutputsChanged(
  type: Y.AbstractType<any>,
  keys: Set<string | null>,
  cells: Y.Array<unknown>
): Y.AbstractType<any> | null {
  let child = type;
  let key: string | null = null; // the cell's key that holds `type`; none: `type` is the cell
  while (child._item !== null) {
    const parent = child._item.parent as Y.AbstractType<any>;
    if (parent === cells) {
      const changed = key === null ? [...keys] : [key];
      return changed.some(name => name !== 'source') ? child : null;
    }
    key = child._item.parentSub;
    child = parent;
  }
  return null;
}

function forEachCell(model: INotebookModel, visit: (cell: ICellModel) => void): void {
  for (let index = 0; index < model.cells.length; index++) {
    visit(model.cells.get(index));
  }
}

/** In this notebook's own renderers (JupyterLab gives each notebook a copy), only those of
 * SAFE_MIME_TYPES render untrusted outputs. */
function renderOnlyCoreMimeTypesUntrusted(rendermime: IRenderMime): void {
  for (const mimeType of [...rendermime.mimeTypes]) {
    const factory = rendermime.getFactory(mimeType);
    if (factory?.safe && !SAFE_MIME_TYPES.has(mimeType)) {
      rendermime.addFactory(
        {
          safe: false,
          mimeTypes: [mimeType],
          defaultRank: factory.defaultRank,
          createRenderer: options => factory.createRenderer(options)
        },
        rendermime.getRank(mimeType)
      );
    }
  }
}

// ---------------------------------------------------------------- the command linker

/** JupyterLab's CommandLinker runs `data-commandlinker-command` with `-args` on a click anywhere
 * in the page: in a document, such attributes are removed as soon as they appear (whoever
 * wrote them: sanitized Markdown and HTML keep them, trusted HTML and SVG may carry them), and
 * a click on one that is left never reaches the linker. `javascript:` links (MathJax's \href
 * makes them from a formula) lose their address too. */
function guardCommandLinker(): void {
  const clean = (element: Element): void => {
    const command = element.getAttribute(LINKER_COMMAND);
    if (command !== null && command !== LOCAL_LINK_COMMAND) {
      element.removeAttribute(LINKER_COMMAND);
      element.removeAttribute(LINKER_ARGS);
    }
    if (isScriptLink(element)) {
      element.removeAttribute('href');
    }
  };
  const watched = `[${LINKER_COMMAND}], [href]`;
  new MutationObserver(mutations => {
    for (const mutation of mutations) {
      const nodes =
        mutation.type === 'attributes' ? [mutation.target] : Array.from(mutation.addedNodes);
      for (const node of nodes) {
        if (node instanceof Element && node.closest(SHARED_CONTENT)) {
          [node, ...Array.from(node.querySelectorAll(watched))]
            .filter(e => e.matches(watched))
            .forEach(clean);
        }
      }
    }
  }).observe(document.body, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: [LINKER_COMMAND, 'href']
  });
  // before the linker's own listener on document.body
  document.addEventListener(
    'click',
    event => {
      const target = event.target instanceof Element ? event.target : null;
      const linked = target?.closest(`[${LINKER_COMMAND}]`);
      const link = target?.closest('[href]');
      const blocked =
        (linked && linked.getAttribute(LINKER_COMMAND) !== LOCAL_LINK_COMMAND) ||
        (link && isScriptLink(link));
      if (blocked && target?.closest(SHARED_CONTENT)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
}

function isScriptLink(element: Element): boolean {
  const address = element.getAttribute('href') ?? element.getAttribute('xlink:href') ?? '';
  // browsers ignore control characters and spaces (U+0000 to U+0020) in a scheme
  const scheme = [...address].filter(char => char > ' ').join('');
  return /^javascript:/i.test(scheme);
}

// ---------------------------------------------------------------- the plugin's part

/** Guards every document of a page that shares its documents in a room. */
export function guardPeerContent(app: JupyterFrontEnd, fromRoom: unknown): void {
  guardCommandLinker();
  const guarded = new WeakSet<object>();
  app.docRegistry.addWidgetExtension('Notebook', {
    createNew: (widget: IDocumentWidget, context: DocumentRegistry.Context): IDisposable => {
      renderOnlyCoreMimeTypesUntrusted((widget.content as any).rendermime as IRenderMime);
      const model = context.model as unknown as INotebookModel;
      // once per notebook (another view of it shares its model), for as long as it is open
      if (!guarded.has(model)) {
        guarded.add(model);
        const guard = untrustOutputsFromTheRoom(model, fromRoom);
        context.disposed.connect(() => guard.dispose());
      }
      return new DisposableDelegate(() => undefined);
    }
  });
}
