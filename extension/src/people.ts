// "Who is here": the people in the room of a document, from its awareness, which JupyterLab
// and this extension fill (each peer's `user`: name and colour).

import { Widget } from '@lumino/widgets';

/** The part of y-protocols' Awareness used here. */
export interface IAwareness {
  clientID: number;
  getStates(): Map<number, { user?: { name?: string; color?: string } }>;
  on(event: 'change', handler: () => void): void;
  off(event: 'change', handler: () => void): void;
}

/** A document toolbar item listing who has the document open in the room, as they join and
 * leave (a closed page says goodbye; a lost one drops out after y-protocols' 30 s timeout). */
export class PeopleHere extends Widget {
  constructor(private _awareness: IAwareness) {
    super();
    this.addClass('jp-webrtc-safe-load-people');
    this.node.style.display = 'flex';
    this.node.style.gap = '6px';
    this.node.style.alignItems = 'center';
    this.node.setAttribute('aria-label', 'People here');
    _awareness.on('change', this._render);
    this._render();
  }

  dispose(): void {
    this._awareness.off('change', this._render);
    super.dispose();
  }

  private _render = (): void => {
    const people = [...this._awareness.getStates()]
      .filter(([, state]) => state.user?.name)
      .map(([id, state]) => ({
        name: state.user!.name as string,
        color: state.user!.color ?? 'var(--jp-ui-font-color2)',
        you: id === this._awareness.clientID
      }))
      .sort((a, b) => Number(b.you) - Number(a.you) || a.name.localeCompare(b.name));
    this.node.replaceChildren(
      ...people.map(({ name, color, you }) => {
        const person = document.createElement('span');
        person.className = 'jp-webrtc-safe-load-person';
        person.textContent = you ? `${name} (you)` : name;
        person.dataset.name = name;
        person.style.borderBottom = `3px solid ${color}`;
        return person;
      })
    );
    this.node.title = `Here: ${people.map(person => person.name).join(', ')}`;
  };
}
