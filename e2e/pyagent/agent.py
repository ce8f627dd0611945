"""An agent driven by the Python MCP SDK, for the identity end-to-end tests.

Usage: python agent.py URL TOKEN MODE ELICIT CALLS_JSON

  MODE    "auto" (the SDK negotiates protocol 2026-07-28) or "legacy"
          (2025-11-25, with an initialize handshake and a session)
  ELICIT  "accept" or "decline" (an elicitation callback answering so),
          or "none" (no callback: the client cannot ask its user)
  CALLS   a JSON list of {"tool": ..., "args": {...}, "meta": {...}}

Prints one JSON object per call on stdout: the tool, whether the result is
an error, its text, its structured content, the protocol version in use and
the questions the server asked the user during the call.
"""

import asyncio
import json
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp import types


async def main() -> None:
    url, token, mode, elicit, calls = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
    asked: list[str] = []

    async def on_elicit(context, params):
        asked.append(params.message)
        if elicit == "accept":
            return types.ElicitResult(action="accept", content={"approve": True})
        return types.ElicitResult(action="decline")

    http = create_mcp_http_client(headers={"Authorization": "Bearer " + token})
    kwargs = {"mode": mode, "client_info": types.Implementation(name="python-agent", version="2.3")}
    if elicit != "none":
        kwargs["elicitation_callback"] = on_elicit
    async with http:
        async with Client(streamable_http_client(url, http_client=http), **kwargs) as client:
            for call in calls:
                asked.clear()
                meta = call.get("meta")
                res = await client.call_tool(call["tool"], call.get("args", {}), meta=meta)
                text = "".join(c.text for c in res.content if getattr(c, "type", "") == "text")
                print(json.dumps({
                    "tool": call["tool"],
                    "is_error": bool(res.is_error),
                    "text": text,
                    "structured": res.structured_content,
                    "protocol": client.protocol_version,
                    "asked": list(asked),
                }), flush=True)


asyncio.run(main())
