use std::path::Path;

use mail_parser::{MessageParser, PartType};

use super::*;

const FROM: &str = "Weft <noreply@weft.test>";

fn email(to: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Confirm your address – Weft".to_owned(),
        text: "Hello Ada,\nconfirm here: https://weft.test/confirm?token=abc\n".to_owned(),
        html: "<p>Hello Ada,</p><p><a href=\"https://weft.test/confirm?token=abc\">Confirm</a></p>".to_owned(),
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("outbox dir exists").map(|entry| entry.expect("dir entry").path()).collect();
    files.sort();
    files
}

#[tokio::test]
async fn outbox_writes_a_parseable_eml_with_both_parts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("outbox"); // does not exist yet
    let mailer = Mailer::outbox(dir.clone(), FROM).expect("outbox mailer");
    assert_eq!(mailer.kind(), "outbox");

    mailer.send(email("Ada <ada@example.com>")).await.expect("send to outbox");

    let files = files_in(&dir);
    assert_eq!(files.len(), 1, "exactly one file, no leftovers: {files:?}");
    let name = files[0].file_name().and_then(|n| n.to_str()).expect("utf-8 name");
    let (stamp, rest) = name.split_once('-').expect("<timestamp>-<ulid>.eml");
    assert!(stamp.len() == 13 && stamp.bytes().all(|b| b.is_ascii_digit()), "{name}");
    let ulid = rest.strip_suffix(".eml").expect(".eml suffix");
    assert!(ulid.parse::<ulid::Ulid>().is_ok(), "{name}");

    let raw = std::fs::read(&files[0]).expect("read eml");
    let message = MessageParser::default().parse(&raw).expect("parseable eml");
    assert_eq!(message.subject(), Some("Confirm your address – Weft"));
    let to = message.to().and_then(|to| to.first()).and_then(|addr| addr.address()).expect("To address");
    assert_eq!(to, "ada@example.com");
    let from = message.from().and_then(|from| from.first()).and_then(|addr| addr.address()).expect("From address");
    assert_eq!(from, "noreply@weft.test");

    let text = message.text_part(0).map(|part| &part.body).expect("text part");
    let html = message.html_part(0).map(|part| &part.body).expect("html part");
    match (text, html) {
        (PartType::Text(text), PartType::Html(html)) => {
            assert!(text.contains("https://weft.test/confirm?token=abc"), "{text}");
            assert!(html.contains("<a href=\"https://weft.test/confirm?token=abc\">"), "{html}");
        }
        other => panic!("expected text/plain and text/html parts, got {other:?}"),
    }
}

#[tokio::test]
async fn each_message_gets_its_own_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mailer = Mailer::outbox(tmp.path().to_owned(), FROM).expect("outbox mailer");
    for _ in 0..3 {
        mailer.send(email("ada@example.com")).await.expect("send");
    }
    assert_eq!(files_in(tmp.path()).len(), 3);
}

#[test]
fn invalid_from_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for from in ["", "not an address", "Weft <noreply@>"] {
        let outbox = Mailer::outbox(tmp.path().to_owned(), from);
        assert!(matches!(outbox, Err(MailError::InvalidAddress(ref a, _)) if a == from), "{from:?}: {outbox:?}");
        let smtp = Mailer::smtp("smtp://127.0.0.1:2525", from);
        assert!(matches!(smtp, Err(MailError::InvalidAddress(..))), "{from:?}: {smtp:?}");
    }
}

#[tokio::test]
async fn invalid_to_is_an_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mailer = Mailer::outbox(tmp.path().to_owned(), FROM).expect("outbox mailer");
    for to in ["", "ada", "ada@example.com, bob@example.com"] {
        let result = mailer.send(email(to)).await;
        assert!(matches!(result, Err(MailError::InvalidAddress(ref a, _)) if a == to), "{to:?}: {result:?}");
    }
    assert!(files_in(tmp.path()).is_empty());
}

#[test]
fn smtp_urls_lettre_understands_are_accepted() {
    for url in [
        "smtp://127.0.0.1:2525",
        "smtp://mail.example.com:587?tls=required",
        "smtps://user:secret@mail.example.com:465",
    ] {
        let mailer = Mailer::smtp(url, FROM).unwrap_or_else(|err| panic!("{url}: {err}"));
        assert_eq!(mailer.kind(), "smtp");
    }
}

#[test]
fn bad_smtp_url_is_an_error_without_the_url_in_it() {
    for url in ["", "mail.example.com", "http://user:secret@mail.example.com"] {
        let result = Mailer::smtp(url, FROM);
        let Err(err @ MailError::InvalidUrl(_)) = result else {
            panic!("{url:?}: expected InvalidUrl, got {result:?}");
        };
        assert!(!err.to_string().contains("secret"));
    }
}

#[tokio::test]
async fn unreachable_smtp_server_is_an_error() {
    // Take a free port and release it, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), FROM).expect("smtp mailer");
    let result = mailer.send(email("ada@example.com")).await;
    assert!(matches!(result, Err(MailError::Smtp(_))), "{result:?}");
}
