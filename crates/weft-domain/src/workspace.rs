//! Workspace names and slugs. A slug is the workspace's readable address (`/workspaces/acme`),
//! `[a-z0-9-]{3,40}`, unique, and never one of the words Weft keeps for itself.

use std::fmt;

const SLUG_MIN: usize = 3;
const SLUG_MAX: usize = 40;
const NAME_MAX: usize = 100;

/// Words that would be confusing or dangerous as a workspace address.
const RESERVED: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "auth",
    "billing",
    "dashboard",
    "docs",
    "help",
    "hooks",
    "hooks-test",
    "invitations",
    "login",
    "logout",
    "me",
    "metrics",
    "new",
    "operator",
    "settings",
    "signup",
    "static",
    "status",
    "support",
    "system",
    "weft",
    "workspaces",
    "www",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("must be {SLUG_MIN} to {SLUG_MAX} characters")]
    Length,
    #[error("may contain only lower-case letters, digits and `-`")]
    Characters,
    #[error("`{0}` is reserved; choose another")]
    Reserved(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, SlugError> {
        if !(SLUG_MIN..=SLUG_MAX).contains(&raw.len()) {
            return Err(SlugError::Length);
        }
        if !raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(SlugError::Characters);
        }
        if RESERVED.contains(&raw) {
            return Err(SlugError::Reserved(raw.to_owned()));
        }
        Ok(Slug(raw.to_owned()))
    }

    /// A slug derived from a display name: ASCII letters and digits kept, everything else folded
    /// into single dashes. `suffix` (random, from the caller) makes it unique on a retry and pads
    /// names too short or reserved.
    pub fn from_name(name: &str, suffix: Option<&str>) -> Slug {
        let mut base = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                base.push(c);
            } else if !base.is_empty() && !base.ends_with('-') {
                base.push('-');
            }
        }
        let suffix = suffix.unwrap_or_default();
        let room = SLUG_MAX - suffix.len() - usize::from(!suffix.is_empty());
        base.truncate(room);
        let base = base.trim_end_matches('-');
        let slug = match (base.is_empty(), suffix.is_empty()) {
            (_, true) => base.to_owned(),
            (true, false) => suffix.to_owned(),
            (false, false) => format!("{base}-{suffix}"),
        };
        match Slug::parse(&slug) {
            Ok(slug) => slug,
            // Too short or reserved: a fixed word keeps it valid; the caller's retry adds randomness.
            Err(_) => Slug(format!("{}-workspace", slug.trim_end_matches('-')).trim_start_matches('-').to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Four random lower-case letters and digits, to make a generated slug unique.
pub fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..4).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

/// Trims a workspace name and checks its length.
pub fn workspace_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > NAME_MAX => Err(format!("must be at most {NAME_MAX} characters")),
        _ => Ok(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_slugs_parse_and_bad_ones_say_why() {
        assert_eq!(Slug::parse("acme-42").unwrap().as_str(), "acme-42");
        assert_eq!(Slug::parse("ab"), Err(SlugError::Length));
        assert_eq!(Slug::parse(&"a".repeat(41)), Err(SlugError::Length));
        assert_eq!(Slug::parse("Acme"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("acme_co"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("admin"), Err(SlugError::Reserved("admin".into())));
    }

    #[test]
    fn names_become_slugs() {
        assert_eq!(Slug::from_name("Acme Corp.", None).as_str(), "acme-corp");
        assert_eq!(Slug::from_name("  Ünïcode & Co  ", None).as_str(), "n-code-co");
        assert_eq!(Slug::from_name("Acme", Some("x7k2")).as_str(), "acme-x7k2");
        assert_eq!(Slug::from_name("日本", Some("x7k2")).as_str(), "x7k2");
        assert_eq!(Slug::from_name("ab", None).as_str(), "ab-workspace");
        assert_eq!(Slug::from_name("Admin", None).as_str(), "admin-workspace");
        assert_eq!(Slug::from_name("!!!", None).as_str(), "workspace");
        let long = Slug::from_name(&"word ".repeat(30), Some("abcd"));
        assert!(long.as_str().len() <= 40 && long.as_str().ends_with("-abcd"), "{long}");
    }

    #[test]
    fn every_generated_slug_is_valid() {
        for name in ["a", "--", "x y z", "Ünïcode", "12", "api", "hooks-test", &"é".repeat(80)] {
            for suffix in [None, Some("q1w2")] {
                let slug = Slug::from_name(name, suffix);
                assert_eq!(Slug::parse(slug.as_str()), Ok(slug.clone()), "{name:?} {suffix:?}");
            }
        }
    }
}
