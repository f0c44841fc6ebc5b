// Sharing on JupyterLab 4 and Notebook 7: the Share dialog, a name asked once, and who is here
// in every shared document's toolbar. The logic is in ./common/sharing.ts.

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { Widget } from '@lumino/widgets';

import { IPeerAwareness } from './common/peer-content';
import {
  cleanName,
  IRoom,
  MAX_NAME_LENGTH,
  newPrivateRoom,
  peopleOf,
  roomLink
} from './common/sharing';
import { RoomUserManager } from './user';

export const SHARE_COMMAND = 'jupyterlite-webrtc-lab4:share';
export const NAME_COMMAND = 'jupyterlite-webrtc-lab4:name';

/** The dialog: the link (selectable), Copy, New private room. */
export async function shareRoom(room: IRoom): Promise<void> {
  const link = roomLink(window.location.href, room);
  const body = new Widget();
  body.addClass('jp-webrtc-lab4-share');
  const text = document.createElement('p');
  text.textContent =
    room.secret === null
      ? 'Anyone with this link joins the room, under their own name.'
      : 'A private room: only people with this link (its secret after "#") can join, ' +
        'each under their own name.';
  const input = document.createElement('input');
  input.readOnly = true;
  input.value = link;
  input.style.width = '100%';
  input.setAttribute('aria-label', 'Link to this room');
  body.node.append(text, input);
  const result = await showDialog({
    title: `Share room "${room.name}"`,
    body,
    buttons: [
      Dialog.cancelButton({ label: 'Close' }),
      Dialog.createButton({ label: 'New private room', displayType: 'default' }),
      Dialog.okButton({ label: 'Copy link' })
    ]
  });
  if (result.button.label === 'Copy link') {
    Clipboard.copyToSystem(link);
  } else if (result.button.label === 'New private room') {
    window.location.assign(roomLink(window.location.href, newPrivateRoom(), true));
  }
}

/** A text field for the name, with the current one as a hint. */
class NameField extends Widget implements Dialog.IBodyWidget<string> {
  constructor(current: string) {
    super();
    const text = document.createElement('p');
    text.textContent =
      'Shown next to your cursor, and in the list of who is here, to the people you edit ' +
      'with. Saved in this browser.';
    this._input.placeholder = current;
    this._input.maxLength = MAX_NAME_LENGTH;
    this._input.setAttribute('aria-label', 'Your name');
    this._input.style.width = '100%';
    this.node.append(text, this._input);
  }

  getValue(): string {
    return cleanName(this._input.value);
  }

  protected onAfterAttach(): void {
    this._input.focus();
  }

  private _input = document.createElement('input');
}

/** Ask for a name and save it; an empty answer or "Skip" keeps (and saves) the current one,
 * so that the person keeps one name and is not asked again. */
export async function askForName(user: RoomUserManager): Promise<void> {
  const current = user.identity.name;
  const result = await showDialog({
    title: 'Your name',
    body: new NameField(current),
    buttons: [Dialog.cancelButton({ label: 'Skip' }), Dialog.okButton({ label: 'Save' })]
  });
  user.setName((result.button.accept && result.value) || current);
}

/** A document toolbar item listing who has the document open in the room, as they join and
 * leave (a closed page says goodbye; a lost one drops out after y-protocols' 30 s timeout). */
class PeopleHere extends Widget {
  constructor(private _awareness: IPeerAwareness) {
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
    const people = peopleOf(this._awareness.getStates() as any, this._awareness.clientID);
    this.node.replaceChildren(
      ...people.map(({ name, color, you }) => {
        const person = document.createElement('span');
        person.className = 'jp-webrtc-safe-load-person';
        person.textContent = you ? `${name} (you)` : name;
        person.dataset.name = name;
        person.style.borderBottom = '3px solid';
        person.style.borderBottomColor = color ?? 'var(--jp-ui-font-color2)';
        return person;
      })
    );
    this.node.title = `Here: ${people.map(person => person.name).join(', ')}`;
  };
}

/** The Share command and dialog, the name command (asked once), and in the toolbar of every
 * shared document who is here and a Share button. */
export function addSharing(
  app: JupyterFrontEnd,
  room: IRoom,
  user: RoomUserManager,
  palette: ICommandPalette | null
): void {
  app.commands.addCommand(SHARE_COMMAND, {
    label: 'Share this room…',
    caption: 'The link to this room, to copy; or a new private room',
    execute: () => shareRoom(room)
  });
  app.commands.addCommand(NAME_COMMAND, {
    label: 'Change your name…',
    caption: user.nameInLink
      ? 'Your name comes from the link (username=...)'
      : 'The name others see next to your cursor and in who is here',
    isEnabled: () => !user.nameInLink,
    execute: () => askForName(user)
  });
  for (const command of [SHARE_COMMAND, NAME_COMMAND]) {
    palette?.addItem({ command, category: 'Collaboration' });
  }
  const extension = {
    createNew: (widget: any, context: DocumentRegistry.Context) => {
      const awareness = (context.model.sharedModel as any).awareness as IPeerAwareness;
      if (!awareness) {
        return;
      }
      const people = new PeopleHere(awareness);
      const share = new Widget({ node: document.createElement('button') });
      share.addClass('jp-webrtc-safe-load-share-button');
      share.node.textContent = 'Share';
      share.node.title = 'Share this room…';
      share.node.onclick = () => void app.commands.execute(SHARE_COMMAND);
      widget.toolbar.addItem('jupyterlite-webrtc-lab4:people', people);
      widget.toolbar.addItem('jupyterlite-webrtc-lab4:share', share);
    }
  };
  for (const factory of ['Notebook', 'Editor']) {
    app.docRegistry.addWidgetExtension(factory, extension);
  }
  void app.restored.then(() => (user.needsName ? askForName(user) : undefined));
}
