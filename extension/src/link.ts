// What the page's link says, beyond what upstream reads from it (`?room=`): a private room's
// secret, `#key=SECRET` (common/room.ts), and whether it names the person.

import { roomSecretOf } from './common/room';

/** The link's fragment, read when this module loads: JupyterLab 3.5 drops it from the address
 * during start-up (`lab/index.html?room=r#key=s` reads `lab/index.html?room=r` once loaded). */
const FRAGMENT = window.location.hash;

/** Whether the link gives the person's name (`?username=`, which upstream then uses). */
export const NAME_IN_LINK = !!new URLSearchParams(window.location.search).get('username')?.trim();

/** The secret of the link this page was opened with. */
export const ROOM_SECRET = roomSecretOf(FRAGMENT);
