//! FakeSmtp against the real mailer, and against a hand-driven SMTP session.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use weft_testkit::FakeSmtp;
use weft_worker::{Email, Mailer};

const FROM: &str = "Weft <noreply@weft.test>";

#[tokio::test]
async fn mailer_smtp_delivers_to_fake_smtp_with_subject_recipient_text_and_html() {
    let smtp = FakeSmtp::start().await;
    let mailer = Mailer::smtp(&smtp.url(), FROM).expect("smtp mailer");
    // Long enough to be folded by quoted-printable, and non-ASCII so decoding matters.
    let link = format!("https://weft.test/confirm?token={}", "a1B2-c3_".repeat(12));
    let email = Email {
        to: "Ada Lovelace <ada@example.com>".to_owned(),
        subject: "Bestätige deine Adresse – Weft".to_owned(),
        text: format!("Grüße, Ada!\n.a line that starts with a dot\nConfirm: {link}\n"),
        html: format!("<p>Grüße, Ada!</p><p><a href=\"{link}\">Confirm</a></p>"),
    };

    mailer.send(email).await.expect("send over SMTP");
    let mail = smtp.next_message().await;

    assert_eq!(mail.from, "noreply@weft.test");
    assert_eq!(mail.to, vec!["ada@example.com".to_owned()]);
    assert!(mail.raw.contains("ada@example.com"), "{}", mail.raw);
    assert_eq!(mail.subject(), "Bestätige deine Adresse – Weft");
    let text = mail.text_body();
    assert!(text.contains("Grüße, Ada!"), "{text}");
    assert!(text.lines().any(|line| line == ".a line that starts with a dot"), "{text}");
    let html = mail.html_body();
    assert!(html.contains(&format!("<a href=\"{link}\">Confirm</a>")), "{html}");
    assert_eq!(mail.link_starting_with("https://weft.test/confirm").as_deref(), Some(link.as_str()));
}

#[tokio::test]
async fn concurrent_senders_all_arrive() {
    let smtp = FakeSmtp::start().await;
    let mailer = Mailer::smtp(&smtp.url(), FROM).expect("smtp mailer");
    // Separate tasks, so the connections really are open at the same time.
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..5 {
        let mailer = mailer.clone();
        sends.spawn(async move {
            mailer
                .send(Email {
                    to: format!("user{i}@example.com"),
                    subject: format!("Message {i}"),
                    text: "text".to_owned(),
                    html: "<p>html</p>".to_owned(),
                })
                .await
        });
    }
    while let Some(result) = sends.join_next().await {
        result.expect("send task").expect("send");
    }
    let mut subjects = Vec::new();
    for _ in 0..5 {
        subjects.push(smtp.next_message().await.subject());
    }
    subjects.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("Message {i}")).collect();
    assert_eq!(subjects, expected);
}

/// A hand-driven client: one line out, one reply (possibly multi-line) back.
struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(url: &str) -> Client {
        let addr = url.strip_prefix("smtp://").expect("smtp:// URL");
        let (read, write) = TcpStream::connect(addr).await.expect("connect").into_split();
        Client { reader: BufReader::new(read), writer: write }
    }

    /// Reads one reply; multi-line replies are joined with '\n'.
    async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.expect("read reply");
            assert!(line.ends_with("\r\n"), "reply line not CRLF-terminated: {line:?}");
            let line = line.trim_end().to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    async fn send(&mut self, line: &str) -> String {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).await.expect("write command");
        self.reply().await
    }
}

#[tokio::test]
async fn speaks_the_smtp_subset_by_hand() {
    let smtp = FakeSmtp::start().await;
    let mut client = Client::connect(&smtp.url()).await;

    assert!(client.reply().await.starts_with("220 "));
    let ehlo = client.send("EHLO client.test").await;
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    assert!(ehlo.lines().last().is_some_and(|l| l.starts_with("250 ")), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"), "{ehlo}");

    assert!(client.send("NOOP").await.starts_with("250 "));
    assert!(client.send("STARTTLS").await.starts_with("502 "));
    assert!(client.send("VRFY ada").await.starts_with("502 "));
    assert!(client.send("DATA").await.starts_with("503 "));
    assert!(client.send("RCPT TO:<ada@example.com>").await.starts_with("503 "));
    assert!(client.send("mail from:<a@weft.test>").await.starts_with("250 "));
    assert!(client.send("RSET").await.starts_with("250 "));
    assert!(client.send("MAIL FROM:<b@weft.test>").await.starts_with("250 "));
    assert!(client.send("RCPT TO:<c@example.com>").await.starts_with("250 "));
    assert!(client.send("RCPT TO:<d@example.com>").await.starts_with("250 "));
    assert!(client.send("DATA").await.starts_with("354 "));
    let queued = client.send("Subject: by hand\r\n\r\n..dot-stuffed\r\nend\r\n.").await;
    assert!(queued.starts_with("250 "), "{queued}");
    assert!(client.send("QUIT").await.starts_with("221 "));

    let mail = smtp.next_message().await;
    assert_eq!(mail.from, "b@weft.test", "RSET dropped the first sender");
    assert_eq!(mail.to, vec!["c@example.com", "d@example.com"]);
    assert_eq!(mail.raw, "Subject: by hand\r\n\r\n.dot-stuffed\r\nend\r\n");
    assert_eq!(mail.subject(), "by hand");
}

#[tokio::test]
async fn dropping_fake_smtp_stops_the_server() {
    let smtp = FakeSmtp::start().await;
    let url = smtp.url();
    let addr = url.strip_prefix("smtp://").expect("smtp:// URL").to_owned();
    let mut open = Client::connect(&url).await;
    assert!(open.reply().await.starts_with("220 "));

    drop(smtp);

    // Aborting takes effect once the runtime next polls the server task.
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "FakeSmtp still accepts connections after drop");

    // The session that was open is closed too.
    let mut rest = String::new();
    let read = tokio::time::timeout(Duration::from_secs(1), open.reader.read_line(&mut rest))
        .await
        .expect("open session closed promptly");
    assert_eq!(read.expect("read"), 0, "got {rest:?}");
}
