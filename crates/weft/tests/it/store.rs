//! Store conformance: the same behaviour from both backends.

use weft_domain::AuditAction;
use weft_domain::token::hash_presented;
use weft_domain::{EmailAddress, OpaqueToken, PasswordHash, SessionId, UserId};
use weft_store::{
    EmailTokenPurpose, NewEmailToken, NewSession, NewUser, Origin, PageRequest, RefreshOutcome, Store, StoreError, User,
};
use weft_testkit::{TestDb, backend_test};

/// A cheap stand-in hash: these tests are about storage, not Argon2's cost.
fn some_hash() -> PasswordHash {
    PasswordHash::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into())
}

async fn user(store: &Store, email: &str) -> User {
    let email = EmailAddress::parse(email).unwrap();
    store
        .create_user(
            NewUser { email: &email, name: "Ada", password_hash: &some_hash(), is_operator: false },
            &Origin::default(),
        )
        .await
        .unwrap()
        .0
}

async fn session(store: &Store, user: &UserId, refresh: &OpaqueToken) -> SessionId {
    session_lasting(store, user, refresh, 60_000).await
}

async fn session_lasting(store: &Store, user: &UserId, refresh: &OpaqueToken, lifetime_ms: i64) -> SessionId {
    store
        .create_session(NewSession {
            user_id: user,
            refresh_token_hash: &refresh.hash(),
            lifetime_ms,
            ip: Some("127.0.0.1"),
            user_agent: Some("tests"),
        })
        .await
        .unwrap()
        .id
}

backend_test! {
    async fn migrations_are_current_after_migrate_and_idempotent(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        assert!(store.migrations_current().await.unwrap());
        store.migrate().await.expect("a second migrate is a no-op");
        store.ping().await.unwrap();
    }
}

backend_test! {
    async fn duplicate_email_is_a_conflict_decided_by_the_database(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let first = user(&store, "ada@example.com").await;
        assert!(first.id.as_str().starts_with("usr_"));
        let email = EmailAddress::parse("ADA@example.com").unwrap();
        let again = store
            .create_user(NewUser { email: &email, name: "Other", password_hash: &some_hash(), is_operator: true }, &Origin::default())
            .await;
        assert!(matches!(again, Err(StoreError::Conflict { .. })), "{again:?}");
    }
}

backend_test! {
    async fn users_round_trip_with_credentials_and_operator_flag(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let email = EmailAddress::parse("op@example.com").unwrap();
        let created = store
            .create_user(NewUser { email: &email, name: "Op", password_hash: &some_hash(), is_operator: true }, &Origin::default())
            .await
            .unwrap()
            .0;
        assert!(created.is_operator);
        assert_eq!(store.user(&created.id).await.unwrap(), created);
        let (found, hash) = store.user_credentials(&email).await.unwrap().expect("credentials");
        assert_eq!((found, hash), (created.clone(), some_hash()));
        assert!(store.user_credentials(&EmailAddress::parse("nobody@example.com").unwrap()).await.unwrap().is_none());
        assert!(matches!(store.user(&UserId::generate()).await, Err(StoreError::NotFound)));
        let renamed = store.rename_user(&created.id, "Operator", &Origin::default()).await.unwrap();
        assert_eq!(renamed.name, "Operator");
        assert!(renamed.updated_at >= created.updated_at);
    }
}

backend_test! {
    async fn refresh_rotation_spends_tokens_and_reuse_revokes_the_session(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let first = OpaqueToken::generate();
        let sid = session(&store, &ada.id, &first).await;
        assert_eq!(store.session_user(&sid).await.unwrap().map(|u| u.id), Some(ada.id.clone()));

        let second = OpaqueToken::generate();
        let outcome = store.rotate_refresh_token(&first.hash(), &second.hash(), &Origin::default()).await.unwrap();
        assert_eq!(outcome, RefreshOutcome::Rotated { session: sid.clone(), user: ada.id.clone() });

        let third = OpaqueToken::generate();
        let replay = store.rotate_refresh_token(&first.hash(), &third.hash(), &Origin::default()).await.unwrap();
        assert_eq!(replay, RefreshOutcome::Reused);
        assert!(store.session_user(&sid).await.unwrap().is_none(), "the whole session is revoked");
        let after = store.rotate_refresh_token(&second.hash(), &third.hash(), &Origin::default()).await.unwrap();
        assert_eq!(after, RefreshOutcome::Invalid, "even the newest token of a revoked session is dead");
        let unknown = store.rotate_refresh_token(&hash_presented("never issued"), &third.hash(), &Origin::default()).await.unwrap();
        assert_eq!(unknown, RefreshOutcome::Invalid);
    }
}

backend_test! {
    async fn concurrent_presentations_of_one_refresh_token_rotate_at_most_once(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let token = OpaqueToken::generate();
        session(&store, &ada.id, &token).await;
        let attempts = (0..6).map(|_| {
            let (store, presented) = (store.clone(), token.hash());
            tokio::spawn(async move { store.rotate_refresh_token(&presented, &OpaqueToken::generate().hash(), &Origin::default()).await })
        });
        let mut rotated = 0;
        for attempt in attempts {
            if let RefreshOutcome::Rotated { .. } = attempt.await.unwrap().unwrap() {
                rotated += 1;
            }
        }
        assert_eq!(rotated, 1);
    }
}

backend_test! {
    async fn expired_sessions_are_not_live(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let token = OpaqueToken::generate();
        let sid = session_lasting(&store, &ada.id, &token, -1).await;
        assert!(store.session_user(&sid).await.unwrap().is_none());
        assert!(store.active_sessions(&ada.id, PageRequest { limit: 50, after: None }).await.unwrap().items.is_empty());
        let outcome = store.rotate_refresh_token(&token.hash(), &OpaqueToken::generate().hash(), &Origin::default()).await.unwrap();
        assert_eq!(outcome, RefreshOutcome::Invalid);
    }
}

backend_test! {
    async fn sessions_are_revoked_only_by_their_owner(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let bob = user(&store, "bob@example.com").await;
        let ada_session = session(&store, &ada.id, &OpaqueToken::generate()).await;
        assert!(!store.revoke_session(&bob.id, &ada_session, &Origin::default(), AuditAction::SessionRevoked).await.unwrap());
        assert_eq!(store.active_sessions(&ada.id, PageRequest { limit: 50, after: None }).await.unwrap().items.len(), 1);
        assert!(store.revoke_session(&ada.id, &ada_session, &Origin::default(), AuditAction::SessionRevoked).await.unwrap());
        assert!(!store.revoke_session(&ada.id, &ada_session, &Origin::default(), AuditAction::SessionRevoked).await.unwrap(), "already revoked");
        assert!(store.active_sessions(&ada.id, PageRequest { limit: 50, after: None }).await.unwrap().items.is_empty());
    }
}

backend_test! {
    async fn password_change_keeps_only_the_current_session(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let keep = session(&store, &ada.id, &OpaqueToken::generate()).await;
        let other = session(&store, &ada.id, &OpaqueToken::generate()).await;
        let new_hash = PasswordHash::from_stored("new".into());
        store.change_password(&ada.id, &new_hash, &keep, &Origin::default()).await.unwrap();
        assert_eq!(store.password_hash(&ada.id).await.unwrap(), new_hash);
        assert!(store.session_user(&keep).await.unwrap().is_some());
        assert!(store.session_user(&other).await.unwrap().is_none());
    }
}

async fn email_token(store: &Store, user: &User, purpose: EmailTokenPurpose, lifetime_ms: i64) -> OpaqueToken {
    let token = OpaqueToken::generate();
    store
        .create_email_token(NewEmailToken {
            user_id: &user.id,
            purpose,
            email: &user.email,
            token_hash: &token.hash(),
            lifetime_ms,
        })
        .await
        .unwrap();
    token
}

backend_test! {
    async fn email_verification_tokens_are_single_use_and_expire(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let expired = email_token(&store, &ada, EmailTokenPurpose::VerifyEmail, -1).await;
        assert!(store.verify_email(&expired.hash(), &Origin::default()).await.unwrap().is_none());
        let reset = email_token(&store, &ada, EmailTokenPurpose::ResetPassword, 60_000).await;
        assert!(store.verify_email(&reset.hash(), &Origin::default()).await.unwrap().is_none(), "purposes do not mix");

        let token = email_token(&store, &ada, EmailTokenPurpose::VerifyEmail, 60_000).await;
        let verified = store.verify_email(&token.hash(), &Origin::default()).await.unwrap().expect("verified");
        assert!(verified.email_verified_at.is_some());
        assert!(store.verify_email(&token.hash(), &Origin::default()).await.unwrap().is_none(), "single use");
    }
}

backend_test! {
    async fn password_reset_spends_the_token_and_revokes_every_session(backend) {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let ada = user(&store, "ada@example.com").await;
        let sid = session(&store, &ada.id, &OpaqueToken::generate()).await;
        let token = email_token(&store, &ada, EmailTokenPurpose::ResetPassword, 60_000).await;
        let new_hash = PasswordHash::from_stored("reset".into());
        assert_eq!(store.reset_password(&token.hash(), &new_hash, &Origin::default()).await.unwrap(), Some(ada.id.clone()));
        assert_eq!(store.password_hash(&ada.id).await.unwrap(), new_hash);
        assert!(store.session_user(&sid).await.unwrap().is_none());
        assert_eq!(store.reset_password(&token.hash(), &some_hash(), &Origin::default()).await.unwrap(), None, "single use");
        assert_eq!(store.password_hash(&ada.id).await.unwrap(), new_hash);
    }
}
