"""Runs a Pulumi Python program for scripts/pulumi-language-python.mjs (the engine's language host).

Started with the program's Python (its virtualenv) as
`python pulumi_language_python_run.py --monitor A --engine B --project P --stack S [--organization O]
[--pwd D] [--parallel N] [--dry-run] <program dir or file> [args...]`; the stack config comes in PULUMI_CONFIG (JSON)
and its secret keys in PULUMI_CONFIG_SECRET_KEYS. Exit codes: 0 done; 32 failed, the error already reported to
the engine; 1 anything else (message on stderr).
"""

import argparse
import asyncio
import json
import logging
import os
import runpy
import sys
import traceback

# The error was sent to the engine as a diagnostic; the host tells the CLI not to print another.
ALREADY_REPORTED = 32

try:
    import pulumi
    import pulumi.runtime
except ImportError:
    print(traceback.format_exc(), file=sys.stderr)
    print("The Pulumi Python SDK is not installed in this program's Python: run `pip install -r requirements.txt` in its virtualenv.", file=sys.stderr)
    sys.exit(1)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a Pulumi Python program for the Pulumi engine")
    for flag in ("monitor", "engine", "project", "stack", "organization", "pwd", "root-directory"):
        parser.add_argument(f"--{flag}")
    parser.add_argument("--parallel", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    args = parser.parse_args()

    pulumi.runtime.set_all_config(json.loads(os.environ.get("PULUMI_CONFIG") or "{}"), json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS") or "[]"))
    settings = {"monitor": args.monitor, "engine": args.engine, "project": args.project, "stack": args.stack, "parallel": args.parallel, "dry_run": args.dry_run}
    if args.organization:
        settings["organization"] = args.organization
    pulumi.runtime.configure(pulumi.runtime.Settings(**settings))

    if args.pwd:
        os.chdir(args.pwd)
    program = os.path.abspath(args.program)
    # Imports beside the program (a package of the project's own) work as under `python <program>`.
    sys.path.insert(0, program if os.path.isdir(program) else os.path.dirname(program))
    sys.argv = [program, *args.args]

    # Futures of a failed program are left unobserved on purpose; asyncio's complaints about them are noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
        return 0
    except pulumi.RunError as error:
        pulumi.log.error(str(error))
    except Exception:  # pylint: disable=broad-except
        pulumi.log.error(f"Program failed with an unhandled exception:\n{traceback.format_exc()}")
    finally:
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return ALREADY_REPORTED


if __name__ == "__main__":
    sys.exit(main())
