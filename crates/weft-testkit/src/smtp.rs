//! A real, minimal SMTP server (a subset of RFC 5321) for tests: the code under
//! test talks SMTP over TCP exactly as it would in production, and the test reads
//! what arrived.
//!
//! No TLS and no AUTH are offered, so it pairs with a plain `smtp://127.0.0.1:PORT`
//! transport. 8BITMIME and SMTPUTF8 are advertised because lettre refuses to send
//! non-ASCII mail to a server that lacks them.

use std::net::SocketAddr;
use std::time::Duration;

use mail_parser::{MessageParser, PartType};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};

/// How long [`FakeSmtp::next_message`] waits before failing the test.
const WAIT: Duration = Duration::from_secs(10);

/// An SMTP listener on 127.0.0.1. The server stops when this is dropped.
pub struct FakeSmtp {
    addr: SocketAddr,
    received: Mutex<mpsc::UnboundedReceiver<ReceivedMail>>,
    server: JoinHandle<()>,
}

/// One message as it arrived: the envelope and the raw DATA, dot-stuffing undone.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub raw: String,
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("FakeSmtp: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("FakeSmtp: local address");
        let (sender, receiver) = mpsc::unbounded_channel();
        let server = tokio::spawn(accept_loop(listener, sender));
        FakeSmtp { addr, received: Mutex::new(receiver), server }
    }

    /// `smtp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Waits up to 10 s for the next message; panics with a clear message on timeout.
    pub async fn next_message(&self) -> ReceivedMail {
        let mut received = self.received.lock().await;
        match tokio::time::timeout(WAIT, received.recv()).await {
            Ok(Some(mail)) => mail,
            Ok(None) => panic!("FakeSmtp at {}: the server stopped", self.addr),
            Err(_) => panic!("FakeSmtp at {}: no message arrived within {} s", self.addr, WAIT.as_secs()),
        }
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open session.
        self.server.abort();
    }
}

async fn accept_loop(listener: TcpListener, sender: mpsc::UnboundedSender<ReceivedMail>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(session(stream, sender.clone()));
                }
                // Usually out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished sessions so the set does not grow for the server's lifetime.
            Some(_) = sessions.join_next() => {}
        }
    }
}

/// The envelope of the transaction in progress.
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

/// Serves one connection until QUIT, EOF or an I/O error. Errors only end this
/// session: the client under test sees a dropped connection and reports it.
async fn session(mut stream: TcpStream, sender: mpsc::UnboundedSender<ReceivedMail>) -> std::io::Result<()> {
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    let mut envelope = Envelope::default();
    writer.write_all(b"220 fakesmtp ESMTP ready\r\n").await?;

    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));

        let reply: &[u8] = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                envelope = Envelope::default();
                b"250-fakesmtp greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP\r\n"
            }
            "HELO" => {
                envelope = Envelope::default();
                b"250 fakesmtp\r\n"
            }
            "MAIL" => match (&envelope.from, path_argument(argument, "FROM:")) {
                (Some(_), _) => b"503 5.5.1 Nested MAIL command\r\n",
                (None, Some(from)) => {
                    envelope.from = Some(from);
                    b"250 2.1.0 OK\r\n"
                }
                (None, None) => b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" => match (&envelope.from, path_argument(argument, "TO:")) {
                (None, _) => b"503 5.5.1 Need MAIL before RCPT\r\n",
                (Some(_), Some(to)) => {
                    envelope.to.push(to);
                    b"250 2.1.5 OK\r\n"
                }
                (Some(_), None) => b"501 5.5.4 Syntax: RCPT TO:<address>\r\n",
            },
            "DATA" => {
                if envelope.to.is_empty() {
                    b"503 5.5.1 Need RCPT before DATA\r\n"
                } else {
                    writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let raw = read_data(&mut reader).await?;
                    let done = std::mem::take(&mut envelope);
                    // The test may have stopped listening; the reply is the same either way.
                    let _ = sender.send(ReceivedMail { from: done.from.unwrap_or_default(), to: done.to, raw });
                    b"250 2.0.0 OK: queued\r\n"
                }
            }
            "RSET" => {
                envelope = Envelope::default();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                writer.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 Command not implemented\r\n",
        };
        writer.write_all(reply).await?;
    }
}

/// The address in `FROM:<address> PARAMS` or `TO:<address> PARAMS`; `keyword`
/// matches case-insensitively. Parameters such as `BODY=8BITMIME` are ignored.
fn path_argument(argument: &str, keyword: &str) -> Option<String> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let path = argument[keyword.len()..].trim_start().strip_prefix('<')?;
    let end = path.find('>')?;
    Some(path[..end].to_owned())
}

/// Reads DATA lines up to the lone `.` line and undoes dot-stuffing
/// (RFC 5321 section 4.5.2). Line endings are kept as sent.
async fn read_data<R>(reader: &mut R) -> std::io::Result<String>
where
    R: AsyncBufReadExt + Unpin,
{
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(String::from_utf8_lossy(&data).into_owned());
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(unstuffed);
    }
}

impl ReceivedMail {
    /// The decoded Subject header.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_else(|| panic!("received mail has no Subject:\n{}", self.raw)).to_owned()
    }

    /// The decoded text/plain part.
    pub fn text_body(&self) -> String {
        self.body_part(|body| match body {
            PartType::Text(text) => Some(text.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("received mail has no text/plain part:\n{}", self.raw))
    }

    /// The decoded text/html part.
    pub fn html_body(&self) -> String {
        self.body_part(|body| match body {
            PartType::Html(html) => Some(html.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("received mail has no text/html part:\n{}", self.raw))
    }

    /// First URL in the text body that starts with `prefix`.
    pub fn link_starting_with(&self, prefix: &str) -> Option<String> {
        let text = self.text_body();
        let start = text.find(prefix)?;
        let rest = &text[start..];
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'')).unwrap_or(rest.len());
        // Sentence punctuation right after a link is not part of it.
        let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        Some(url.to_owned())
    }

    fn parsed(&self) -> mail_parser::Message<'_> {
        MessageParser::default()
            .parse(self.raw.as_bytes())
            .unwrap_or_else(|| panic!("received mail is not a parseable message:\n{}", self.raw))
    }

    /// The first inline body part that `pick` accepts. Only real parts are looked
    /// at: mail-parser's `body_text`/`body_html` would convert one alternative
    /// into the other and hide a missing part.
    fn body_part(&self, pick: impl Fn(&PartType<'_>) -> Option<String>) -> Option<String> {
        let message = self.parsed();
        message
            .text_body
            .iter()
            .chain(&message.html_body)
            .filter_map(|&id| message.part(id))
            .find_map(|part| pick(&part.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_argument_reads_the_address_and_ignores_parameters() {
        assert_eq!(path_argument("FROM:<a@b.test> BODY=8BITMIME SMTPUTF8", "FROM:").as_deref(), Some("a@b.test"));
        assert_eq!(path_argument("to: <c@d.test>", "TO:").as_deref(), Some("c@d.test"));
        assert_eq!(path_argument("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_argument("FROM:a@b.test", "FROM:"), None);
        assert_eq!(path_argument("TO:<a@b.test>", "FROM:"), None);
        assert_eq!(path_argument("", "FROM:"), None);
    }

    #[tokio::test]
    async fn read_data_stops_at_the_dot_line_and_unstuffs() {
        let input: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\nplain\r\n.\r\nNOOP\r\n";
        let mut reader = BufReader::new(input);
        let data = read_data(&mut reader).await.expect("data");
        assert_eq!(data, "Subject: x\r\n\r\n.leading dot\r\nplain\r\n");
        let mut next = String::new();
        reader.read_line(&mut next).await.expect("next line");
        assert_eq!(next, "NOOP\r\n");
    }

    #[test]
    fn link_starting_with_finds_the_link_and_drops_trailing_punctuation() {
        let mail = ReceivedMail {
            from: String::new(),
            to: Vec::new(),
            raw: "Subject: hi\r\nContent-Type: text/plain\r\n\r\n\
                  See https://x.test/a. Reset at https://x.test/reset?t=abc_-1.\r\n"
                .to_owned(),
        };
        assert_eq!(mail.link_starting_with("https://x.test/reset").as_deref(), Some("https://x.test/reset?t=abc_-1"));
        assert_eq!(mail.link_starting_with("https://y.test"), None);
    }
}
