//! Everything that can go wrong while configuring the mailer or sending a message.

use lettre::address::AddressError;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid email address {0:?}")]
    InvalidAddress(String, #[source] AddressError),
    /// The SMTP URL is not something lettre can turn into a transport.
    /// The URL itself is left out of the message: it may hold a password.
    #[error("invalid SMTP URL")]
    InvalidUrl(#[source] lettre::transport::smtp::Error),
    #[error("could not build the email message")]
    Build(#[source] lettre::error::Error),
    #[error("SMTP delivery failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("could not write the message to the outbox")]
    Io(#[source] std::io::Error),
}
