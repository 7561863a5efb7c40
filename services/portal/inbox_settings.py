"""Settings of the portal's inbox: reminders and mail."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class InboxSettings(ServiceSettings):
    """The portal as the notice store: its database and broker (ServiceSettings), how
    often reminders are looked for, and the node's mail server (unset `smtp_host`,
    notices stay in the inbox only)."""

    sweep_interval_seconds: float = Field(
        60.0, gt=0, description="How often requests due soon and grants ending soon are "
                                "looked for (each is reminded of once).")
    smtp_host: str | None = Field(None, description="Mail server (SMTP submission) host; "
                                                    "unset, no notice is mailed.")
    smtp_port: int = Field(587, ge=1, le=65535, description="Its port (587 for submission).")
    smtp_username: str | None = Field(None, description="Account to log in as, if any.")
    smtp_password: SecretStr | None = Field(None, description="That account's password.")
    smtp_from: str = Field("govshare@localhost",
                           description="Sender address of the notices' mail.")
    smtp_starttls: bool = Field(True, description="Upgrade the connection with STARTTLS "
                                                  "(refused if the server cannot); off only "
                                                  "for a relay on the same host.")
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="Longest wait for the server.")
    mail_poll_seconds: float = Field(5.0, gt=0, description="How often due mail is sent.")
    mail_retry_seconds: float = Field(30.0, gt=0, description="First pause after a failed "
                                                              "try; it doubles each time.")
    mail_retry_max_seconds: float = Field(3600.0, gt=0, description="Longest pause.")
    mail_max_age_hours: float = Field(
        168.0, gt=0, description="A notice not mailed within this long is not mailed at all "
                                 "(it stays in the inbox).")
    public_url: str | None = Field(
        None, description="The portal's address as people reach it (https://…), so a mail "
                          "links to the page; unset, the mail names the page's path.")

    @property
    def mails(self) -> bool:
        return bool(self.smtp_host)
