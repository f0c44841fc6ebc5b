// The person's name, as the others see it (cursor labels, who is here). Shared links carry no
// name, so a person whose link gives none and who has none saved is asked once; the name is
// kept in upstream's own setting, `username`, in this browser's storage of the site.

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IWebRtcManager } from '@jupyterlite/webrtc-docprovider';
import { Widget } from '@lumino/widgets';

/** jupyterlab-webrtc-docprovider's settings, which hold `username`. */
const UPSTREAM_SETTINGS = '@jupyterlite/webrtc-docprovider:plugin';
/** Longer names would crowd every document's list of who is here. */
export const MAX_NAME_LENGTH = 40;

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
    return this._input.value.trim().slice(0, MAX_NAME_LENGTH).trim();
  }

  protected onAfterAttach(): void {
    this._input.focus();
  }

  private _input = document.createElement('input');
}

/** Ask for a name and save it; an empty answer or "Skip" keeps (and saves) the current one,
 * so that the person keeps one name and is not asked again. */
export async function askForName(
  manager: IWebRtcManager,
  registry: ISettingRegistry
): Promise<void> {
  const current = manager.username;
  const result = await showDialog({
    title: 'Your name',
    body: new NameField(current),
    buttons: [Dialog.cancelButton({ label: 'Skip' }), Dialog.okButton({ label: 'Save' })]
  });
  const name = (result.button.accept && result.value) || current;
  await registry.set(UPSTREAM_SETTINGS, 'username', name);
}

/** Whether this person has a name yet: from the link, or saved in the settings. */
export async function hasName(registry: ISettingRegistry, nameInLink: boolean): Promise<boolean> {
  if (nameInLink) {
    return true;
  }
  const saved = await registry.get(UPSTREAM_SETTINGS, 'username');
  return typeof saved.composite === 'string' && saved.composite.trim() !== '';
}
