//! Outgoing email. One [`Mailer`] either speaks SMTP or, when no SMTP server is
//! configured, drops each message as an `.eml` file into an outbox folder.

mod error;
mod outbox;

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use error::MailError;

/// One outgoing message: plain text and HTML alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Either a real SMTP transport or the default outbox folder.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Debug, Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Mailer {
    /// `url` is an SMTP URL as lettre understands it: `smtp://host:port` (plain,
    /// no TLS), `smtp://host:port?tls=required`, `smtps://user:pass@host:465`, etc.
    /// Nothing connects yet: the first [`Mailer::send`] does.
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let from = parse_mailbox(from)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(MailError::InvalidUrl)?.build();
        Ok(Self { transport: Transport::Smtp(transport), from })
    }

    /// Writes each message as `<dir>/<timestamp>-<ulid>.eml`, creating `dir` if
    /// missing, and logs its subject and recipient.
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        Ok(Self { transport: Transport::Outbox(dir), from: parse_mailbox(from)? })
    }

    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        let message = self.build(&email)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(MailError::Smtp)?;
                tracing::debug!(to = %email.to, subject = %email.subject, "mail sent over SMTP");
            }
            Transport::Outbox(dir) => {
                let path = outbox::write(dir, &message.formatted()).await?;
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    path = %path.display(),
                    "mail written to outbox"
                );
            }
        }
        Ok(())
    }

    /// "smtp" or "outbox", for logs.
    pub fn kind(&self) -> &'static str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Outbox(_) => "outbox",
        }
    }

    fn build(&self, email: &Email) -> Result<Message, MailError> {
        Message::builder()
            .from(self.from.clone())
            .to(parse_mailbox(&email.to)?)
            .subject(email.subject.as_str())
            // A Message-ID is not required, but mail without one scores worse with spam filters.
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(MailError::Build)
    }
}

fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|err| MailError::InvalidAddress(address.to_owned(), err))
}

#[cfg(test)]
mod tests;
