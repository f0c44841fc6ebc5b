// Who this person is. JupyterLite's own user manager has no identity, and jupyter-docprovider
// opens no document without one: this one names the person from the link (`?username=`), else
// with the name this browser keeps for the site, else a new anonymous one.

import { BaseManager, User } from '@jupyterlab/services';
import { ReadonlyJSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

/** Longer names would crowd every list of who is here. */
export const MAX_NAME_LENGTH = 40;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#e377c2'];

export class RoomUserManager extends BaseManager implements User.IManager {
  constructor(options: { storageKey: string }) {
    super({});
    const name = nameInLink() ?? localStorage.getItem(options.storageKey) ?? anonymousName();
    localStorage.setItem(options.storageKey, name);
    this._identity = identityOf(name);
  }

  readonly isReady = true;
  readonly ready = Promise.resolve();
  readonly permissions: ReadonlyJSONObject = {};

  get identity(): User.IIdentity {
    return this._identity;
  }

  get userChanged(): ISignal<this, User.IUser> {
    return this._userChanged;
  }

  get connectionFailure(): ISignal<this, Error> {
    return this._connectionFailure;
  }

  refreshUser(): Promise<void> {
    return Promise.resolve();
  }

  private _identity: User.IIdentity;
  private _userChanged = new Signal<this, User.IUser>(this);
  private _connectionFailure = new Signal<this, Error>(this);
}

function nameInLink(): string | null {
  const name = new URLSearchParams(window.location.search).get('username')?.trim();
  return name ? name.slice(0, MAX_NAME_LENGTH) : null;
}

function anonymousName(): string {
  return `Anonymous ${crypto.getRandomValues(new Uint16Array(1))[0] % 1000}`;
}

function identityOf(name: string): User.IIdentity {
  const initials = name
    .split(/\s+/)
    .map(word => word[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
  // the same name has the same colour in every browser
  let sum = 0;
  for (const char of name) {
    sum = (sum * 31 + char.charCodeAt(0)) >>> 0;
  }
  return {
    username: name,
    name,
    display_name: name,
    initials,
    color: COLORS[sum % COLORS.length]
  };
}
