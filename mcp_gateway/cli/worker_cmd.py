"""`mcp-gateway worker --cells fs,notes --bus URL`: host cells for gateways on a broker."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

import anyio
from pydantic import ValidationError

from mcp_gateway.bus.wiring import bus_key, open_remote
from mcp_gateway.bus_config import BusConfig, redacted
from mcp_gateway.cli.common import add_config_option, config_from
from mcp_gateway.config import Config
from mcp_gateway.errors import ConfigError, GatewayError
from mcp_gateway.log_context import install
from mcp_gateway.telemetry import tracer_of
from mcp_gateway.telemetry_setup import Telemetry
from mcp_gateway.worker import Worker

logger = logging.getLogger(__name__)
EXIT_OK, EXIT_USAGE = 0, 2


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "worker",
        help="host cells for gateways on a NATS or Redis broker",
        description=(
            "Host the named cells (their [[cells]] entries in the configuration) for the gateways that share "
            "the broker. The gateways keep the pipeline; the worker runs only calls signed by a gateway. "
            "SIGTERM or SIGINT: take no new call, finish and answer the calls in hand, stop the cells."
        ),
    )
    add_config_option(parser)
    parser.add_argument(
        "--cells", required=True, metavar="NS[,NS...]", help="namespaces of configured cells to host, e.g. fs,notes"
    )
    parser.add_argument(
        "--bus", metavar="URL", help="nats://HOST:PORT or redis://HOST:PORT/DB (default from config: [bus] url)"
    )
    parser.set_defaults(run=run)


def _with_bus(config: Config, url: str | None) -> Config:
    if url is None:
        return config
    try:
        bus = BusConfig.model_validate({**config.bus.model_dump(), "url": url})
    except ValidationError as exc:
        raise ConfigError("--bus", "bus.url", exc.errors()[0]["msg"]) from None
    return config.model_copy(update={"bus": bus})


def run(args: argparse.Namespace) -> int:
    config = _with_bus(config_from(args), args.bus)
    install(config.telemetry.log_format)
    if not config.bus.remote:
        print("mcp-gateway: a worker needs a broker: --bus nats://HOST:PORT or redis://HOST:PORT/DB", file=sys.stderr)
        return EXIT_USAGE
    namespaces = [name.strip() for name in args.cells.split(",") if name.strip()]
    if not namespaces:
        print("mcp-gateway: --cells names no cell", file=sys.stderr)
        return EXIT_USAGE
    telemetry = Telemetry.from_config(config.telemetry, config.server.state_dir, serving_http=False)
    try:
        bus = open_remote(config.bus, lambda: bus_key(config), name="worker")
        worker = Worker(config, namespaces, bus, tracer=tracer_of(telemetry.tracer_provider))
        anyio.run(_serve, worker)
    finally:
        telemetry.shutdown()
    return EXIT_OK


async def _serve(worker: Worker) -> None:
    try:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with anyio.create_task_group() as tg:
                await tg.start(worker.run)
                where = redacted(worker.config.bus.url)
                print(f"mcp-gateway worker: serving {', '.join(worker.namespaces)} on {where}", file=sys.stderr)
                sys.stderr.flush()
                async for signum in signals:
                    logger.warning("worker: %s: finishing the calls in hand", signal.Signals(signum).name)
                    tg.cancel_scope.cancel()
                    break
    except* GatewayError as failed:
        # A broker that cannot be reached, a cell that does not start: one line, not a group.
        first: BaseException = failed
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
