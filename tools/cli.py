"""`sottovoce`: one command, a subcommand per program.

sottovoce demo   [--out DIR]      controllers + simulator + edge + host, a scripted conversation
sottovoce host   [--listen ...]   the inference node (gRPC)
sottovoce edge   --device URL     the edge daemon
sottovoce sim    --transport URL  the simulated glasses (bumble BLE peripheral)
sottovoce ask    "question"       the responder chain (skills, then the language model) as text
sottovoce translate FILE.wav      one recording translated (--from es --to en)
sottovoce bench  NAME [...]       a benchmark against its baseline ("sottovoce bench" lists them)
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module with add_arguments/run, help)
PROGRAMS = {
    "demo": ("sottovoce.tools.demo", "run the whole stack on a scripted conversation and report latencies"),
    "host": ("sottovoce.host.cli", "serve the inference node (ASR, responder, whispered TTS) over gRPC"),
    "edge": ("sottovoce.edge.cli", "run the edge daemon between a wearable and a host"),
    "sim": ("sottovoce.firmware_sim.cli", "run the simulated glasses as a BLE peripheral"),
    "ask": ("sottovoce.tools.ask", "answer a question as text: the skills, then the language model"),
    "translate": ("sottovoce.tools.translate", "translate one recording: its words on the first line, audio optional"),
}
BENCHES = {
    "turn": ("sottovoce.tools.bench_turn", "end-of-turn model vs fixed silence rules on held-out speech"),
    "vad": ("sottovoce.tools.bench_vad", "Silero VAD vs WebRTC VAD on synthesised speech in noise"),
    "demo": ("sottovoce.tools.bench_demo", "the demo conversation: end-of-turn model vs the 500 ms silence rule"),
    "echo": ("sottovoce.tools.bench_echo", "echo cancellation on vs off at echo levels up to +12 dB over the wearer"),
    "voice": ("sottovoce.tools.bench_voice", "whispered voices vs the plain voice: voicing, words, speed"),
    "asr": ("sottovoce.tools.bench_asr", "streaming ASR: incremental partials vs re-decoding the whole turn"),
    "stop": ("sottovoce.tools.bench_stop", "a barge-in stopping a model answer vs letting it run to its end"),
    "overlap": ("sottovoce.tools.bench_overlap", "speech over an answer read by its words vs by words and sound"),
    "answers": ("sottovoce.tools.bench_answers", "the responder chain on wearers' questions vs the skills alone"),
    "speakers": ("sottovoce.tools.bench_speakers", "whose voice a turn is: the wearer's level followed vs fixed"),
    "navigation": ("sottovoce.tools.bench_navigation", "walking cues on simulated walks: timing, sides, re-routing"),
    "translate": ("sottovoce.tools.bench_translate", "translation per pair: offline Apertium vs the --llm backend"),
    "duplex": (
        "sottovoce.tools.bench_duplex",
        "full duplex through the whole stack: takeover, barge-in, backchannels, corrections, echo, noise",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="sottovoce", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_module, help_text) in PROGRAMS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    # No help option of its own: "sottovoce bench turn --help" is the bench's own help.
    bench = sub.add_parser("bench", help="benchmarks; each compares against a baseline in the same run", add_help=False)
    bench.add_argument("which", nargs="?", choices=sorted(BENCHES), metavar="NAME")
    args, rest = parser.parse_known_args(argv)

    if args.command == "bench":
        if args.which is None:
            asked = bool({"-h", "--help"} & set(rest))
            out = sys.stdout if asked else sys.stderr
            bench.print_usage(out)
            for name, (_module, help_text) in BENCHES.items():
                print(f"  {name:8} {help_text}", file=out)
            return 0 if asked else 2
        module, _ = BENCHES[args.which]
        return int(importlib.import_module(module).main(rest) or 0)
    module_name, help_text = PROGRAMS[args.command]
    module = importlib.import_module(module_name)
    program = argparse.ArgumentParser(prog=f"sottovoce {args.command}", description=help_text)
    module.add_arguments(program)
    return int(module.run(program.parse_args(rest)) or 0)


if __name__ == "__main__":
    sys.exit(main())
