"""Profiles decide which layers are required; a layer the host cannot apply is refused (fail closed)."""

from __future__ import annotations

import pytest

from sandbox import host
from sandbox.errors import LayerUnavailable
from sandbox.profile import ALL_LAYERS


def test_this_host_applies_every_layer() -> None:
    # The CI machine and this kind of host have them all (the escape suite depends on it).
    assert host.missing(ALL_LAYERS) == {}


@pytest.mark.req("R-019")
def test_a_required_layer_the_host_lacks_refuses_the_jail() -> None:
    older_kernel = {**host.available(), "landlock": "the kernel has no Landlock (or it is disabled)"}
    with pytest.raises(LayerUnavailable, match=r"landlock: the kernel has no Landlock"):
        host.require(ALL_LAYERS, older_kernel)
    # A profile that does not require it runs.
    host.require(tuple(layer for layer in ALL_LAYERS if layer != "landlock"), older_kernel)
