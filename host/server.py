"""The host's gRPC server: ``Duplex.Converse`` (one ``Stream`` and, once started, one ``Session``
per stream), the standard health service and reflection.

Health reports SERVING only once the models are loaded, so a load balancer or the edge's
readiness probe never routes a conversation to a host that would make it wait for a model. A
stream opened before then waits for the models; the edge giving up on it meanwhile (its connect
timeout) ends that stream only, never the loading the others wait for. The street map for
navigation is read while the models load (a map that does not parse stops the host with one line).

The SessionStart's mode picks the session (a ``ModeHandler`` each): the assistant, the assistant
with a navigator, or translation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sottovoce.host.answer import HostModels
from sottovoce.host.asr import AsrConfig, WhisperAsr
from sottovoce.host.end_of_utterance import EndOfUtterance
from sottovoce.host.llm import LlmConfig, LlmError, open_model
from sottovoce.host.navigation.navigator import Navigator
from sottovoce.host.navigation.osm_map import DEFAULT_MAP, WalkMap, load_map
from sottovoce.host.responder import ChainResponder, SkillResponder
from sottovoce.host.session import Session, SessionConfig
from sottovoce.host.stream import ModeHandler, Outbox, Stream, StreamConfig
from sottovoce.host.translation.models import LazyModels, load_translation_models
from sottovoce.host.translation.pairs import PairCatalogue, offline_pairs
from sottovoce.host.translation.session import TranslationSession
from sottovoce.host.tts import TTS_ENGINES, make_engine
from sottovoce.host.turn_replay import TurnRecorder
from sottovoce.host.whisper import WhisperVoice
from sottovoce.proto.v1 import duplex_pb2 as pb
from sottovoce.proto.v1 import duplex_pb2_grpc as pb_grpc
from sottovoce.tools.options import option

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Duplex"].full_name  # "sottovoce.v1.Duplex"


@dataclass(frozen=True)
class HostConfig:
    listen: str = option("127.0.0.1:50051", "gRPC address", metavar="HOST:PORT")
    tts: str = option("piper", "voice engine", choices=TTS_ENGINES)
    asr_threads: int = option(AsrConfig.cpu_threads, "CPU threads for Whisper", metavar="N")
    record_turns: Path | None = option(
        None, "append the turn ledger's inputs and decisions to this JSON-lines file (or $SOTTOVOCE_RECORD_TURNS)",
        type=Path, metavar="FILE",
    )  # fmt: skip
    map: Path = option(DEFAULT_MAP, "OpenStreetMap extract (.osm.pbf) for navigation", type=Path, metavar="FILE")
    destination: str = option("", "navigation sessions set off for this place at once (tests, demos)",
                              metavar="NAME")  # fmt: skip
    stream: StreamConfig = field(default_factory=StreamConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    language_model: LlmConfig = field(default_factory=LlmConfig)


class BindError(OSError):
    pass


def load_models(config: HostConfig) -> HostModels:
    """Blocking: load ASR, TTS and the language model (a few seconds); run it in a thread from
    async code. Every session's responder shares the one language model."""
    asr = WhisperAsr(AsrConfig(cpu_threads=config.asr_threads))
    voice = WhisperVoice(make_engine(config.tts))
    model = open_model(config.language_model)
    try:
        eou: EndOfUtterance | None = EndOfUtterance()
    except LlmError as exc:  # a host answering through a server may lack the offline model
        log.warning("the words are judged by rules alone: %s", exc)
        eou = None

    def responder() -> ChainResponder:
        return ChainResponder(SkillResponder(), model, config.language_model)

    return HostModels(asr=asr, voice=voice, responder_factory=responder, end_of_utterance=eou)


class DuplexService(pb_grpc.DuplexServicer):
    def __init__(self, config: HostConfig, models: asyncio.Future[HostModels], recorder: TurnRecorder | None) -> None:
        self.config = config
        self.models = models
        self.recorder = recorder
        self.walk_map: WalkMap | None = None  # read with the models, before the host serves
        self.active_sessions = 0
        self._translation_models: LazyModels | None = None  # loaded on the first translation session

    def _translation(self, models: HostModels) -> LazyModels:
        if self._translation_models is None:
            load = partial(load_translation_models, models.voice, self.config.language_model, self.config.asr_threads)
            self._translation_models = LazyModels(load)
        return self._translation_models

    def _translation_refusal(self, start: pb.SessionStart) -> str | None:
        catalogue = PairCatalogue(offline_pairs(), backend=bool(self.config.language_model.llm))
        return catalogue.refusal(start.language or "en", start.target_language or "auto")

    async def Converse(
        self, request_iterator: AsyncIterator[pb.EdgeMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.HostMessage]:
        # Streams opened while loading wait instead of failing. Shielded: a waiting stream that
        # is cancelled must not cancel the future every other stream waits on.
        models = await asyncio.shield(self.models)

        def open_session(session_id: str, out: Outbox, start: pb.SessionStart) -> Session:
            cfg = self.config.session
            observe = self.recorder.session(session_id, cfg.ledger) if self.recorder else None
            navigating = start.mode == pb.MODE_NAVIGATION and self.walk_map is not None
            navigator = Navigator(self.walk_map) if navigating else None
            session = Session(session_id, out, models, cfg, observe_ledger=observe, navigator=navigator)
            if navigator is not None:
                session.start_navigation(self.config.destination)
            return session

        translation = self._translation(models)

        def open_translation(session_id: str, out: Outbox, start: pb.SessionStart) -> TranslationSession:
            return TranslationSession(session_id, out, translation, start.language, start.target_language)

        assistant = ModeHandler(open_session)
        modes = {
            pb.MODE_UNSPECIFIED: assistant,
            pb.MODE_ASSISTANT: assistant,
            pb.MODE_TRANSLATION: ModeHandler(open_translation, self._translation_refusal),
            pb.MODE_NAVIGATION: assistant,  # the assistant with a navigator (``open_session``)
        }
        stream = Stream(self.config.stream, modes)
        self.active_sessions += 1
        try:
            async for msg in stream.converse(request_iterator):
                yield msg
        finally:
            self.active_sessions -= 1
            log.info("session %s closed; counters %s", stream.name(), stream.counters())


@dataclass
class HostServer:
    server: grpc.aio.Server
    port: int
    health: health.HealthServicer
    service: DuplexService
    loading: asyncio.Task[None]
    recorder: TurnRecorder | None = None

    async def ready(self) -> None:
        """Wait until the models are loaded and the host reports SERVING. If loading fails the
        server is stopped and the error raised."""
        try:
            await asyncio.shield(self.loading)
        except BaseException:
            if self.loading.done():
                await self.stop(None)
            raise

    async def stop(self, grace: float | None = 1.0) -> None:
        self.loading.cancel()
        self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self.recorder is not None:
            self.recorder.close()


async def start_server(config: HostConfig | None = None, load: Callable[[], HostModels] | None = None) -> HostServer:
    """Bind and start serving, and start loading the models (``load``, by default the ones
    ``config`` names) in a worker thread; ``ready()`` waits for them.

    Raises BindError naming the address when it cannot listen."""
    config = config or HostConfig()
    server = grpc.aio.server()
    loop = asyncio.get_running_loop()
    models: asyncio.Future[HostModels] = loop.create_future()
    recorder = TurnRecorder(config.record_turns) if config.record_turns else None
    service = DuplexService(config, models, recorder)
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
        port = server.add_insecure_port(config.listen)
    except RuntimeError as exc:
        raise BindError(f"cannot listen on {config.listen}: {exc}") from None
    if port == 0:  # older grpcio reports failure as port 0 instead of raising
        raise BindError(f"cannot listen on {config.listen}")
    await server.start()

    async def load_then_serve() -> None:
        service.walk_map = await asyncio.to_thread(load_map, config.map)
        models.set_result(await asyncio.to_thread(load or partial(load_models, config)))
        for name in (SERVICE_NAME, ""):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    loading = loop.create_task(load_then_serve(), name="load-models")
    return HostServer(server, port, health_servicer, service, loading, recorder)
