//! The TOML configuration: the complete example file loads and round-trips, and each field
//! that cannot work gets its own error naming the field.

use client_core::{ClientBuilder, ClientConfig, ClientError};

const EXAMPLE: &str = include_str!("../examples/client.toml");

#[test]
fn the_example_file_loads_and_round_trips() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/client.toml");
    let config = ClientConfig::from_file(&path).expect("the example is valid");
    assert_eq!(config.accounts.len(), 2);
    assert_eq!(config.accounts[0].aor(), "sip:alice@example.com");
    assert!(!config.accounts[1].register);
    assert_eq!(config.network.user_agent, "acme-agent/1.0");
    assert_eq!(config.security.credentials.as_ref().map(|c| c.user.as_str()), Some("probe"));
    let again = ClientConfig::from_toml(&config.to_toml().expect("serialises")).expect("parses back");
    assert_eq!(again, config);
    assert_eq!(ClientConfig::from_toml(EXAMPLE).expect("same text"), config);
}

/// Replaces the line starting with `key =` in `section` of the example.
fn with(section: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut replaced = false;
    for line in EXAMPLE.lines() {
        if line.starts_with('[') {
            current = line.to_owned();
        }
        if !replaced && current == section && line.trim_start().starts_with(&format!("{key} =")) {
            out.push(format!("{key} = {value}"));
            replaced = true;
        } else {
            out.push(line.to_owned());
        }
    }
    assert!(replaced, "{section} {key} is in the example");
    out.join("\n")
}

#[test]
fn each_invalid_field_has_its_own_error() {
    let cases = [
        ("[network]", "transports", "[\"sctp\"]", "network.transports[0]"),
        ("[network]", "transports", "[]", "network.transports"),
        ("[network]", "user_agent", "\"\"", "network.user_agent"),
        ("[network]", "t1_ms", "0", "network.t1_ms"),
        ("[network]", "t2_ms", "100", "network.t2_ms"),
        // The example listens towards its PBX: one interface, which cannot follow a move.
        ("[network]", "follow_address_changes", "true", "network.follow_address_changes"),
        ("[media]", "rtp_port_min", "10001", "media.rtp_port_min"),
        ("[media]", "rtp_port_max", "9000", "media.rtp_port_max"),
        ("[media]", "codecs", "[\"G729\"]", "media.codecs[0]"),
        ("[media]", "codecs", "[\"telephone-event\"]", "media.codecs"),
        ("[[accounts]]", "user", "\"alice@example.com\"", "accounts[0].user"),
        ("[[accounts]]", "registrar", "\"pbx.example.com\"", "accounts[0].registrar"),
        ("[[accounts]]", "outbound_proxy", "\"proxy\"", "accounts[0].outbound_proxy"),
        ("[[accounts]]", "expires", "10", "accounts[0].expires"),
        ("[registration.retry]", "max_attempts", "0", "registration.retry.max_attempts"),
        ("[registration.retry]", "multiplier", "0.5", "registration.retry.multiplier"),
        ("[registration.retry]", "jitter", "2.0", "registration.retry.jitter"),
        ("[registration.retry]", "max_delay_ms", "10", "registration.retry.max_delay_ms"),
        ("[calls]", "ring_timeout_secs", "0", "calls.ring_timeout_secs"),
        ("[registration]", "backoff_base_secs", "0", "registration.backoff_base_secs"),
        ("[calls]", "max_history", "0", "calls.max_history"),
        ("[calls]", "min_session_expires_secs", "60", "calls.min_session_expires_secs"),
        ("[calls]", "session_expires_secs", "60", "calls.session_expires_secs"),
        ("[security]", "max_concurrent_calls", "0", "security.max_concurrent_calls"),
        ("[security]", "max_calls_per_source", "0", "security.max_calls_per_source"),
        ("[security.credentials]", "user", "\"\"", "security.credentials.user"),
        ("[security]", "max_concurrent_calls", "1\nca_file = \"/nonexistent/ca.pem\"", "security.ca_file"),
    ];
    for (section, key, value, field) in cases {
        let text = with(section, key, value);
        match ClientConfig::from_toml(&text) {
            Err(e) => {
                assert_eq!(e.field, field, "{section} {key} = {value}: {e}");
                assert!(!e.fix.is_empty(), "{field}: says how to fix it");
            }
            Ok(_) => panic!("{section} {key} = {value} was accepted"),
        }
    }
}

#[test]
fn unknown_fields_and_wrong_types_are_errors_with_a_position() {
    let e = ClientConfig::from_toml("[network]\nlocal_adress = \"0.0.0.0:0\"\n").expect_err("a typo");
    assert!(e.problem.contains("local_adress"), "{e}");
    let e = ClientConfig::from_toml("[media]\nrtp_port_min = \"ten\"\n").expect_err("a string for a port");
    assert!(e.field.starts_with("toml at byte"), "{e}");
}

#[tokio::test]
async fn the_builder_refuses_an_invalid_configuration_before_binding_anything() {
    let err = ClientBuilder::new().with_media(|m| m.rtp_port_max = 1).build().await.expect_err("invalid");
    match err {
        ClientError::Config(e) => assert_eq!(e.field, "media.rtp_port_max"),
        other => panic!("{other:?}"),
    }
}
