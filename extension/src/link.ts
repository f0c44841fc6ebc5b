// What the page's link says, beyond what upstream reads from it (`?room=`): a private room's
// secret, `#key=SECRET`, and whether it names the person. A fragment is never sent to the web
// host or to the signaling server.

/** The link's fragment, read when this module loads: JupyterLab 3.5 drops it from the address
 * during start-up (`lab/index.html?room=r#key=s` reads `lab/index.html?room=r` once loaded). */
const FRAGMENT = window.location.hash;

/** Whether the link gives the person's name (`?username=`, which upstream then uses). */
export const NAME_IN_LINK = !!new URLSearchParams(window.location.search).get('username')?.trim();

export interface IRoomSecret {
  /** y-webrtc's password: it encrypts what goes through signaling, and only peers with the
   * same secret can connect. null in a room without one. */
  secret: string | null;
  /** Why the link's secret cannot be used; the page then does not join the room at all. */
  error: string | null;
}

/** The room secret of a fragment such as `#key=SECRET` (other fragments carry none). */
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

/** The secret of the link this page was opened with. */
export const ROOM_SECRET = roomSecretOf(FRAGMENT);
