"""`python -m mcp_gateway` is `mcp-gateway`."""

import sys

from mcp_gateway.cli import main

sys.exit(main())
