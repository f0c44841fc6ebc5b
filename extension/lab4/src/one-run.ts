// When people run one cell at about the same moment, the room shows one of the runs, the same
// in every page (common/one-run.ts says how; DESIGN.md, "Runs").

import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { NotebookActions } from '@jupyterlab/notebook';

import { IRunCell, oneRunPerCell } from './common/runs';

/** The shared cell's methods through which JupyterLab 4.6's code cell model writes outputs. */
const OUTPUT_WRITES = [
  'setOutputs',
  'updateOutputs',
  'clearOutputs',
  'appendStreamOutput',
  'removeStreamOutput'
];

/** What this needs of JupyterLab 4.6's code cell model. */
interface ICodeCell extends IRunCell {
  sharedModel: IRunCell['sharedModel'] & { getOutputs?: () => unknown[] };
  outputs?: { clear(): void; add(output: unknown): number };
}

/** A cell whose run lost: until the run ends, what its kernel adds stays in this page (a
 * stream is appended to the last output, which may be the winner's). Then the page shows the
 * room's outputs again. */
function holdBack(cell: ICodeCell): () => void {
  const { outputs } = cell;
  const shared = cell.sharedModel as Record<string, unknown> & ICodeCell['sharedModel'];
  if (!outputs || !shared.getOutputs) {
    return () => undefined;
  }
  for (const write of OUTPUT_WRITES) {
    shared[write] = () => undefined; // the instance's own, over its class's
  }
  return () => {
    // still not written to the room: the room's outputs, into the page
    outputs.clear();
    for (const output of shared.getOutputs?.() ?? []) {
      outputs.add(output);
    }
    for (const write of OUTPUT_WRITES) {
      delete shared[write];
    }
  };
}

export const oneRun: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-webrtc-lab4:one-run',
  description: 'One run of a cell shows in the room',
  autoStart: true,
  activate: (): void => {
    if (String(PageConfig.getOption('disableRTC')) !== 'true') {
      oneRunPerCell<ICodeCell>(NotebookActions, holdBack);
    }
  }
};
