//! Registration, login, tokens, throttling, email verification and password reset.

use serde_json::{Value, json};
use weft_domain::OpaqueToken;
use weft_http::{Problem, SessionsOut, TokenKeys, TokensOut, UserOut};
use weft_store::{EmailTokenPurpose, NewEmailToken};
use weft_testkit::{TEST_PASSWORD, TEST_SECRET_KEY, TestApp, backend_test, expect_status};

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post("/api/v1/auth/login", None, &json!({"email": email, "password": password})).await
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", Some(token)).await.status().as_u16()
}

backend_test! {
    async fn registration_normalises_the_email_and_refuses_duplicates(backend) {
        let app = TestApp::spawn(backend).await;
        let body = json!({"email": "  Ada@Example.COM ", "password": TEST_PASSWORD, "name": " Ada "});
        let user: UserOut = expect_status(app.post("/api/v1/auth/register", None, &body).await, 201).await;
        assert_eq!((user.email.as_str(), user.name.as_str(), user.email_verified), ("ada@example.com", "Ada", false));
        assert!(user.id.starts_with("usr_"));

        let again = json!({"email": "ada@example.com", "password": TEST_PASSWORD, "name": "Imposter"});
        let p: Problem = expect_status(app.post("/api/v1/auth/register", None, &again).await, 409).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/conflict");
    }
}

backend_test! {
    async fn registration_reports_every_invalid_field(backend) {
        let app = TestApp::spawn(backend).await;
        let body = json!({"email": "not-an-email", "password": "short", "name": "  "});
        let p: Problem = expect_status(app.post("/api/v1/auth/register", None, &body).await, 422).await;
        let pointers: Vec<_> = p.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/email", "/name", "/password"]);

        for (password, why) in [("qwertyuiop", "common"), (&*"p".repeat(129), "long")] {
            let body = json!({"email": "ada@example.com", "password": password, "name": "Ada"});
            let p: Problem = expect_status(app.post("/api/v1/auth/register", None, &body).await, 422).await;
            assert_eq!(p.errors[0].pointer, "/password", "{why}");
        }
    }
}

backend_test! {
    async fn login_issues_a_jwt_and_a_refresh_token(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let tokens: TokensOut = expect_status(login(&app, "ADA@example.com", TEST_PASSWORD).await, 200).await;
        assert_eq!((tokens.token_type.as_str(), tokens.expires_in), ("Bearer", 900));
        assert!(tokens.refresh_token.len() >= 43, "at least 256 bits");

        let claims = TokenKeys::new(TEST_SECRET_KEY.as_bytes()).verify(&tokens.access_token).expect("valid JWT");
        assert_eq!(claims.sub.as_str(), ada.id);
        assert_eq!(claims.aud, "weft");
        assert_eq!(claims.exp - claims.iat, 900);
        assert!(claims.sid.as_str().starts_with("ses_") && !claims.jti.is_empty());
        let me: UserOut = expect_status(app.get("/api/v1/me", Some(&tokens.access_token)).await, 200).await;
        assert_eq!(me.id, ada.id);
    }
}

backend_test! {
    async fn wrong_password_and_unknown_email_look_the_same(backend) {
        let app = TestApp::spawn(backend).await;
        app.new_user("ada@example.com").await;
        let wrong: Problem = expect_status(login(&app, "ada@example.com", "not the password").await, 401).await;
        let unknown: Problem = expect_status(login(&app, "nobody@example.com", TEST_PASSWORD).await, 401).await;
        assert_eq!((wrong.type_uri, wrong.detail), (unknown.type_uri, unknown.detail));
        let response = login(&app, "ada@example.com", "not the password").await;
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }
}

backend_test! {
    async fn five_failures_lock_the_account_and_success_resets_it(backend) {
        let app = TestApp::spawn(backend).await;
        app.new_user("ada@example.com").await;
        for _ in 0..4 {
            assert_eq!(login(&app, "ada@example.com", "wrong password!").await.status(), 401);
        }
        assert_eq!(login(&app, "ada@example.com", TEST_PASSWORD).await.status(), 200, "a success resets");
        for _ in 0..5 {
            assert_eq!(login(&app, "ada@example.com", "wrong password!").await.status(), 401);
        }
        let locked = login(&app, "ada@example.com", TEST_PASSWORD).await;
        assert_eq!(locked.status(), 429, "locked even with the right password");
        let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        let p: Problem = expect_status(locked, 429).await;
        assert_eq!(p.type_uri, "https://weft.dev/problems/rate-limited");
    }
}

backend_test! {
    async fn one_address_guessing_many_accounts_is_locked_out(backend) {
        let app = TestApp::spawn(backend).await;
        app.new_user("ada@example.com").await;
        for n in 0..weft_domain::throttle::IP_FREE_FAILURES {
            assert_eq!(login(&app, &format!("guess{n}@example.com"), "wrong password!").await.status(), 401);
        }
        assert_eq!(login(&app, "ada@example.com", TEST_PASSWORD).await.status(), 429, "throttled by IP");
    }
}

backend_test! {
    async fn refresh_rotates_and_reuse_revokes_the_session(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let app = &app;
        let refresh = |token: String| async move {
            app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": token})).await
        };

        let rotated: TokensOut = expect_status(refresh(ada.refresh_token.clone()).await, 200).await;
        assert_ne!(rotated.refresh_token, ada.refresh_token);
        assert_eq!(me_status(app, &rotated.access_token).await, 200);

        let reuse: Problem = expect_status(refresh(ada.refresh_token.clone()).await, 401).await;
        assert!(reuse.detail.contains("already used"), "{}", reuse.detail);
        assert_eq!(me_status(app, &rotated.access_token).await, 401, "the session's access tokens die at once");
        assert_eq!(me_status(app, &ada.access_token).await, 401);
        assert_eq!(refresh(rotated.refresh_token).await.status(), 401, "and so does its newest refresh token");
        assert_eq!(refresh("made-up".into()).await.status(), 401);
    }
}

backend_test! {
    async fn logout_stops_the_access_token_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let other: TokensOut = expect_status(login(&app, &ada.email, TEST_PASSWORD).await, 200).await;
        let response = app.post("/api/v1/auth/logout", Some(&ada.access_token), &json!({})).await;
        assert_eq!(response.status(), 204);
        assert_eq!(me_status(&app, &ada.access_token).await, 401);
        assert_eq!(me_status(&app, &other.access_token).await, 200, "other sessions live on");
        let refresh = app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": ada.refresh_token})).await;
        assert_eq!(refresh.status(), 401);
    }
}

backend_test! {
    async fn expired_forged_and_malformed_access_tokens_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let sessions: SessionsOut = expect_status(app.get("/api/v1/me/sessions", Some(&ada.access_token)).await, 200).await;
        let (user, session) = (ada.id.parse().unwrap(), sessions.items[0].id.parse().unwrap());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;

        let expired = TokenKeys::new(TEST_SECRET_KEY.as_bytes()).issue(&user, &session, now - 901);
        let forged = TokenKeys::new(b"someone else's key, also 32 bytes long").issue(&user, &session, now);
        for token in [expired.as_str(), forged.as_str(), "garbage", ""] {
            assert_eq!(me_status(&app, token).await, 401, "{token:?}");
        }
        let no_header: Problem = expect_status(app.get("/api/v1/me", None).await, 401).await;
        assert!(no_header.detail.contains("Bearer"));
        let basic = app.request(reqwest::Method::GET, "/api/v1/me", None).header("authorization", "Basic abc").send().await;
        assert_eq!(basic.unwrap().status(), 401);
    }
}

backend_test! {
    async fn the_verification_mail_arrives_over_smtp_and_its_link_verifies(backend) {
        let app = TestApp::spawn(backend).await;
        let body = json!({"email": "ada@example.com", "password": TEST_PASSWORD, "name": "Ada"});
        let _: UserOut = expect_status(app.post("/api/v1/auth/register", None, &body).await, 201).await;
        let mail = app.smtp.next_message().await;
        assert_eq!(mail.to, ["ada@example.com"]);
        assert!(mail.subject().contains("Verify"));
        assert!(mail.html_body().contains("http://weft.test/verify-email?token="));
        let link = mail.link_starting_with("http://weft.test/verify-email?token=").expect("link in the text part");
        let token = link.split("token=").nth(1).unwrap();

        let user: UserOut = expect_status(app.post("/api/v1/auth/verify-email", None, &json!({"token": token})).await, 200).await;
        assert!(user.email_verified);
        let reused: Problem = expect_status(app.post("/api/v1/auth/verify-email", None, &json!({"token": token})).await, 422).await;
        assert_eq!(reused.errors[0].pointer, "/token");
        let invalid = app.post("/api/v1/auth/verify-email", None, &json!({"token": "nonsense"})).await;
        assert_eq!(invalid.status(), 422);
    }
}

backend_test! {
    async fn verification_can_be_requested_again_until_verified(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let response = app.post("/api/v1/auth/verify-email/request", Some(&ada.access_token), &json!({})).await;
        assert_eq!(response.status(), 202);
        let mail = app.smtp.next_message().await;
        let link = mail.link_starting_with("http://weft.test/verify-email?token=").unwrap();
        let token = link.split("token=").nth(1).unwrap();
        let _: Value = expect_status(app.post("/api/v1/auth/verify-email", None, &json!({"token": token})).await, 200).await;
        let again = app.post("/api/v1/auth/verify-email/request", Some(&ada.access_token), &json!({})).await;
        assert_eq!(again.status(), 409);
        assert_eq!(app.post("/api/v1/auth/verify-email/request", None, &json!({})).await.status(), 401);
    }
}

backend_test! {
    async fn password_reset_works_once_and_signs_everyone_out(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let unknown = app.post("/api/v1/auth/forgot-password", None, &json!({"email": "nobody@example.com"})).await;
        assert_eq!(unknown.status(), 202, "no account enumeration");
        let malformed = app.post("/api/v1/auth/forgot-password", None, &json!({"email": "nonsense"})).await;
        assert_eq!(malformed.status(), 202);
        let known = app.post("/api/v1/auth/forgot-password", None, &json!({"email": "Ada@Example.com"})).await;
        assert_eq!(known.status(), 202);

        let mail = app.smtp.next_message().await;
        assert_eq!(mail.to, ["ada@example.com"], "only the real account gets mail");
        let link = mail.link_starting_with("http://weft.test/reset-password?token=").expect("reset link");
        let token = link.split("token=").nth(1).unwrap().to_owned();

        for _ in 0..5 {
            assert_eq!(login(&app, &ada.email, "a wrong guess!").await.status(), 401);
        }
        assert_eq!(login(&app, &ada.email, TEST_PASSWORD).await.status(), 429, "locked by guessing");

        let weak = app.post("/api/v1/auth/reset-password", None, &json!({"token": token, "password": "short"})).await;
        assert_eq!(weak.status(), 422);
        let new_password = "a brand new passphrase";
        let reset = app.post("/api/v1/auth/reset-password", None, &json!({"token": token, "password": new_password})).await;
        assert_eq!(reset.status(), 204);
        assert_eq!(me_status(&app, &ada.access_token).await, 401, "sessions are revoked");
        assert_eq!(login(&app, &ada.email, TEST_PASSWORD).await.status(), 401, "the reset lifted the lock");
        assert_eq!(login(&app, &ada.email, new_password).await.status(), 200);
        let again = app.post("/api/v1/auth/reset-password", None, &json!({"token": token, "password": "yet another passphrase"})).await;
        assert_eq!(again.status(), 422, "single use");
    }
}

backend_test! {
    async fn expired_email_links_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let user = app.store.user(&ada.id.parse().unwrap()).await.unwrap();
        for (purpose, path, body) in [
            (EmailTokenPurpose::VerifyEmail, "/api/v1/auth/verify-email", json!({})),
            (EmailTokenPurpose::ResetPassword, "/api/v1/auth/reset-password", json!({"password": "a brand new passphrase"})),
        ] {
            let token = OpaqueToken::generate();
            app.store
                .create_email_token(NewEmailToken {
                    user_id: &user.id,
                    purpose,
                    email: &user.email,
                    token_hash: &token.hash(),
                    lifetime_ms: -1,
                })
                .await
                .unwrap();
            let mut body = body;
            body["token"] = json!(token.expose());
            let p: Problem = expect_status(app.post(path, None, &body).await, 422).await;
            assert_eq!(p.errors[0].pointer, "/token", "{path}");
        }
        assert_eq!(me_status(&app, &ada.access_token).await, 200, "an expired reset link changes nothing");
    }
}
