#!/usr/bin/env python3
"""Drive leann-edge's MCP server with the official Python MCP SDK, as an assistant would.

    mcp_client.py stdio BIN INDEX [--model DIR]   # starts `BIN mcp INDEX` itself
    mcp_client.py http URL [--token T]            # streamable HTTP, e.g. http://127.0.0.1:7878/mcp

Lists the tools, calls search_documents with QUERY (env MCP_QUERY) and prints one JSON document:
{"tools": [...], "search": <structured result>, "text": <text content>}. Exits non-zero on any
protocol or tool error.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def is_error(r):
    return getattr(r, "is_error", None) or getattr(r, "isError", None)


def structured(r):
    v = getattr(r, "structured_content", None)
    return v if v is not None else getattr(r, "structuredContent", None)


async def exercise(session):
    await session.initialize()
    tools = await session.list_tools()
    names = sorted(t.name for t in tools.tools)
    query = os.environ.get("MCP_QUERY", "how much power does a raspberry pi need")
    res = await session.call_tool("search_documents", {"query": query, "k": 2})
    if is_error(res):
        raise SystemExit("search_documents failed: " + " ".join(c.text for c in res.content))
    bad = await session.call_tool("search_documents", {"k": 2})
    if not is_error(bad):
        raise SystemExit("search_documents without a query was not refused")
    srcs = await session.call_tool("list_sources", {})
    return {
        "tools": names,
        "search": structured(res),
        "text": "\n".join(c.text for c in res.content),
        "sources": structured(srcs),
        "missing_query_error": " ".join(c.text for c in bad.content),
    }


async def over_stdio(binary, index, extra):
    params = StdioServerParameters(command=binary, args=["mcp", index, *extra])
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            return await exercise(s)


async def over_http(url, token):
    from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
    headers = {"Authorization": "Bearer " + token} if token else None
    async with create_mcp_http_client(headers=headers) as http, \
            streamable_http_client(url, http_client=http) as streams:
        r, w = streams[0], streams[1]
        async with ClientSession(r, w) as s:
            return await exercise(s)


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "stdio":
        out = asyncio.run(over_stdio(a[1], a[2], a[3:]))
    elif len(a) >= 2 and a[0] == "http":
        token = a[3] if len(a) >= 4 and a[2] == "--token" else None
        out = asyncio.run(over_http(a[1], token))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
