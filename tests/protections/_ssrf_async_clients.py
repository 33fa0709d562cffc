"""The asyncio clients of ``_ssrf_app`` (Python 3 only): one GET each, run on a fresh event loop."""
import asyncio
import contextlib


def run(coroutine):
    """Run ``coroutine`` on a new event loop of this thread (the request's context goes with it)."""
    with contextlib.closing(asyncio.new_event_loop()) as loop:
        return loop.run_until_complete(coroutine)


async def httpx_get(url, timeout):
    import httpx

    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
        response = await client.get(url)
        return response.status_code, response.content


async def aiohttp_get(url, timeout, proxy=None):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout), proxy=proxy) as response:
            return response.status, await response.read()
