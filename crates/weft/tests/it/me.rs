//! The signed-in user's account and sessions.

use serde_json::json;
use weft_http::{Problem, SessionsOut, TokensOut, UserOut};
use weft_testkit::{TEST_PASSWORD, TestApp, backend_test, expect_status};

backend_test! {
    async fn me_can_be_read_and_renamed(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let me: UserOut = expect_status(app.get("/api/v1/me", Some(&ada.access_token)).await, 200).await;
        assert_eq!((me.email.as_str(), me.name.as_str()), ("ada@example.com", "Test User"));
        let renamed: UserOut =
            expect_status(app.patch("/api/v1/me", Some(&ada.access_token), &json!({"name": "Ada L."})).await, 200).await;
        assert_eq!(renamed.name, "Ada L.");
        let blank: Problem =
            expect_status(app.patch("/api/v1/me", Some(&ada.access_token), &json!({"name": " "})).await, 422).await;
        assert_eq!(blank.errors[0].pointer, "/name");
        let sneaky = app.patch("/api/v1/me", Some(&ada.access_token), &json!({"email": "x@y.io"})).await;
        assert_eq!(sneaky.status(), 422, "email is not patchable");
    }
}

backend_test! {
    async fn a_password_change_needs_the_current_one_and_ends_other_sessions(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let login = json!({"email": ada.email, "password": TEST_PASSWORD});
        let other: TokensOut = expect_status(app.post("/api/v1/auth/login", None, &login).await, 200).await;

        let missing: Problem =
            expect_status(app.patch("/api/v1/me", Some(&ada.access_token), &json!({"new_password": "another fine passphrase"})).await, 422).await;
        assert_eq!(missing.errors[0].pointer, "/current_password");
        let wrong = json!({"current_password": "not my password", "new_password": "another fine passphrase"});
        let wrong: Problem = expect_status(app.patch("/api/v1/me", Some(&ada.access_token), &wrong).await, 422).await;
        assert_eq!(wrong.errors[0].pointer, "/current_password");
        assert_eq!(app.get("/api/v1/me", Some(&other.access_token)).await.status(), 200, "nothing changed yet");

        let change = json!({"current_password": TEST_PASSWORD, "new_password": "another fine passphrase"});
        let _: UserOut = expect_status(app.patch("/api/v1/me", Some(&ada.access_token), &change).await, 200).await;
        assert_eq!(app.get("/api/v1/me", Some(&ada.access_token)).await.status(), 200, "this session stays");
        assert_eq!(app.get("/api/v1/me", Some(&other.access_token)).await.status(), 401, "others end");
        let relogin = json!({"email": ada.email, "password": "another fine passphrase"});
        assert_eq!(app.post("/api/v1/auth/login", None, &relogin).await.status(), 200);
    }
}

backend_test! {
    async fn sessions_are_listed_and_revocable_by_their_owner_only(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let login = json!({"email": ada.email, "password": TEST_PASSWORD});
        let laptop: TokensOut = expect_status(
            app.request(reqwest::Method::POST, "/api/v1/auth/login", None).header("user-agent", "laptop").json(&login).send().await.unwrap(),
            200,
        )
        .await;

        let sessions: SessionsOut = expect_status(app.get("/api/v1/me/sessions", Some(&ada.access_token)).await, 200).await;
        assert_eq!(sessions.items.len(), 2);
        assert_eq!(sessions.items.iter().filter(|s| s.current).count(), 1);
        let laptop_session = sessions.items.iter().find(|s| s.user_agent.as_deref() == Some("laptop")).expect("laptop");
        assert_eq!(laptop_session.ip.as_deref(), Some("127.0.0.1"));
        assert!(!laptop_session.current);

        let path = format!("/api/v1/me/sessions/{}", laptop_session.id);
        assert_eq!(app.delete(&path, Some(&bob.access_token)).await.status(), 404, "not bob's to revoke");
        assert_eq!(app.get("/api/v1/me", Some(&laptop.access_token)).await.status(), 200);
        assert_eq!(app.delete(&path, Some(&ada.access_token)).await.status(), 204);
        assert_eq!(app.get("/api/v1/me", Some(&laptop.access_token)).await.status(), 401);
        assert_eq!(app.delete(&path, Some(&ada.access_token)).await.status(), 404, "already gone");
        assert_eq!(app.delete("/api/v1/me/sessions/not-an-id", Some(&ada.access_token)).await.status(), 404);
    }
}

backend_test! {
    async fn sessions_record_the_proxy_supplied_address_only_when_the_proxy_is_trusted(backend) {
        for (trust_proxy, expected_ip) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
            let app = TestApp::spawn_with(backend, |config| config.trust_proxy = trust_proxy).await;
            let ada = app.new_user("ada@example.com").await;
            let login = json!({"email": ada.email, "password": TEST_PASSWORD});
            let response = app
                .request(reqwest::Method::POST, "/api/v1/auth/login", None)
                .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
                .json(&login)
                .send()
                .await
                .unwrap();
            let tokens: TokensOut = expect_status(response, 200).await;
            let sessions: SessionsOut =
                expect_status(app.get("/api/v1/me/sessions", Some(&tokens.access_token)).await, 200).await;
            let current = sessions.items.iter().find(|s| s.current).expect("current session");
            assert_eq!(current.ip.as_deref(), Some(expected_ip), "trust_proxy = {trust_proxy}");
        }
    }
}

backend_test! {
    async fn sessions_are_listed_newest_first_a_page_at_a_time(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.new_user("ada@example.com").await;
        let login = json!({"email": ada.email, "password": TEST_PASSWORD});
        for _ in 0..2 {
            let _: TokensOut = expect_status(app.post("/api/v1/auth/login", None, &login).await, 200).await;
        }
        let token = Some(ada.access_token.as_str());
        let first: SessionsOut = expect_status(app.get("/api/v1/me/sessions?limit=2", token).await, 200).await;
        assert_eq!(first.items.len(), 2);
        assert!(first.items[0].id > first.items[1].id, "newest first");
        let cursor = first.next_cursor.expect("a second page");
        let second: SessionsOut =
            expect_status(app.get(&format!("/api/v1/me/sessions?limit=2&cursor={cursor}"), token).await, 200).await;
        assert_eq!(second.items.len(), 1);
        assert!(second.next_cursor.is_none());
        assert!(second.items[0].current, "the oldest is the session of the user's own first login");
        assert!(second.items[0].id < first.items[1].id);
    }
}
