// Who this person is. JupyterLite's own user manager has no identity, and jupyter-docprovider
// opens no document without one: this one names the person from the link (`?username=`), else
// with the name this browser keeps for the site, else a new anonymous one, until the person
// gives a name (./sharing.ts asks once).

import { BaseManager, User } from '@jupyterlab/services';
import { ReadonlyJSONObject } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import { cleanName } from './common/sharing';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#e377c2'];

export class RoomUserManager extends BaseManager implements User.IManager {
  constructor(options: { storageKey: string }) {
    super({});
    this._storageKey = options.storageKey;
    const inLink = cleanName(new URLSearchParams(window.location.search).get('username'));
    const saved = localStorage.getItem(this._storageKey);
    this.nameInLink = inLink !== '';
    this._needsName = !inLink && !saved;
    const name = inLink || saved || anonymousName();
    if (!this._needsName) {
      localStorage.setItem(this._storageKey, name);
    }
    this._identity = identityOf(name);
  }

  /** Whether the link names the person (that name wins over a saved one). */
  readonly nameInLink: boolean;

  /** Neither the link nor this browser names the person yet. */
  get needsName(): boolean {
    return this._needsName;
  }

  /** Name the person, in this browser, for this site; documents show it from now on. */
  setName(name: string): void {
    const clean = cleanName(name) || this._identity.name;
    localStorage.setItem(this._storageKey, clean);
    this._needsName = false;
    this._identity = identityOf(clean);
    this._userChanged.emit({ identity: this._identity, permissions: this.permissions });
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
  private _storageKey: string;
  private _needsName: boolean;
  private _userChanged = new Signal<this, User.IUser>(this);
  private _connectionFailure = new Signal<this, Error>(this);
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
