//! `multipart/form-data` bodies (RFC 7578), encoded into bytes here rather than by reqwest's
//! streaming form: the outbound client may send a body again on a redirect, so it must be
//! bytes it can replay.

/// One part: a form field, or a file with its name and MIME type.
pub(super) enum Part {
    Text { name: String, value: String },
    File { name: String, file_name: Option<String>, mime_type: String, bytes: Vec<u8> },
}

/// A body of `parts`, and its `Content-Type` with the boundary.
pub(super) fn encode(parts: &[Part]) -> (Vec<u8>, String) {
    // Random, so no part's content is likely to hold it.
    let boundary = format!("weft-{}", ulid::Ulid::new());
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::Text { name, value } => {
                let head = format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", quoted(name));
                body.extend_from_slice(head.as_bytes());
                body.extend_from_slice(value.as_bytes());
            }
            Part::File { name, file_name, mime_type, bytes } => {
                let mut head = format!("Content-Disposition: form-data; name=\"{}\"", quoted(name));
                if let Some(file_name) = file_name {
                    head.push_str(&format!("; filename=\"{}\"", quoted(file_name)));
                }
                head.push_str(&format!("\r\nContent-Type: {}\r\n\r\n", single_line(mime_type)));
                body.extend_from_slice(head.as_bytes());
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// A name inside a quoted header parameter: quotes and line breaks percent-encoded, as browsers
/// (and the HTML standard's form encoding) do.
fn quoted(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// A header value without the line breaks that would start another header.
fn single_line(value: &str) -> String {
    value.replace(['\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_framed_by_the_boundary_with_their_dispositions() {
        let parts = [
            Part::Text { name: "model".into(), value: "whisper-1".into() },
            Part::File {
                name: "file".into(),
                file_name: Some("a \"b\".mp3".into()),
                mime_type: "audio/mpeg".into(),
                bytes: vec![0, 159, 146, 150],
            },
        ];
        let (body, content_type) = encode(&parts);
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let mut expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.mp3\"\r\n\
             Content-Type: audio/mpeg\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(&[0, 159, 146, 150]);
        expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        assert_eq!(body, expected);
    }

    #[test]
    fn a_name_cannot_break_out_of_its_header() {
        let (body, _) = encode(&[Part::Text { name: "a\r\nX-Evil: 1".into(), value: String::new() }]);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("name=\"a%0D%0AX-Evil: 1\""), "{text}");
    }
}
