//! Outgoing email. One [`Mailer`] either speaks SMTP or, when no SMTP server is
//! configured, drops each message as an `.eml` file into an outbox folder.

mod error;
mod outbox;

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart, SinglePart};
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

/// A message a workflow's `send_email` node sends. Its sender is always the instance's address,
/// shown with `from_name` when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowEmail {
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub from_name: Option<String>,
    pub subject: String,
    /// The bodies: plain text, HTML, or both as alternatives (neither: an empty text).
    pub text: Option<String>,
    pub html: Option<String>,
    /// The Message-ID, without its angle brackets.
    pub message_id: String,
}

/// Who a sent message went from and to, as its SMTP envelope says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
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
        self.deliver(message, &email.to, &email.subject).await
    }

    /// Sends a workflow's message from the instance's address.
    pub async fn send_workflow_email(&self, email: WorkflowEmail) -> Result<Envelope, MailError> {
        let from = Mailbox::new(email.from_name.clone(), self.from.email.clone());
        let mut builder = Message::builder().from(from).subject(email.subject.as_str());
        for to in &email.to {
            builder = builder.to(to.clone());
        }
        for cc in &email.cc {
            builder = builder.cc(cc.clone());
        }
        for bcc in &email.bcc {
            builder = builder.bcc(bcc.clone());
        }
        if let Some(reply_to) = &email.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let builder = builder.message_id(Some(format!("<{}>", email.message_id)));
        let message = match (email.text.clone(), email.html.clone()) {
            (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
            (None, Some(html)) => builder.singlepart(SinglePart::html(html)),
            (text, None) => builder.singlepart(SinglePart::plain(text.unwrap_or_default())),
        }
        .map_err(MailError::Build)?;
        let envelope = Envelope {
            from: self.from.email.to_string(),
            to: message.envelope().to().iter().map(ToString::to_string).collect(),
        };
        let recipients = envelope.to.join(", ");
        self.deliver(message, &recipients, &email.subject).await?;
        Ok(envelope)
    }

    async fn deliver(&self, message: Message, to: &str, subject: &str) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(MailError::Smtp)?;
                tracing::debug!(to, subject, "mail sent over SMTP");
            }
            Transport::Outbox(dir) => {
                let path = outbox::write(dir, &message.formatted()).await?;
                tracing::info!(to, subject, path = %path.display(), "mail written to outbox");
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
