"""Running an ingest load on asyncio: the steps of :class:`~.ingest.IngestPlan`, jobs as tasks.

Everything a job does (create, upload, close, poll, download its results, abort) is the same steps
the sync load runs on threads; here each job is a task driving them over an ``AsyncHttpSession``,
at most ``max_concurrent_jobs`` at a time. Turning the input into CSV and splitting it into job
files (CPU and disk) run in a worker thread, so the event loop stays free; progress events are
delivered on the loop's thread, one at a time, in the order of the sync client.

Failure rules are those of :mod:`.ingest`, plus cancellation: a load whose task is cancelled stops
its jobs' tasks, aborts every job it created that has not finished, and re-raises
``CancelledError`` (a job whose abort failed is named in a note on it).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kinetic_core.bulk.events import BulkEvent, Emitter
from kinetic_core.bulk.ingest import IngestPlan, JobOutcome
from kinetic_core.bulk.loadopts import LoadOptions
from kinetic_core.bulk.models import ColumnDelimiter, LineEnding
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.split import Chunk
from kinetic_core.http.afiles import off_loop
from kinetic_core.http.steps import AsyncSession, arun


class LoopEmitter(Emitter):
    """An ``Emitter`` whose callback always runs on the event loop's thread: a call from a worker
    thread waits for it there (an exception of the callback still reaches the load)."""

    def __init__(self, callback: Callable[[BulkEvent], None] | None, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(callback)
        self._loop = loop

    def __call__(self, event: BulkEvent) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            super().__call__(event)
            return

        async def deliver() -> None:
            Emitter.__call__(self, event)

        asyncio.run_coroutine_threadsafe(deliver(), self._loop).result()


class AsyncIngestLoad(IngestPlan):
    """One load on an async session; ``await run(records)`` once."""

    def __init__(
        self,
        session: AsyncSession,
        options: LoadOptions,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        super().__init__(options, clock=clock, emit=LoopEmitter(options.on_event, asyncio.get_running_loop()))
        self.session = session
        self.sleep = sleep
        self._slots = asyncio.Semaphore(max(1, options.max_concurrent_jobs))

    async def run(self, records: Any) -> BulkResult:
        """Load ``records``; return the merged result or raise (see :mod:`.ingest`)."""
        workdir = Path(tempfile.mkdtemp(prefix="kinetic-bulk-"))
        try:
            return await self._run(records, workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            self._let_go_all()  # manifests stay for a later pickup by job id, from any process
            raise

    async def _job(
        self, chunk: Chunk, delimiter: ColumnDelimiter, ending: LineEnding, workdir: Path
    ) -> JobOutcome:
        try:
            return await arun(
                self.session, self.job_steps(chunk, delimiter, ending, workdir), sleep=self.sleep
            )
        finally:
            self._slots.release()

    def _done(self, task: asyncio.Task[JobOutcome]) -> None:
        if not task.cancelled():
            self.job_failed(task.exception())

    async def _run(self, records: Any, workdir: Path) -> BulkResult:
        prep, chunks = await off_loop(self.prepare, records, workdir)
        tasks: list[asyncio.Task[JobOutcome]] = []
        never_sent = 0
        timed_out = False
        try:
            while (chunk := await off_loop(next, chunks, None)) is not None:
                if self.past_deadline():
                    timed_out = True
                    never_sent += chunk.rows
                    chunk.path.unlink(missing_ok=True)
                    continue
                await self._slots.acquire()
                if self.cancel.is_set():
                    self._slots.release()
                    break
                task = asyncio.create_task(self._job(chunk, prep.delimiter, prep.line_ending, workdir))
                task.add_done_callback(self._done)
                tasks.append(task)
            ended: list[JobOutcome | BaseException] = await asyncio.gather(*tasks, return_exceptions=True)
        except BaseException as stopped:  # cancelled (or the input failed): stop the jobs, abort them
            await self._stop(tasks, stopped)
            raise
        finally:
            prep.close()
        outcomes = self.settle(ended, timed_out, never_sent)
        if self.opts.results_dir is not None:
            return await off_loop(self.merge, prep, outcomes, workdir)  # writes the result files
        return self.merge(prep, outcomes, workdir)

    async def _stop(self, tasks: list[asyncio.Task[JobOutcome]], stopped: BaseException) -> None:
        """Cancel the jobs' tasks, wait for them, abort every job still open, name those that were not."""
        self.cancel.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await arun(self.session, self.abandon(), sleep=self.sleep)
        self._name_unaborted(stopped)
