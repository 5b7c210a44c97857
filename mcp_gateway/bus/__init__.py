"""The bus that carries calls from the pipeline to the hosts of cells, and replies back.

`base.Bus` is the one protocol; `memory.MemoryBus` is the default (in-process). With a broker
configured (`mcp_gateway.bus_config.BusConfig`), `nats.NatsBus` or `redis.RedisBus` carry
signed envelopes (`envelope.py`) to `mcp-gateway worker` processes, and `routed.RoutedBus`
keeps the gateway's own cells in memory. `wiring.py` builds the bus a configuration asks for.

Nothing is imported here, and the configuration lives outside this package: transports read
the configuration, and the layering rules keep them from importing the bus.
"""
