//! The account pages mails link to, over HTTP: forgot and reset password, verify email, and
//! sending the verification mail again.

use weft_testkit::ui::csrf_of;
use weft_testkit::{TEST_PASSWORD, TestApp, UiSession, backend_test};

/// The path of a mailed link to the test app.
fn local(link: &str) -> &str {
    link.strip_prefix("http://weft.test").expect("a link to the app")
}

backend_test!(
    async fn a_password_is_reset_through_the_mailed_link(backend) {
        let app = TestApp::spawn(backend).await;
        app.new_verified_user("ada@example.com").await;
        let mut ui = UiSession::anonymous(&app);
        let unknown = ui.submit("/forgot-password", "/forgot-password", &[("email", "nobody@example.com")]).await;
        let asked = ui.submit("/forgot-password", "/forgot-password", &[("email", "ada@example.com")]).await;
        assert_eq!((asked.status, unknown.status), (200, 200));
        let answer = |body: &str| body.split("Check your mail.").nth(1).map(|rest| rest.contains("has a Weft account"));
        assert_eq!(answer(&asked.body), Some(true), "{}", asked.body);
        assert_eq!(answer(&unknown.body), Some(true), "the same answer either way");

        let mail = app.smtp.next_message().await;
        let link = mail.link_starting_with("http://weft.test/reset-password?token=").expect("reset link");
        let token = link.rsplit('=').next().expect("token");
        let short = ui.submit(local(&link), "/reset-password", &[("token", token), ("password", "short")]).await;
        assert_eq!(short.status, 422);
        assert!(short.body.contains("password-error"), "{}", short.body);
        let new_password = "another perfectly fine passphrase";
        let reset = ui.submit(local(&link), "/reset-password", &[("token", token), ("password", new_password)]).await;
        assert_eq!((reset.status, reset.location.as_deref()), (303, Some("/login")));
        let again = ui.submit(local(&link), "/reset-password", &[("token", token), ("password", new_password)]).await;
        assert_eq!(again.status, 422, "the link works once");
        assert!(again.body.contains("token-error"), "{}", again.body);

        let old = ui.submit("/login", "/login", &[("email", "ada@example.com"), ("password", TEST_PASSWORD)]).await;
        assert_eq!(old.status, 401, "the old password is gone");
        UiSession::sign_in(&app, "ada@example.com", new_password).await;
    }
);

backend_test!(
    async fn an_address_is_verified_by_a_button_behind_the_mailed_link(backend) {
        let app = TestApp::spawn(backend).await;
        let mut ui = UiSession::anonymous(&app);
        let fields = [("name", "Ada"), ("email", "ada@example.com"), ("password", TEST_PASSWORD)];
        assert_eq!(ui.submit("/signup", "/signup", &fields).await.status, 303);
        app.smtp.next_message().await;
        let home = first_workspace(&mut ui).await;
        let dashboard = ui.get(&home).await;
        assert!(dashboard.body.contains("verify-banner"), "{}", dashboard.body);

        let csrf = csrf_of(&dashboard.body).expect("token");
        let resent = ui.post_form("/verify-email/resend", &csrf, &[]).await;
        assert_eq!(resent.status, 303);
        let mail = app.smtp.next_message().await;
        let link = mail.link_starting_with("http://weft.test/verify-email?token=").expect("verification link");
        let token = link.rsplit('=').next().expect("token");

        let opened = ui.get(local(&link)).await;
        assert_eq!(opened.status, 200);
        assert!(opened.body.contains("id=\"verify-email\""), "a button, not a verification: {}", opened.body);
        let verified = ui.post_form("/verify-email", &csrf_of(&opened.body).expect("token"), &[("token", token)]).await;
        assert_eq!(verified.status, 200);
        assert!(verified.body.contains("Your address is verified"), "{}", verified.body);
        let user = app.store.user_by_email(&weft_domain::EmailAddress::parse("ada@example.com").expect("email")).await.expect("read");
        assert!(user.expect("account").email_verified_at.is_some());
        let spent = ui.post_form("/verify-email", &csrf_of(&opened.body).expect("token"), &[("token", token)]).await;
        assert_eq!(spent.status, 422);
        let again = ui.get(&home).await;
        assert!(!again.body.contains("verify-banner"), "the banner is gone");
    }
);

/// The dashboard path the front door leads to.
async fn first_workspace(ui: &mut UiSession<'_>) -> String {
    ui.get("/").await.location.expect("the front door redirects")
}
