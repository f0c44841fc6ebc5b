"""The site's y-webrtc signaling server: `python server.py --help`.

Its code is the package signaling_server/ next to this file. This file is the command that the
Dockerfile, preview.py and docs/signaling-server.md run, as they did when it held all the code.
"""

import sys

from signaling_server.cli import main

if __name__ == "__main__":
    sys.exit(main())
