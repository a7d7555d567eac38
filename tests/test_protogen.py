"""The committed gRPC/protobuf code is exactly what the .proto generates."""

from sottovoce.tools import protogen


def test_generated_code_is_current():
    assert protogen.stale_files() == [], "run: python -m sottovoce.tools.protogen"


def test_generated_imports_use_the_installed_namespace():
    from sottovoce.proto.v1 import duplex_pb2, duplex_pb2_grpc

    assert duplex_pb2.DESCRIPTOR.package == "sottovoce.v1"
    assert duplex_pb2_grpc.DuplexStub
