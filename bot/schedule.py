"""The digest's clock: APScheduler 3 (AsyncIOScheduler) with cron triggers in Asia/Tokyo.

The scheduler only decides *when to look*; the database decides *whether to post* (see
``bot.digest.service``), so any number of instances may run it. Jobs:

* ``digest@<schedule>`` — a cron trigger per distinct weekly schedule in use (default Monday
  09:00 local time) that runs the due digests at that minute;
* ``digest-check`` — every ``MADOGUCHI_DIGEST_CHECK_MINUTES``: re-reads the workspaces' digest
  settings (an admin may have changed them through another instance), adjusts the cron jobs and
  posts anything due but missing — the catch-up after the bot was down on Monday;
* one check right at start, for the same catch-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import datetime, tzinfo

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digest.service import DigestPoster, DigestService, PostResult

log = structlog.get_logger("madoguchi.schedule")

CHECK_JOB = "digest-check"
_CRON_PREFIX = "digest@"


class DigestScheduler:
    """Runs the weekly digest on time in one process; safe to run in every instance."""

    def __init__(
        self,
        service: DigestService,
        poster: DigestPoster,
        *,
        tz: tzinfo,
        check_minutes: float = 10,
    ) -> None:
        self.service = service
        self.poster = poster
        self.tz = tz
        self.check_minutes = check_minutes
        self.scheduler = AsyncIOScheduler(
            timezone=tz,
            # A run late by minutes (a busy loop, a suspended VM) still runs, once.
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[object]] = set()
        self.results: list[PostResult] = []

    async def start(self) -> None:
        """Start the jobs and run the start-up check (catch-up) in the background."""
        self.scheduler.add_job(
            self.check,
            IntervalTrigger(minutes=self.check_minutes, timezone=self.tz),
            id=CHECK_JOB,
            replace_existing=True,
        )
        self.scheduler.start()
        self._spawn(self.check())
        log.info("schedule.started", check_minutes=self.check_minutes)

    async def shutdown(self) -> None:
        """Stop the jobs and cancel a digest run in progress (its claim is taken over later)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler stops on the loop's next turn
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        log.info("schedule.stopped")

    async def check(self) -> list[PostResult]:
        """Re-read the digest settings, align the cron jobs, post what is due."""
        # Tracked from the start (not only once posting begins): shutdown must cancel and await
        # a check still reading the settings, or it outlives the database it reads from.
        with self._tracked():
            await self.refresh()
            return await self.run()

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        task = asyncio.current_task()
        added = task is not None and task not in self._tasks
        if added:
            self._tasks.add(task)  # type: ignore[arg-type]
        try:
            yield
        finally:
            if added:
                self._tasks.discard(task)  # type: ignore[arg-type]

    async def run(self) -> list[PostResult]:
        """Post the digests that are due now (one run at a time in this process)."""
        with self._tracked():
            return await self._run()

    async def _run(self) -> list[PostResult]:
        try:
            async with self._lock:
                results = await self.service.run_due(datetime.now(self.tz), self.poster)
            self.results += results
            return results
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("schedule.run_failed", error_type=type(exc).__name__)
            return []

    async def refresh(self) -> None:
        """One cron job per distinct schedule of the active workspaces."""
        try:
            home = await self.poster.home_tenant()
        except Exception as exc:
            log.warning("schedule.home_tenant_failed", error_type=type(exc).__name__)
            home = None
        try:
            configs = await self.service.configs.all(home)
        except Exception as exc:
            log.error("schedule.refresh_failed", error_type=type(exc).__name__)
            return
        wanted = {str(c.schedule): c.schedule for c in configs if c.active}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(_CRON_PREFIX) and job.id[len(_CRON_PREFIX) :] not in wanted:
                job.remove()
        for key, schedule in wanted.items():
            if self.scheduler.get_job(_CRON_PREFIX + key) is None:
                self.scheduler.add_job(
                    self.run,
                    CronTrigger(timezone=self.tz, **schedule.cron()),
                    id=_CRON_PREFIX + key,
                )

    def next_run(self) -> datetime | None:
        """When the next weekly digest run is (None when no workspace has one)."""
        times = [
            job.next_run_time
            for job in self.scheduler.get_jobs()
            if job.id.startswith(_CRON_PREFIX) and job.next_run_time is not None
        ]
        return min(times) if times else None

    async def idle(self) -> None:
        """Wait until the runs started so far (by a job or by :meth:`start`) have finished."""
        for _ in range(10):
            # A job the scheduler just submitted becomes a task a few loop turns later.
            await asyncio.sleep(0)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await asyncio.sleep(0)

    def wakeup(self) -> None:
        """Let the scheduler look at the clock now (after an admin changed the schedule)."""
        if self.scheduler.running:
            self.scheduler.wakeup()

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
