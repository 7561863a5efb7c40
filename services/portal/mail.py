"""Notices by mail: each notice to a department with a notification address is mailed once.

The notice and its mail row commit together (`inbox.post`); this job takes the rows that
are due, one transaction each: it locks the row (`FOR UPDATE SKIP LOCKED`, so replicas
never send the same one together), hands the message to the mail server, and marks the row
sent in that same transaction once the server has accepted it. A server that is away, or
refuses for now, leaves the row for a later try with a doubling pause; one that refuses
the address for good (5xx) ends it, as does age (`mail_max_age_hours`: by then the notice
has long been in the inbox).

The one gap no design closes is the SMTP boundary: if the database is lost between the
server's acceptance and the commit, the row is sent again. That at-least-once is accepted
there only, and each message carries a Message-ID made from the notice's id, so a mail
system (and a reader's client) can tell the copy for what it is.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.portal.inbox import names_for
from services.portal.inbox_settings import InboxSettings
from services.portal.models import Notice, NoticeMail
from services.portal.notices import Names
from shared.db import transaction

log = logging.getLogger(__name__)

mail_waiting = Gauge("govshare_portal_notice_mail_waiting",
                     "Notices waiting to be mailed (not sent, not given up).")
mail_oldest_waiting = Gauge("govshare_portal_notice_mail_oldest_waiting_seconds",
                            "Age of the oldest notice waiting to be mailed; 0 when none.")


class NoticeMailer:
    """Sends the notices that are due for mail, each once."""

    def __init__(self, settings: InboxSettings,
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings, self.sessions = settings, sessions

    async def deliver_due(self, batch: int = 50) -> int:
        """Mail up to `batch` due notices over one connection; returns how many the server
        accepted. Stops at the first failure to reach the server: the rest wait their turn."""
        sent = 0
        connection: aiosmtplib.SMTP | None = None
        try:
            for _ in range(batch):
                async with transaction(self.sessions) as session:
                    claimed = await _claim_next(session, self.settings.mail_max_age_hours)
                    if claimed is None:
                        break
                    mail, notice, too_old = claimed
                    if too_old:
                        _give_up(mail, "not sent within the maximum age")
                        continue
                    names = await names_for(session, (notice.title, notice.body))
                    try:
                        connection = connection or await self._connect()
                        await connection.send_message(self.compose(notice, mail.address, names))
                    except aiosmtplib.SMTPRecipientsRefused as error:
                        if _refused_for_good(error):
                            _give_up(mail, repr(error))
                            continue
                        self._retry_later(mail, error)
                        continue
                    except (aiosmtplib.SMTPException, OSError) as error:
                        self._retry_later(mail, error)
                        connection = await _drop(connection)
                        break
                    mail.sent_at = datetime.now(UTC)
                    sent += 1
        finally:
            await _drop(connection)
        return sent

    def compose(self, notice: Notice, address: str, names: Names) -> EmailMessage:
        """The mail of `notice`: its title and text (with `names`), and where to act."""
        settings = self.settings
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = address
        message["Subject"] = f"【政务数据共享】{names.fill(notice.title)}"
        message["Date"] = format_datetime(notice.created_at)
        domain = settings.smtp_from.rpartition("@")[2] or "govshare"
        message["Message-ID"] = f"<notice-{notice.id}@{domain}>"
        page = (settings.public_url.rstrip("/") + notice.link if settings.public_url
                else f"门户页面 {notice.link}")
        message.set_content(f"{names.fill(notice.body)}\n\n办理：{page}\n\n"
                            "此邮件由政务数据共享交换平台自动发送，请登录平台门户查看和办理，"
                            "勿直接回复。\n")
        return message

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        connection = aiosmtplib.SMTP(
            hostname=settings.smtp_host, port=settings.smtp_port,
            start_tls=settings.smtp_starttls, timeout=settings.smtp_timeout_seconds,
            username=settings.smtp_username, password=password)
        await connection.connect()
        return connection

    def _retry_later(self, mail: NoticeMail, error: Exception) -> None:
        mail.attempts += 1
        pause = min(self.settings.mail_retry_seconds * 2 ** (mail.attempts - 1),
                    self.settings.mail_retry_max_seconds)
        mail.next_attempt_at = datetime.now(UTC) + timedelta(seconds=pause)
        mail.last_error = repr(error)[:2000]
        log.warning("the mail server did not take a notice; trying again later", extra={
            "notice_id": str(mail.notice_id), "attempts": mail.attempts,
            "retry_in_seconds": pause, "error": repr(error)})


async def _claim_next(session: AsyncSession,
                      max_age_hours: float) -> tuple[NoticeMail, Notice, bool] | None:
    """The next due mail, locked for this transaction, its notice, and whether it is past
    the age for mailing (the database's clock, which wrote the notice's time); none if
    every due one is taken."""
    too_old = Notice.created_at < func.now() - timedelta(hours=max_age_hours)
    row = (await session.execute(
        select(NoticeMail, Notice, too_old).join(Notice, Notice.id == NoticeMail.notice_id)
        .where(NoticeMail.sent_at.is_(None), NoticeMail.given_up_at.is_(None),
               NoticeMail.next_attempt_at <= func.now())
        .order_by(NoticeMail.next_attempt_at).limit(1)
        .with_for_update(skip_locked=True, of=NoticeMail))).first()
    return (row[0], row[1], bool(row[2])) if row else None


def _refused_for_good(error: aiosmtplib.SMTPRecipientsRefused) -> bool:
    """The server refused the address with a permanent (5xx) answer: no retry mends it."""
    return all(refusal.code >= 500 for refusal in error.recipients)


def _give_up(mail: NoticeMail, why: str) -> None:
    mail.given_up_at = datetime.now(UTC)
    mail.last_error = why[:2000]
    log.error("a notice's mail was given up", extra={"notice_id": str(mail.notice_id),
                                                     "error": why})


async def _drop(connection: aiosmtplib.SMTP | None) -> None:
    """Close `connection` politely if it still stands; None, for the caller to reset."""
    if connection is not None and connection.is_connected:
        try:
            await connection.quit()
        except (aiosmtplib.SMTPException, OSError):
            connection.close()
    return None


async def measure_waiting(session: AsyncSession) -> None:
    """Set the mail gauges from the queue (for /metrics)."""
    waiting, oldest = (await session.execute(
        select(func.count(), func.extract("epoch", func.now() - func.min(NoticeMail.created_at)))
        .where(NoticeMail.sent_at.is_(None), NoticeMail.given_up_at.is_(None)))).one()
    mail_waiting.set(waiting)
    mail_oldest_waiting.set(float(oldest or 0))
