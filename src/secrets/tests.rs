use super::*;

fn cas(c: &Credentials) -> Result<(), SecretFormatError> {
    c.cas().map(drop)
}

#[test]
fn a_well_formed_secret_parses() {
    let c =
        Credentials::from_json(r#"{"API_KEY":"key-1","API_SECRET":"secret-1","AIPIX_API_TOKEN":"tok-1"}"#)
            .unwrap();
    let (key, secret) = c.cas().unwrap();
    assert_eq!(key.expose_secret(), "key-1");
    assert_eq!(secret.expose_secret(), "secret-1");
    assert_eq!(c.aipix().unwrap().expose_secret(), "tok-1");
}

#[test]
fn a_secret_with_only_one_providers_fields_serves_that_provider() {
    let c = Credentials::from_json(r#"{"AIPIX_API_TOKEN":"tok-1"}"#).unwrap();
    assert_eq!(c.cas().unwrap_err(), SecretFormatError::Missing("API_KEY"));
    assert!(c.aipix().is_ok());
}

#[test]
fn each_malformation_names_the_field_and_not_the_value() {
    let cases = [
        (r#"{"API_KEY":"k1"}"#, SecretFormatError::Missing("API_SECRET")),
        (r#"{"API_SECRET":"s1"}"#, SecretFormatError::Missing("API_KEY")),
        (
            r#"{"API_KEY":"","API_SECRET":"s1"}"#,
            SecretFormatError::Empty("API_KEY"),
        ),
        (
            r#"{"API_KEY":"k1","API_SECRET":7}"#,
            SecretFormatError::Empty("API_SECRET"),
        ),
        (
            r#"{"API_KEY":"k 1","API_SECRET":"s1"}"#,
            SecretFormatError::NotHeaderSafe("API_KEY"),
        ),
        (
            r#"["k1","s1"]"#,
            SecretFormatError::NotJson { line: 1, column: 1 },
        ),
    ];
    for (json, expected) in cases {
        let e = Credentials::from_json(json)
            .and_then(|c| c.cas().map(drop))
            .unwrap_err();
        assert_eq!(e, expected, "{json}");
        let text = e.to_string();
        assert!(!text.contains("k1") && !text.contains("s1"), "{text}");
    }
}

#[test]
fn invalid_json_is_reported_by_position_only() {
    let e = Credentials::from_json(r#"{"API_KEY": hunter2}"#)
        .map(drop)
        .unwrap_err();
    assert!(matches!(e, SecretFormatError::NotJson { line: 1, .. }));
    assert!(!e.to_string().contains("hunter2"));
}

#[test]
fn debug_output_redacts_both_values() {
    let c = Credentials::cas_pair("key-abc", "secret-xyz");
    let printed = format!("{c:?}");
    assert!(
        !printed.contains("key-abc") && !printed.contains("secret-xyz"),
        "{printed}"
    );
}

#[tokio::test]
async fn fixed_credentials_are_available_at_once() {
    let store = Arc::new(CredentialStore::fixed(Credentials::cas_pair("k", "s")));
    let c = store.current(cas).await.unwrap();
    assert_eq!(c.cas().unwrap().0.expose_secret(), "k");
}

mod with_mocked_sdk {
    use super::cas;
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn secret(key: &str) -> GetSecretValueOutput {
        GetSecretValueOutput::builder()
            .secret_string(format!(r#"{{"API_KEY":"{key}","API_SECRET":"s"}}"#))
            .build()
    }

    #[tokio::test]
    async fn a_failed_read_is_retried_only_after_the_spacing() {
        // Arrange: the first read fails, any later one succeeds.
        let missing = mock!(SecretsManagerClient::get_secret_value)
            .sequence()
            .error(|| {
                GetSecretValueError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
            })
            .build();
        let present = mock!(SecretsManagerClient::get_secret_value).then_output(|| secret("k1"));
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&missing, &present]);
        let store = Arc::new(
            CredentialStore::secrets_manager(client, "s").with_retry_spacing(Duration::from_millis(200)),
        );

        // Act + Assert
        store.load().await;
        assert_eq!(missing.num_calls(), 1);
        assert!(matches!(store.current(cas).await, Err(SecretError::Backoff(_))));
        assert_eq!(present.num_calls(), 0, "no read inside the spacing");
        tokio::time::sleep(Duration::from_millis(250)).await;
        let c = store.current(cas).await.unwrap();
        assert_eq!(c.cas().unwrap().0.expose_secret(), "k1");
        assert_eq!(present.num_calls(), 1);
        store.current(cas).await.unwrap();
        assert_eq!(present.num_calls(), 1, "held credentials are not re-read");
    }

    #[tokio::test]
    async fn aged_keys_are_re_read_in_the_background_and_overdue_ones_by_the_request() {
        // Arrange: reads bring k1, k2, k3 in turn; keys age in 200 ms.
        let reads = mock!(SecretsManagerClient::get_secret_value)
            .sequence()
            .output(|| secret("k1"))
            .output(|| secret("k2"))
            .output(|| secret("k3"))
            .build();
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&reads]);
        let store = Arc::new(
            CredentialStore::secrets_manager(client, "s")
                .with_max_age(Duration::from_millis(200))
                .with_retry_spacing(Duration::from_millis(10)),
        );
        let key = |c: Arc<Credentials>| c.cas().unwrap().0.expose_secret().to_owned();
        store.load().await;

        // Act + Assert: young keys are served as they are...
        assert_eq!(key(store.current(cas).await.unwrap()), "k1");
        assert_eq!(reads.num_calls(), 1);
        // ...aged ones too, while a background read brings the next...
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(key(store.current(cas).await.unwrap()), "k1");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(reads.num_calls(), 2);
        assert_eq!(key(store.current(cas).await.unwrap()), "k2");
        // ...and keys twice past their age (the background read did not
        // land) are read again by the request itself.
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(key(store.current(cas).await.unwrap()), "k3");
        assert_eq!(reads.num_calls(), 3);
    }

    #[tokio::test]
    async fn concurrent_refreshes_after_a_rejection_share_one_read() {
        let reads = mock!(SecretsManagerClient::get_secret_value).then_output(|| secret("k2"));
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&reads]);
        let store = Arc::new(CredentialStore::secrets_manager(client, "s"));
        store.load().await;
        let stale = store.current(cas).await.unwrap();

        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (store, stale) = (Arc::clone(&store), Arc::clone(&stale));
            tasks.spawn(async move { store.refresh(&stale, cas).await.map(|_| ()) });
        }
        while let Some(result) = tasks.join_next().await {
            result.unwrap().unwrap();
        }

        assert_eq!(
            reads.num_calls(),
            2,
            "one read at cold start, one for all ten refreshes"
        );
    }

    #[tokio::test]
    async fn a_refresh_that_fails_keeps_the_credentials_held() {
        let first = mock!(SecretsManagerClient::get_secret_value)
            .sequence()
            .output(|| secret("k3"))
            .build();
        let gone = mock!(SecretsManagerClient::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
        });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&first, &gone]);
        let store = Arc::new(CredentialStore::secrets_manager(client, "s"));
        store.load().await;
        let stale = store.current(cas).await.unwrap();

        assert!(matches!(
            store.refresh(&stale, cas).await,
            Err(SecretError::NotFound)
        ));
        let held = store.current(cas).await.unwrap();
        assert_eq!(held.cas().unwrap().0.expose_secret(), "k3");
        assert_eq!(gone.num_calls(), 1);
    }

    #[tokio::test]
    async fn refusals_within_the_spacing_of_a_re_read_are_not_re_read_and_the_cold_start_read_does_not_count()
    {
        // Arrange: every read answers the same pair.
        let reads = mock!(SecretsManagerClient::get_secret_value).then_output(|| secret("k4"));
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&reads]);
        let store = Arc::new(
            CredentialStore::secrets_manager(client, "s").with_retry_spacing(Duration::from_millis(300)),
        );
        store.load().await;
        let held = store.current(cas).await.unwrap();

        // Act + Assert: the first refusal re-reads at once (the cold
        // start's read does not start the spacing)...
        let first = store.refresh(&held, cas).await.unwrap();
        assert_eq!(reads.num_calls(), 2);
        let first = first.expect("the first refusal retries");
        assert!(Arc::ptr_eq(&first, &held), "same values keep the held Arc");
        // ...the next ones within the spacing neither re-read nor retry...
        assert!(store.refresh(&held, cas).await.unwrap().is_none());
        assert!(store.refresh(&held, cas).await.unwrap().is_none());
        assert_eq!(reads.num_calls(), 2);
        // ...and the first one after it re-reads and retries again.
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(store.refresh(&held, cas).await.unwrap().is_some());
        assert_eq!(reads.num_calls(), 3);
    }
}
