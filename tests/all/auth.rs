//! Every authentication mode, end to end. Entra ID runs against an Azurite serving HTTPS
//! with OAuth and a local token endpoint; no secret ever appears in the output.

use blobsync_tests::entra::*;
use blobsync_tests::*;

fn tree() -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"alpha");
    write(src.path(), "b/c.txt", b"charlie");
    src
}

/// A blobsync command that trusts the test CA and talks to the local authority.
fn entra_command(args: &[&str]) -> std::process::Command {
    entra_env(blobsync_command(args))
}

/// [`entra_command`] with `--output-type json --verbose`, for [`outcome`].
fn entra_json_command(args: &[&str]) -> std::process::Command {
    entra_env(blobsync_json_command(args))
}

fn entra_env(mut cmd: std::process::Command) -> std::process::Command {
    cmd.env("SSL_CERT_FILE", &tls().ca_pem)
        .env("AZURE_AUTHORITY_HOST", token_server().authority())
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env_remove("MSI_ENDPOINT")
        .env_remove("AZCOPY_AUTO_LOGIN_TYPE")
        .env_remove("AZCOPY_SPA_APPLICATION_ID")
        .env_remove("AZCOPY_SPA_CLIENT_SECRET")
        .env_remove("AZCOPY_TENANT_ID");
    cmd
}

fn run(cmd: &mut std::process::Command) -> Run {
    cmd.output().unwrap().into()
}

fn outcome(cmd: &mut std::process::Command) -> Outcome {
    Outcome::of(cmd.output().unwrap().into())
}

/// Checks the container holds the tree by downloading it over HTTPS with the account key
/// (a different authentication path from the one under test).
fn assert_uploaded(container: &str, src: &std::path::Path) {
    let dst = tempfile::tempdir().unwrap();
    let out = outcome(
        entra_json_command(&[
            "sync",
            &https_url(container),
            s(dst.path()),
            "--auth",
            "key",
        ])
        .env("AZURE_STORAGE_KEY", KEY),
    );
    let out = out.ok();
    assert_eq!(out.total("copied"), 2);
    assert_eq!(out.done("download"), files(src));
    assert_eq!(files(dst.path()), files(src));
}

#[test]
fn client_secret_with_azure_and_azcopy_variable_names() {
    let src = tree();
    let container = unique_container("spn");
    let out = outcome(
        entra_json_command(&[
            "sync",
            s(src.path()),
            &https_url(&container),
            "--auth",
            "client-secret",
            "--log-level",
            "debug",
        ])
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET),
    );
    let out = out.ok();
    assert_eq!(out.total("copied"), 2);
    assert_eq!(out.done("upload"), ["a.txt", "b/c.txt"]);
    assert!(
        !out.dump().contains(CLIENT_SECRET) && !out.stderr.contains(CLIENT_SECRET),
        "the secret leaked"
    );
    assert!(
        token_server()
            .requests()
            .iter()
            .any(|r| r.contains(&format!("/{TENANT}/oauth2/v2.0/token"))
                && r.contains("grant_type=client_credentials")
                && r.contains(CLIENT_ID)),
        "{:?}",
        token_server().requests()
    );
    assert_uploaded(&container, src.path());

    // azcopy's names, chosen by AZCOPY_AUTO_LOGIN_TYPE without --auth.
    let container = unique_container("spn-azcopy");
    let out = outcome(
        entra_json_command(&["sync", s(src.path()), &https_url(&container)])
            .env("AZCOPY_AUTO_LOGIN_TYPE", "SPN")
            .env("AZCOPY_TENANT_ID", TENANT)
            .env("AZCOPY_SPA_APPLICATION_ID", CLIENT_ID)
            .env("AZCOPY_SPA_CLIENT_SECRET", CLIENT_SECRET),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
}

#[test]
fn a_rejected_client_secret_is_an_authentication_error() {
    let src = tree();
    let out = run(entra_command(&[
        "sync",
        s(src.path()),
        &https_url(&unique_container("badspn")),
        "--auth",
        "client-secret",
    ])
    .env("AZURE_TENANT_ID", TENANT)
    .env("AZURE_CLIENT_ID", CLIENT_ID)
    .env("AZURE_CLIENT_SECRET", "wrong-secret-value"));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("Invalid client secret") || out.stderr.contains("401"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("wrong-secret-value"));
    let out = run(&mut entra_command(&[
        "sync",
        s(src.path()),
        &https_url(&unique_container("nospn")),
        "--auth",
        "client-secret",
    ]));
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("AZURE_TENANT_ID"), "{}", out.stderr);
}

#[test]
fn workload_identity() {
    let src = tree();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "federated-service-account-token").unwrap();
    let container = unique_container("workload");
    let out = outcome(
        entra_json_command(&[
            "sync",
            s(src.path()),
            &https_url(&container),
            "--auth",
            "workload-identity",
        ])
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
    assert!(
        token_server()
            .requests()
            .iter()
            .any(|r| r.contains("client_assertion=federated-service-account-token")),
        "{:?}",
        token_server().requests()
    );
    assert_uploaded(&container, src.path());
}

#[test]
fn managed_identity_system_and_user_assigned() {
    let src = tree();
    let container = unique_container("msi");
    let out = outcome(
        entra_json_command(&["sync", s(src.path()), &https_url(&container), "--identity"])
            .env("IDENTITY_ENDPOINT", token_server().identity_endpoint())
            .env("IDENTITY_HEADER", IDENTITY_HEADER),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
    assert_uploaded(&container, src.path());

    let container = unique_container("msi-user");
    let out = outcome(
        entra_json_command(&[
            "sync",
            s(src.path()),
            &https_url(&container),
            "--identity-client-id",
            "user-assigned-id-42",
            "--auth",
            "managed-identity",
        ])
        .env("IDENTITY_ENDPOINT", token_server().identity_endpoint())
        .env("IDENTITY_HEADER", IDENTITY_HEADER),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
    assert!(
        token_server().requests().iter().any(|r| r.starts_with("GET /msi/token") && r.contains("client_id=user-assigned-id-42")),
        "{:?}",
        token_server().requests()
    );
}

#[test]
fn azure_cli() {
    let src = tree();
    let container = unique_container("azcli");
    let bin = fake_azure_cli();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = outcome(
        entra_json_command(&[
            "sync",
            s(src.path()),
            &https_url(&container),
            "--auth",
            "azure-cli",
        ])
        .env("PATH", path),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
    assert_uploaded(&container, src.path());
}

#[test]
fn tokens_go_only_to_trusted_https_hosts() {
    let src = tree();
    let out = run(&mut entra_command(&[
        "sync",
        s(src.path()),
        "https://acct.blob.example.com/cont",
        "--auth",
        "azure-cli",
    ]));
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("refusing to send an Entra ID token to acct.blob.example.com"),
        "{}",
        out.stderr
    );
    let out = run(&mut entra_command(&[
        "sync",
        s(src.path()),
        &azurite().url("cont"),
        "--auth",
        "client-secret",
    ]));
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains("only sent over HTTPS"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let src = tree();
    let mut cmd = entra_command(&[
        "sync",
        s(src.path()),
        &https_url(&unique_container("notrust")),
        "--auth",
        "key",
    ]);
    cmd.env_remove("SSL_CERT_FILE")
        .env("AZURE_STORAGE_KEY", KEY);
    let out = run(&mut cmd);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_connection_string_account_key_is_used() {
    let az = azurite();
    let src = tree();
    let container = unique_container("connstr");
    let out = outcome(
        blobsync_json_command(&["sync", s(src.path()), &az.url(&container), "--auth", "key"]).env(
            "AZURE_STORAGE_CONNECTION_STRING",
            format!("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY}"),
        ),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
}

#[test]
fn a_blob_endpoint_reaches_any_host_and_a_connection_strings_sas_authorises() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("endpoint");
    blobs.create_container(&container);
    let src = tree();
    // The emulator by a host name blobsync would not read on its own, below the endpoint.
    let endpoint = format!("http://localhost:{}/{ACCOUNT}", az.port);
    let url = format!("{endpoint}/{container}/site");
    blobsync(&["sync", s(src.path()), &url, "--blob-endpoint", &endpoint]).ok();
    assert!(
        blobs
            .names(&container)
            .iter()
            .all(|n| n.starts_with("site/"))
    );
    assert!(!blobs.names(&container).is_empty());
    // A URL not below the endpoint is refused before anything happens.
    let run = blobsync(&[
        "sync",
        s(src.path()),
        &az.url(&container),
        "--blob-endpoint",
        "http://localhost:1/elsewhere",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not below the blob endpoint"),
        "{}",
        run.stderr
    );
    // A connection string with BlobEndpoint and SharedAccessSignature: the SAS is used.
    let sas = container_sas(&container, "racwdl");
    let cs = format!("BlobEndpoint={endpoint};SharedAccessSignature={sas}");
    let mut cmd = blobsync_command(&[
        "sync",
        s(src.path()),
        &format!("{endpoint}/{container}/cs"),
        "-v",
    ]);
    cmd.env("AZURE_STORAGE_CONNECTION_STRING", &cs)
        .env("BLOBSYNC_LOG", "info");
    let run: Run = cmd.output().unwrap().into();
    let run = run.ok();
    assert!(
        run.stderr.contains("SAS token in the URL"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&sas_signature(&format!("x?{sas}"))));
    assert!(blobs.names(&container).iter().any(|n| n.starts_with("cs/")));
}

#[test]
fn https_proxy_and_http_proxy_are_honoured() {
    let az = azurite();
    let blobs = Blobs::new(az);
    let container = unique_container("proxied");
    let proxy = ConnectProxy::start();
    let src = tree();
    let mut cmd = blobsync_command(&["sync", s(src.path()), &az.url(&container)]);
    cmd.env("HTTP_PROXY", proxy.url()).env("NO_PROXY", "");
    let run: Run = cmd.output().unwrap().into();
    run.ok();
    assert!(proxy.forwarded() > 0, "requests went through the proxy");
    assert!(!blobs.names(&container).is_empty());
    // NO_PROXY wins.
    let before = proxy.forwarded();
    let mut cmd = blobsync_command(&["sync", s(src.path()), &az.url(&container)]);
    cmd.env("HTTP_PROXY", proxy.url())
        .env("NO_PROXY", "127.0.0.1");
    let run: Run = cmd.output().unwrap().into();
    run.ok();
    assert_eq!(proxy.forwarded(), before, "NO_PROXY bypasses the proxy");
}

#[test]
fn https_goes_through_a_connect_proxy_with_an_entra_token() {
    let src = tree();
    let container = unique_container("connect");
    let proxy = ConnectProxy::start();
    let out = outcome(
        entra_json_command(&[
            "sync",
            s(src.path()),
            &https_url(&container),
            "--auth",
            "client-secret",
        ])
        .env("HTTPS_PROXY", proxy.url())
        .env("NO_PROXY", "")
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT_ID)
        .env("AZURE_CLIENT_SECRET", CLIENT_SECRET),
    );
    assert_eq!(out.ok().done("upload"), ["a.txt", "b/c.txt"]);
    assert!(proxy.connects() > 0, "the TLS connections were tunnelled");
    assert_uploaded(&container, src.path());
}

/// Blob → blob with Entra ID on both sides: the destination is asked to read the source
/// with a bearer token (`x-ms-copy-source-authorization`). The emulator does not pass it
/// on to the source, so it cannot read it: the copy streams, and arrives all the same.
#[test]
fn blob_to_blob_with_entra_id_on_both_sides() {
    let src = tree();
    let (from, to) = (unique_container("entra-src"), unique_container("entra-dst"));
    let entra = |args: &[&str]| {
        run(entra_command(args)
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET))
    };
    let auth = ["--auth", "client-secret"];
    entra(&[&["sync", s(src.path()), &https_url(&from)], &auth[..]].concat()).ok();
    let out = outcome(
        entra_json_command(&[&["sync", &https_url(&from), &https_url(&to)], &auth[..]].concat())
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET),
    );
    let out = out.ok();
    assert_eq!(out.total("copied"), 2, "{}", out.dump());
    assert_eq!(
        out.total("retries"),
        0,
        "the copies stream at once: {}",
        out.dump()
    );
    assert_eq!(
        out.done("copy"),
        ["a.txt", "b/c.txt"],
        "{}\n{}",
        out.dump(),
        out.stderr
    );
    assert!(
        !out.dump().contains(CLIENT_SECRET) && !out.stderr.contains(CLIENT_SECRET),
        "the secret leaked"
    );
    assert_uploaded(&to, src.path());
}

#[test]
fn a_missing_container_a_container_sas_cannot_create_is_one_error_naming_the_fix() {
    let az = azurite();
    let container = unique_container("nosuch");
    let src = tempfile::tempdir().unwrap();
    for i in 0..30 {
        write(src.path(), &format!("page{i}.html"), b"<p>hi</p>");
    }
    let url = az.sas_url(&container, "racwdl");
    for dry in [true, false] {
        let mut args = vec!["sync", s(src.path()), &url];
        if dry {
            args.push("--dry-run");
        }
        let run = blobsync_json(&args).code(3);
        let errors = run.errors();
        assert_eq!(
            errors.len(),
            1,
            "dry run {dry}: one error, not one per file: {errors:?}"
        );
        for says in [
            "does not exist",
            "SAS token in the URL",
            "Create the container first",
        ] {
            assert!(errors[0].contains(says), "{says} in {}", errors[0]);
        }
        assert_eq!(run.total("failed"), 0);
        assert!(!Blobs::new(az).container_exists(&container));
    }
}
