"""asyncio's subprocess helper for the shell sink tests (Python 3 only syntax)."""
import asyncio


def create_subprocess_shell(cmd):
    """Run ``cmd`` through ``asyncio.create_subprocess_shell`` on a fresh loop and wait for it."""

    async def run():
        proc = await asyncio.create_subprocess_shell(cmd)
        await proc.wait()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # Python < 3.8: the child watcher attaches to the current loop
    try:
        loop.run_until_complete(run())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
