"""Runpod Serverless handler of the S3 palette engine: the thinnest bridge from Runpod's Python worker SDK to our
Node engine. At cold start it launches engine.js (engine.ts in a checkout) beside it and waits until the SAM3
model is loaded and warm (once per worker, not per job); each job's input (a SegmentInput: storage keys, never
image bytes) is forwarded to the engine over 127.0.0.1 and its SegmentResult returned as the job's output.

An engine failure becomes the job's `error`: JSON {type, message, nonRetryable}, which the dispatcher maps back
(a bad image stays a non-retryable item failure). If the engine process died, the worker asks Runpod to replace it.

    python handler.py                                   # on Runpod
    python handler.py --rp_serve_api --rp_api_port N    # Runpod's local API server (tests, npm run dev)
"""

import atexit
import json
import os
import subprocess
import sys
import threading
import urllib.request

import runpod

HERE = os.path.dirname(os.path.abspath(__file__))
READY_PREFIX = "S3_ENGINE_READY "


def engine_command():
    """engine.js next to this file in the image (tsc output); engine.ts through ts-node in a checkout."""
    compiled = os.path.join(HERE, "engine.js")
    if os.path.exists(compiled):
        return [os.environ.get("NODE_BINARY", "node"), compiled]
    return [os.environ.get("NODE_BINARY", "node"), "-r", "ts-node/register/transpile-only", os.path.join(HERE, "engine.ts")]


def start_engine():
    """Starts the engine and returns (process, port) once it printed its ready line."""
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    proc = subprocess.Popen(engine_command(), cwd=root, stdout=subprocess.PIPE, text=True)
    atexit.register(proc.terminate)
    for line in proc.stdout:
        if line.startswith(READY_PREFIX):
            port = int(line[len(READY_PREFIX):].strip())
            # Keep draining stdout so the engine never blocks on a full pipe.
            threading.Thread(target=lambda: [sys.stdout.write(l) for l in proc.stdout], daemon=True).start()
            return proc, port
        sys.stdout.write(line)
    raise SystemExit(f"the engine exited before it was ready (exit code {proc.wait()})")


ENGINE, PORT = start_engine()


def handler(job):
    """One item: forward to the engine, return its SegmentResult or a structured error."""
    if ENGINE.poll() is not None:
        error = {"type": "ENGINE_DOWN", "message": f"the engine exited ({ENGINE.returncode})", "nonRetryable": False}
        return {"error": json.dumps(error), "refresh_worker": True}
    body = json.dumps({"id": job["id"], "input": job["input"]}).encode("utf-8")
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/segment", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request) as response:
        answer = json.load(response)
    if "error" in answer:
        return {"error": json.dumps(answer["error"])}
    return answer["output"]


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
