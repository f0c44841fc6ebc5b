// Rooms: what a link says about the room, and the name y-webrtc and signaling know it by.

export interface IRoomSecret {
  /** y-webrtc's password: it encrypts what goes through signaling, and only peers with the
   * same secret can connect. null in a room without one. */
  secret: string | null;
  /** Why the link's secret cannot be used; the page then does not join the room at all. */
  error: string | null;
}

/** The room secret of a link's fragment such as `#key=SECRET` (other fragments carry none).
 * A fragment is never sent to the web host or to the signaling server. */
export function roomSecretOf(fragment: string): IRoomSecret {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  if (!params.has('key')) {
    return { secret: null, error: null };
  }
  const keys = params.getAll('key');
  if (keys.length > 1) {
    return { secret: null, error: 'the link has more than one "key=" in its "#" part' };
  }
  if (!keys[0].trim()) {
    return { secret: null, error: 'the link\'s "#key=" is empty' };
  }
  return { secret: keys[0], error: null };
}

/** The room's id on signaling: sha256 hex of "PREFIX-ROOM", as jupyterlab-webrtc-docprovider
 * names it on JupyterLab 3 sites, so that one room has one id whichever JupyterLab the site
 * runs. The prefix scopes the room to the site; a document's topic is this id and its path. */
export async function roomIdOf(prefix: string, room: string): Promise<string> {
  const bytes = new TextEncoder().encode(`${prefix}-${room}`);
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map(byte => byte.toString(16).padStart(2, '0')).join('');
}

/** Why a link's private room cannot be joined here, or null: the secret is unusable, or the
 * page has no crypto for it (y-webrtc derives the room's key with the browser's crypto, which
 * only https pages, and localhost, have). */
export function roomSecretError(link: IRoomSecret, isSecureContext: boolean): string | null {
  if (link.error) {
    return link.error;
  }
  return link.secret !== null && !isSecureContext
    ? 'a private room needs the site on https:// (or on localhost)'
    : null;
}
