"""Keep tldextract (imported by Presidio) from fetching the public suffix list: the network is closed."""

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
