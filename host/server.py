"""The host's gRPC server: ``Duplex.Converse`` (one ``Session`` per stream), the standard health
service and reflection.

Health reports SERVING only once the models are loaded, so a load balancer or the edge's
readiness probe never routes a conversation to a host that would make it wait for a model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sottovoce.host.asr import AsrConfig, WhisperAsr
from sottovoce.host.session import HostModels, Session, SessionConfig
from sottovoce.host.tts import make_engine
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.proto.v1 import duplex_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Duplex"].full_name  # "sottovoce.v1.Duplex"


class BindError(OSError):
    pass


def load_models(tts: str = "piper", asr_threads: int = 2) -> HostModels:
    """Blocking: load ASR and TTS (about a second); run it in a thread from async code."""
    return HostModels(asr=WhisperAsr(AsrConfig(cpu_threads=asr_threads)), voice=WhisperVoice(make_engine(tts)))


class DuplexService(pb_grpc.DuplexServicer):
    def __init__(self, config: SessionConfig, models: asyncio.Future[HostModels]) -> None:
        self.config = config
        self.models = models
        self.active_sessions = 0

    async def Converse(
        self, request_iterator: AsyncIterator[pb.EdgeMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.HostMessage]:
        models = await self.models  # streams opened while loading wait instead of failing
        session = Session(models, self.config)
        self.active_sessions += 1
        try:
            async for msg in session.converse(request_iterator):
                yield msg
        finally:
            self.active_sessions -= 1
            log.info("session %s closed; counters %s", session.session_id or "-", session.counters or "{}")


@dataclass
class HostServer:
    server: grpc.aio.Server
    port: int
    health: health.HealthServicer
    service: DuplexService

    async def stop(self, grace: float | None = 1.0) -> None:
        self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_server(
    listen: str = "127.0.0.1:50051",
    config: SessionConfig | None = None,
    models: HostModels | None = None,
    tts: str = "piper",
    asr_threads: int = 2,
) -> HostServer:
    """Bind, start serving, load the models (unless given), then report SERVING.

    Raises BindError naming the address when it cannot listen."""
    server = grpc.aio.server()
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[HostModels] = loop.create_future()
    service = DuplexService(config or SessionConfig(), ready)
    pb_grpc.add_DuplexServicer_to_server(service, server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in (SERVICE_NAME, ""):
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    try:
        port = server.add_insecure_port(listen)
    except RuntimeError as exc:
        raise BindError(f"cannot listen on {listen}: {exc}") from None
    if port == 0:  # older grpcio reports failure as port 0 instead of raising
        raise BindError(f"cannot listen on {listen}")
    await server.start()
    try:
        if models is None:
            models = await asyncio.to_thread(load_models, tts, asr_threads)
    except BaseException:
        await server.stop(None)
        raise
    ready.set_result(models)
    for name in (SERVICE_NAME, ""):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return HostServer(server, port, health_servicer, service)
