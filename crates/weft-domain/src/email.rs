//! Email addresses as accounts know them: trimmed, lower-cased, plausibly deliverable.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 254 characters")]
    TooLong,
    #[error("must look like name@example.com")]
    Malformed,
}

/// A normalised email address. Comparison is on the normalised form, so `A@X.io` and ` a@x.io`
/// are the same account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let domain_ok =
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
        let chars_ok = !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok || !chars_ok {
            return Err(EmailError::Malformed);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let email = EmailAddress::parse("  Ada.Lovelace@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn implausible_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.io",
            "ada@.io",
            "ada@x..io",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }
}
