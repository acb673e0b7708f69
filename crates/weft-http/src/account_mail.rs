//! The account emails: address verification, password reset and workspace invitations. Plain text plus HTML, links
//! built on the public base URL.

use weft_worker::Email;

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn compose(to: &str, subject: &str, greeting_name: &str, intro: &str, action: &str, link: &str, outro: &str) -> Email {
    let text = format!("Hello {greeting_name},\n\n{intro}\n\n{link}\n\n{outro}\n\n— Weft\n");
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">\
         <p>Hello {name},</p><p>{intro}</p>\
         <p><a href=\"{link}\" style=\"display:inline-block;padding:8px 16px;background:#4f46e5;color:#fff;\
         border-radius:6px;text-decoration:none\">{action}</a></p>\
         <p style=\"color:#555\">Or paste this address into your browser:<br>{link}</p><p>{outro}</p><p>— Weft</p>\
         </body></html>",
        name = escape_html(greeting_name),
        intro = escape_html(intro),
        action = escape_html(action),
        link = escape_html(link),
        outro = escape_html(outro),
    );
    Email { to: to.to_owned(), subject: subject.to_owned(), text, html }
}

pub fn verification(public_url: &str, to: &str, name: &str, token: &str) -> Email {
    compose(
        to,
        "Verify your email address for Weft",
        name,
        "Please confirm that this is your email address by opening the link below. It is valid for 24 hours.",
        "Verify email address",
        &format!("{public_url}/verify-email?token={token}"),
        "If you did not create a Weft account, you can ignore this message.",
    )
}

pub fn password_reset(public_url: &str, to: &str, name: &str, token: &str) -> Email {
    compose(
        to,
        "Reset your Weft password",
        name,
        "Someone asked to reset the password of your Weft account. Open the link below to choose a new one. \
         It is valid for one hour and works once.",
        "Choose a new password",
        &format!("{public_url}/reset-password?token={token}"),
        "If you did not ask for this, ignore this message: your password stays as it is.",
    )
}

pub fn invitation(public_url: &str, to: &str, workspace: &str, inviter: &str, role: &str, token: &str) -> Email {
    compose(
        to,
        &format!("You are invited to {workspace} on Weft"),
        to,
        &format!(
            "{inviter} invited you to join the workspace \"{workspace}\" on Weft as {role}. Open the link below \
             and sign in (or create an account) with this email address. The invitation is valid for 7 days."
        ),
        "Accept the invitation",
        &format!("{public_url}/invitations/{token}"),
        "If you did not expect this, you can ignore this message.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_the_public_url_and_names_are_escaped_in_html() {
        let mail = verification("https://weft.example", "a@b.io", "<Ada>", "tok123");
        assert!(mail.text.contains("https://weft.example/verify-email?token=tok123"));
        assert!(mail.html.contains("&lt;Ada&gt;") && !mail.html.contains("<Ada>"));
    }
}
