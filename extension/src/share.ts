// "Share this room": the current room's link, to copy, and a new private room.

import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** What a link needs: the room, and its secret if it is private. */
export interface IRoom {
  name: string;
  secret: string | null;
}

/** A link to `room` made from the page's own address, so that it works on any host and base
 * path (and keeps the document a RetroLab page shows). It names nobody, unless `keepName`
 * (this person's own page): each person who opens it has their saved name or is asked. */
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

/** The dialog: the link (selectable), Copy, New private room. */
export async function shareRoom(room: IRoom): Promise<void> {
  const link = roomLink(window.location.href, room);
  const body = new Widget();
  body.addClass('jp-webrtc-safe-load-share');
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
